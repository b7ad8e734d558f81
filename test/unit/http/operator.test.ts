import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// A lone LocalLog server: one voter, itself, the leader.

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

const call = (method: string, path: string, body?: string) => fetch(agent.base + path, { method, body });
const NODE_ID = "11111111-2222-3333-4444-555555555555";

test("operator raft configuration - one voter, the leader, with a string ProtocolVersion", async () => {
  const res = await call("GET", "/v1/operator/raft/configuration");
  assert.equal(res.status, 200);
  const body = (await res.json()) as { Servers: Record<string, unknown>[]; Index: number };
  assert.equal(body.Servers.length, 1);
  const [s] = body.Servers;
  assert.deepEqual(Object.keys(s).sort(), ["Address", "ID", "LastIndex", "Leader", "Node", "ProtocolVersion", "Voter"]);
  assert.equal(s.ID, NODE_ID);
  assert.equal(s.Node, "test-node");
  assert.equal(s.Address, "127.0.0.1:8300");
  assert.equal(s.Leader, true);
  assert.equal(s.Voter, true);
  assert.equal(s.ProtocolVersion, "3");
  assert.equal(typeof s.LastIndex, "number");
  assert.equal(body.Index, 0);
});

test("operator raft configuration reports Index 0 and no query-meta headers, as Consul's raft configuration future does", async () => {
  await call("PUT", "/v1/kv/raft-index-probe", "1");
  const res = await call("GET", "/v1/operator/raft/configuration");
  const body = (await res.json()) as { Index: number };
  assert.equal(body.Index, 0);
  assert.equal(res.headers.get("x-consul-index"), null);
  assert.equal(res.headers.get("x-consul-knownleader"), null);
});

test("operator raft peer - needs ?id or ?address, and only one of them", async () => {
  const none = await call("DELETE", "/v1/operator/raft/peer");
  assert.equal(none.status, 400);
  assert.equal(await none.text(), "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  const both = await call("DELETE", "/v1/operator/raft/peer?id=x&address=1.2.3.4:8300");
  assert.equal(both.status, 400);
  assert.equal(await both.text(), "Must specify only one of ?id or ?address");
});

test("operator raft peer - an unknown peer is an error naming it", async () => {
  const byId = await call("DELETE", "/v1/operator/raft/peer?id=nope");
  assert.equal(byId.status, 500);
  assert.equal(await byId.text(), 'id "nope" was not found in the Raft configuration');
  const byAddress = await call("DELETE", "/v1/operator/raft/peer?address=10.9.9.9:8300");
  assert.equal(byAddress.status, 500);
  assert.equal(await byAddress.text(), 'address "10.9.9.9:8300" was not found in the Raft configuration');
});

test("operator raft peer - the last voter is never removed", async () => {
  const res = await call("DELETE", `/v1/operator/raft/peer?id=${NODE_ID}`);
  assert.equal(res.status, 500);
  const cfg = (await (await call("GET", "/v1/operator/raft/configuration")).json()) as { Servers: unknown[] };
  assert.equal(cfg.Servers.length, 1);
});

test("operator raft transfer-leader - a lone server has no peer to hand over to", async () => {
  const res = await call("POST", "/v1/operator/raft/transfer-leader");
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "cannot find peer");
  const toSelf = await call("POST", `/v1/operator/raft/transfer-leader?id=${NODE_ID}`);
  assert.equal(toSelf.status, 500);
  assert.equal(await toSelf.text(), "cannot transfer leadership to itself");
  assert.equal((await call("PUT", "/v1/operator/raft/transfer-leader")).status, 405);
});

test("operator autopilot configuration - defaults with Go duration strings and indexes", async () => {
  const res = await call("GET", "/v1/operator/autopilot/configuration");
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.CleanupDeadServers, true);
  assert.equal(body.LastContactThreshold, "200ms");
  assert.equal(body.MaxTrailingLogs, 250);
  assert.equal(body.MinQuorum, 0);
  assert.equal(body.ServerStabilizationTime, "10s");
  assert.equal(body.RedundancyZoneTag, "");
  assert.equal(body.DisableUpgradeMigration, false);
  assert.equal(body.UpgradeVersionTag, "");
  assert.equal(typeof body.CreateIndex, "number");
  assert.equal(typeof body.ModifyIndex, "number");
});

