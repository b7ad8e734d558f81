import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startAgent, type RunningAgent } from "../../../src/launch/start-agent.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { readSnapshotArchive } from "../../../src/storage/snapshot-archive.ts";
import { testHttpSettings } from "../../support/test-agent.ts";

// A lone in-memory Raft voter (what -dev runs): the operator endpoints read the Raft view.

const NODE_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
let running: RunningAgent;
let base: string;

before(async () => {
  running = await startAgent(
    {
      identity: { nodeName: "raft-node", nodeId: NODE_ID, datacenter: "dc1", server: true, advertiseAddr: "127.0.0.1", serverPort: 8300, serfLanPort: 8301, nodeMeta: {} },
      http: testHttpSettings("raft-node"),
      httpHost: "127.0.0.1",
      httpPort: 0,
      logLevel: "error",
      logJson: false,
      consensus: "raft",
    },
    { logger: silentLogger },
  );
  base = `http://127.0.0.1:${running.http.address.port}`;
});
after(() => running.stop());

test("operator raft configuration - a Raft server lists itself as leader voter with its applied index", async () => {
  assert.ok(running.raft, "agent runs Raft");
  await fetch(`${base}/v1/kv/x`, { method: "PUT", body: "1" });
  const res = await fetch(`${base}/v1/operator/raft/configuration`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { Servers: Record<string, unknown>[]; Index: number };
  assert.equal(body.Servers.length, 1);
  const [s] = body.Servers;
  assert.equal(s.ID, NODE_ID);
  assert.equal(s.Node, "raft-node");
  assert.equal(s.Leader, true);
  assert.equal(s.Voter, true);
  assert.equal(s.ProtocolVersion, "3");
  assert.equal(s.LastIndex, running.consensus.appliedIndex());
  assert.equal(body.Index, 0, "the configuration's index, which Consul's raft never fills in");
});

test("operator autopilot health - the Raft leader is healthy with its term", async () => {
  const res = await fetch(`${base}/v1/operator/autopilot/health`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { Healthy: boolean; Servers: Record<string, unknown>[] };
  assert.equal(body.Healthy, true);
  assert.equal(body.Servers[0].LastTerm, running.raft?.node.term());
});

test("operator raft transfer-leader - a lone Raft voter has no peer to hand over to", async () => {
  const res = await fetch(`${base}/v1/operator/raft/transfer-leader`, { method: "POST" });
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "cannot find peer");
});

test("snapshot - meta.json of a Raft server carries its term and configuration", async () => {
  const res = await fetch(`${base}/v1/snapshot`);
  assert.equal(res.status, 200);
  const { meta } = readSnapshotArchive(Buffer.from(await res.arrayBuffer()));
  assert.equal(meta.Term, running.raft?.node.term());
  assert.deepEqual(meta.Configuration.Servers, [{ Suffrage: 0, ID: NODE_ID, Address: "127.0.0.1:8300" }]);
  assert.equal(meta.ID, `${meta.Term}-${meta.Index}-${meta.ID.split("-")[2]}`);
});
