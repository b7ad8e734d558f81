import { test } from "node:test";
import assert from "node:assert/strict";
import { datacentersByDistance, type WanMemberView } from "../../../src/model/datacenters-by-distance.ts";
import { MEMBER_STATUS } from "../../../src/model/members.ts";

function server(name: string, dc: string, status: WanMemberView["status"] = MEMBER_STATUS.alive): WanMemberView {
  return { name: `${name}.${dc}`, status, tags: { role: "consul", dc } };
}

test("datacenters - the local datacenter comes first; remote ones without coordinates follow by name", () => {
  const members = [server("a", "west"), server("b", "dc1"), server("c", "east"), server("d", "east")];
  assert.deepEqual(datacentersByDistance(members, "west"), ["west", "dc1", "east"]);
});

test("datacenters - remote datacenters sort by the median round-trip time to their servers", () => {
  const rttByName: Record<string, number> = { "e1.east": 5, "e2.east": 90, "e3.east": 95, "n1.north": 30, "s1.south": 10 };
  const members = [server("l", "local"), server("e1", "east"), server("e2", "east"), server("e3", "east"), server("n1", "north"), server("s1", "south")];
  // east: sorted [5, 90, 95] → median 90; north 30; south 10.
  assert.deepEqual(
    datacentersByDistance(members, "local", (m) => rttByName[m.name] ?? Number.POSITIVE_INFINITY),
    ["local", "south", "north", "east"],
  );
});

test("datacenters - a left server does not count, a failed one does; non-servers and dc-less members are ignored", () => {
  const members = [
    server("a", "dc1"),
    server("gone", "dc2", MEMBER_STATUS.left),
    server("down", "dc3", MEMBER_STATUS.failed),
    { name: "client.dc4", status: MEMBER_STATUS.alive, tags: { role: "node", dc: "dc4" } },
    { name: "odd", status: MEMBER_STATUS.alive, tags: { role: "consul" } },
  ];
  assert.deepEqual(datacentersByDistance(members, "dc1"), ["dc1", "dc3"]);
});

test("datacenters - an empty pool still answers the local datacenter", () => {
  assert.deepEqual(datacentersByDistance([], "dc1"), ["dc1"]);
});

test("datacenters - names compare by bytes as Go's sort.Strings does, not by locale", () => {
  const members = [server("a", "home"), server("b", "b-dc"), server("c", "B-dc"), server("d", "a-dc")];
  assert.deepEqual(datacentersByDistance(members, "home"), ["home", "B-dc", "a-dc", "b-dc"]);
});
