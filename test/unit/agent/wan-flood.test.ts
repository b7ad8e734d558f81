import { test } from "node:test";
import assert from "node:assert/strict";
import { MEMBER_STATUS, type LocalMember, type MemberStatus } from "../../../src/model/members.ts";
import { WanFlood } from "../../../src/agent/wan-flood.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { manualClock } from "./fake-clock.ts";

function member(name: string, addr: string, tags: Record<string, string>, status: MemberStatus = MEMBER_STATUS.alive): LocalMember {
  return { name, addr, port: 8301, tags, status, protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4 };
}

const server = (name: string, addr: string, status: MemberStatus = MEMBER_STATUS.alive, dc = "dc1"): LocalMember =>
  member(name, addr, { role: "consul", dc, port: "8300", wan_join_port: "8302" }, status);

test("wan flood - every alive LAN server of this datacenter missing from the WAN pool is joined at its wan_join_port; a failed join is retried on the timer", async () => {
  const clock = manualClock();
  const lan = [
    server("s1", "10.0.0.1"),
    server("s2", "10.0.0.2"),
    server("s3", "10.0.0.3", MEMBER_STATUS.failed),
    member("c1", "10.0.0.9", { role: "node", dc: "dc1" }),
    server("x1", "10.1.0.1", MEMBER_STATUS.alive, "dc9"),
    member("old", "10.0.0.4", { role: "consul", dc: "dc1", port: "8300" }),
  ];
  const wan = [server("s1.dc1", "10.0.0.1"), server("s4.dc2", "10.2.0.4", MEMBER_STATUS.alive, "dc2")];
  const joins: string[][] = [];
  let failJoins = true;
  let serversChanged = (): void => {};
  const flood = new WanFlood({
    lan: {
      members: () => lan,
      onServersChanged: (l) => {
        serversChanged = () => l([]);
        return () => {};
      },
    },
    wan: {
      members: () => wan,
      join: (addrs) => {
        joins.push([...addrs]);
        return failJoins ? Promise.reject(new Error("refused")) : Promise.resolve(1);
      },
    },
    datacenter: "dc1",
    clock,
    logger: silentLogger,
    intervalMs: 1000,
  });
  flood.start();
  assert.deepEqual(joins, [["10.0.0.2:8302"]], "s1 is in the pool, s3 failed, c1 a client, x1 another dc, old has no wan_join_port");
  // While that join is in flight, another trigger does not join the same address twice.
  serversChanged();
  assert.equal(joins.length, 1);
  await new Promise((r) => setImmediate(r));
  failJoins = false;
  clock.advance(1000);
  assert.deepEqual(joins[1], ["10.0.0.2:8302"]);
  await new Promise((r) => setImmediate(r));
  // Once the WAN pool lists s2.dc1 alive, nothing more is joined.
  wan.push(server("s2.dc1", "10.0.0.2"));
  clock.advance(1000);
  serversChanged();
  assert.equal(joins.length, 2);
  flood.stop();
  clock.advance(5000);
  assert.equal(joins.length, 2);
  assert.equal(clock.pendingTimers(), 0);
});
