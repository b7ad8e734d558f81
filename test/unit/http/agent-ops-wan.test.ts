import { test } from "node:test";
import assert from "node:assert/strict";
import { startDevAgent } from "../../../src/mod.ts";
import { startTestAgent } from "../../support/test-agent.ts";

// The WAN side of the agent endpoints on a single server: its own WAN pool, and a server with
// ports.serf_wan = -1 (Consul's "WAN Federation is disabled").

test("agent wan - a dev server gossips on a WAN pool of its own: members ?wan, join ?wan to itself, catalog/datacenters", async (t) => {
  const agent = await startDevAgent({ nodeName: "wan-dev", dnsPort: -1 });
  t.after(() => agent.stop());
  const members = (await (await fetch(`${agent.httpAddress}/v1/agent/members?wan=1`)).json()) as { Name: string; Addr: string; Port: number; Status: number }[];
  assert.deepEqual(
    members.map((m) => [m.Name, m.Addr, m.Status]),
    [["wan-dev.dc1", "127.0.0.1", 1]],
  );
  const join = await fetch(`${agent.httpAddress}/v1/agent/join/127.0.0.1:${members[0].Port}?wan=1`, { method: "PUT" });
  assert.equal(join.status, 200, await join.text());
  assert.deepEqual(await (await fetch(`${agent.httpAddress}/v1/catalog/datacenters`)).json(), ["dc1"]);
});

test("agent wan - with ports.serf_wan = -1 a server has no WAN pool: members null, join and force-leave refused", async (t) => {
  const agent = await startDevAgent({ nodeName: "no-wan", dnsPort: -1, hcl: ["ports { serf_wan = -1 }"] });
  t.after(() => agent.stop());
  assert.equal(await (await fetch(`${agent.httpAddress}/v1/agent/members?wan=1`)).json(), null);
  for (const path of ["/v1/agent/join/127.0.0.1?wan=1", "/v1/agent/force-leave/other.dc1?wan"]) {
    const res = await fetch(agent.httpAddress + path, { method: "PUT" });
    assert.equal(res.status, 500, path);
    assert.equal(await res.text(), "WAN Federation is disabled", path);
  }
  assert.deepEqual(await (await fetch(`${agent.httpAddress}/v1/catalog/datacenters`)).json(), ["dc1"]);
});

test("agent wan - force-leave ?wan takes the name as given and answers 200 for one it does not know, as serf does", async (t) => {
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const res = await fetch(`${agent.base}/v1/agent/force-leave/ghost.dc9?wan`, { method: "PUT" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
  const lan = await fetch(`${agent.base}/v1/agent/force-leave/ghost?prune`, { method: "PUT" });
  assert.equal(lan.status, 500);
  assert.equal(await lan.text(), "agent: No node found with name 'ghost'");
});
