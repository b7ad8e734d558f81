import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { formatAutopilotState, listPeersTable } from "../../../src/cli/operator.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { runCli } from "../cli/run-cli.ts";

// `consulate operator …` in-process against a lone in-process server.

let agent: TestAgent;
let address: string;
before(async () => {
  agent = await startTestAgent();
  address = agent.base.replace("http://", "");
});
after(() => agent.stop());

const NODE_ID = "11111111-2222-3333-4444-555555555555";

test("operator raft list-peers - columnized configuration with commit columns", async () => {
  const r = await runCli(["operator", "raft", "list-peers"], { address });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  assert.match(lines[0], /^Node\s+ID\s+Address\s+State\s+Voter\s+RaftProtocol\s+Commit Index\s+Trails Leader By$/);
  assert.match(lines[1], new RegExp(`^test-node\\s+${NODE_ID}\\s+127\\.0\\.0\\.1:8300\\s+leader\\s+true\\s+3\\s+\\d+\\s+_$`));
});

test("operator raft list-peers - followers show how far they trail the leader", () => {
  const table = listPeersTable(
    [
      { ID: "a", Node: "n1", Address: "10.0.0.1:8300", Leader: true, Voter: true, ProtocolVersion: "3" },
      { ID: "b", Node: "n2", Address: "10.0.0.2:8300", Leader: false, Voter: true, ProtocolVersion: "3" },
      { ID: "c", Node: "n3", Address: "10.0.0.3:8300", Leader: false, Voter: true, ProtocolVersion: "3" },
    ],
    [
      { ID: "a", LastIndex: 10 },
      { ID: "b", LastIndex: 9 },
      { ID: "c", LastIndex: 4 },
    ],
  );
  const lines = table.split("\n");
  assert.ok(lines[1].endsWith("10            _"));
  assert.ok(lines[2].endsWith("1 Commit"));
  assert.ok(lines[3].endsWith("6 Commits"));
});

test("operator raft remove-peer - flags are checked before asking the server", async () => {
  const none = await runCli(["operator", "raft", "remove-peer"], { address });
  assert.equal(none.code, 1);
  assert.equal(none.err, "Error removing peer: an address or id is required for the peer to remove\n");
  const both = await runCli(["operator", "raft", "remove-peer", "-id=x", "-address=1.2.3.4:8300"], { address });
  assert.equal(both.err, "Error removing peer: cannot give both an address and id\n");
  const unknown = await runCli(["operator", "raft", "remove-peer", "-address=10.1.1.1:8300"], { address });
  assert.equal(unknown.code, 1);
  assert.equal(unknown.err, 'Error removing peer: Unexpected response code: 500 (address "10.1.1.1:8300" was not found in the Raft configuration)\n');
});

test("operator raft transfer-leader - reports the server's refusal", async () => {
  const r = await runCli(["operator", "raft", "transfer-leader"], { address });
  assert.equal(r.code, 1);
  assert.equal(r.err, "Error transfering leadership: Failed to transfer leadership Unexpected response code: 500 (cannot find peer)\n");
});

test("operator autopilot get-config / set-config - round trip of changed flags only", async () => {
  const before = await runCli(["operator", "autopilot", "get-config"], { address });
  assert.equal(before.code, 0, before.err);
  assert.equal(
    before.out,
    [
      "CleanupDeadServers = true",
      "LastContactThreshold = 200ms",
      "MaxTrailingLogs = 250",
      "MinQuorum = 0",
      "ServerStabilizationTime = 10s",
      'RedundancyZoneTag = ""',
      "DisableUpgradeMigration = false",
      'UpgradeVersionTag = ""',
      "",
    ].join("\n"),
  );
  const set = await runCli(["operator", "autopilot", "set-config", "-max-trailing-logs=300", "-last-contact-threshold=1s", "-cleanup-dead-servers=false"], { address });
  assert.deepEqual(set, { code: 0, out: "Configuration updated!\n", err: "" });
  const after = await runCli(["operator", "autopilot", "get-config"], { address });
  assert.match(after.out, /CleanupDeadServers = false\nLastContactThreshold = 1s\nMaxTrailingLogs = 300\nMinQuorum = 0\nServerStabilizationTime = 10s\n/);
  await runCli(["operator", "autopilot", "set-config", "-max-trailing-logs=250", "-last-contact-threshold=200ms", "-cleanup-dead-servers=true"], { address });
});

test("operator autopilot state - pretty layout of the lone server", async () => {
  const r = await runCli(["operator", "autopilot", "state"], { address });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^Healthy:                      true\nFailure Tolerance:            0\nOptimistic Failure Tolerance: 0\nLeader:                       ${NODE_ID}\nVoters:\n   ${NODE_ID}\nServers:\n   ${NODE_ID}\n      Name:            test-node\n`));
  assert.match(r.out, /      Status:          leader\n      Node Type:       voter\n      Node Status:     alive\n      Healthy:         true\n      Last Contact:    0s\n/);
  const json = await runCli(["operator", "autopilot", "state", "-format=json"], { address });
  assert.equal((JSON.parse(json.out) as { Leader: string }).Leader, NODE_ID);
});

test("operator autopilot state - meta is printed sorted and quoted", () => {
  const out = formatAutopilotState({
    Healthy: true,
    FailureTolerance: 1,
    OptimisticFailureTolerance: 0,
    Leader: "a",
    Voters: ["a"],
    Servers: {
      a: { ID: "a", Name: "node1", Address: "198.18.0.1:8300", Version: "1.9.0", Status: "leader", NodeType: "voter", NodeStatus: "alive", Healthy: true, LastContact: "0s", LastTerm: 3, LastIndex: 42, Meta: { foo: "bar" } },
    },
  });
  assert.ok(out.endsWith('      Last Index:      42\n      Meta\n         "foo": "bar"\n'));
});