test("operator autopilot configuration - PUT answers true, cas with a stale index answers false", async () => {
  const before = (await (await call("GET", "/v1/operator/autopilot/configuration")).json()) as Record<string, unknown>;
  const put = await call("PUT", "/v1/operator/autopilot/configuration", JSON.stringify({ ...before, MaxTrailingLogs: 99, LastContactThreshold: "1s" }));
  assert.equal(put.status, 200);
  assert.equal(await put.text(), "true");
  const after = (await (await call("GET", "/v1/operator/autopilot/configuration")).json()) as Record<string, unknown>;
  assert.equal(after.MaxTrailingLogs, 99);
  assert.equal(after.LastContactThreshold, "1s");
  assert.ok(Number(after.ModifyIndex) > Number(before.ModifyIndex));
  const stale = await call("PUT", `/v1/operator/autopilot/configuration?cas=${String(before.ModifyIndex)}`, JSON.stringify({ MaxTrailingLogs: 1 }));
  assert.equal(await stale.text(), "false");
  const fresh = await call("PUT", `/v1/operator/autopilot/configuration?cas=${String(after.ModifyIndex)}`, JSON.stringify({ MaxTrailingLogs: 250 }));
  assert.equal(await fresh.text(), "true");
  const bad = await call("PUT", "/v1/operator/autopilot/configuration", JSON.stringify({ LastContactThreshold: "soon" }));
  assert.equal(bad.status, 400);
});

test("operator autopilot configuration - a cas that is not a decimal uint64 is a 400 with Go's text, nothing written", async () => {
  const before = (await (await call("GET", "/v1/operator/autopilot/configuration")).json()) as Record<string, unknown>;
  for (const cas of ["", "1e3", "0x1", "-1"]) {
    const res = await call("PUT", `/v1/operator/autopilot/configuration?cas=${cas}`, JSON.stringify({ MaxTrailingLogs: 7 }));
    assert.equal(res.status, 400);
    assert.equal(await res.text(), `Error parsing cas value: strconv.ParseUint: parsing "${cas}": invalid syntax`);
  }
  const after = (await (await call("GET", "/v1/operator/autopilot/configuration")).json()) as Record<string, unknown>;
  assert.equal(after.ModifyIndex, before.ModifyIndex);
});

test("operator autopilot health - a single dev server is one healthy leader voter (200)", async () => {
  const res = await call("GET", "/v1/operator/autopilot/health");
  assert.equal(res.status, 200);
  const body = (await res.json()) as { Healthy: boolean; FailureTolerance: number; Servers: Record<string, unknown>[] };
  assert.equal(body.Healthy, true);
  assert.equal(body.FailureTolerance, 0);
  assert.equal(body.Servers.length, 1);
  const [s] = body.Servers;
  assert.equal(s.ID, NODE_ID);
  assert.equal(s.Name, "test-node");
  assert.equal(s.SerfStatus, "alive");
  assert.equal(s.Leader, true);
  assert.equal(s.Voter, true);
  assert.equal(s.Healthy, true);
  assert.equal(s.LastContact, "0s");
  assert.match(String(s.StableSince), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("operator autopilot state - servers keyed by id, leader status, voters list", async () => {
  const res = await call("GET", "/v1/operator/autopilot/state");
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown> & { Servers: Record<string, Record<string, unknown>> };
  assert.equal(body.Healthy, true);
  assert.equal(body.FailureTolerance, 0);
  assert.equal(body.OptimisticFailureTolerance, 0);
  assert.equal(body.Leader, NODE_ID);
  assert.deepEqual(body.Voters, [NODE_ID]);
  const s = body.Servers[NODE_ID];
  assert.equal(s.Status, "leader");
  assert.equal(s.NodeType, "voter");
  assert.equal(s.NodeStatus, "alive");
  assert.equal(s.ReadReplica, false);
});
