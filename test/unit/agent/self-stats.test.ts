import { test } from "node:test";
import assert from "node:assert/strict";
import { agentStats, readSelfConfig } from "../../../src/agent/self-info.ts";
import type { AgentIdentity } from "../../../src/agent/agent.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import type { Consensus } from "../../../src/server/consensus.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { StateStore } from "../../../src/state/store.ts";
import { MEMBER_STATUS } from "../../../src/model/members.ts";

const client: AgentIdentity = {
  nodeName: "c1",
  nodeId: "00000000-0000-0000-0000-000000000004",
  datacenter: "dc1",
  server: false,
  advertiseAddr: "127.0.0.4",
  serverPort: 8300,
  serfLanPort: 8301,
  nodeMeta: {},
  version: "1.20.0",
};

void test("agent self Stats - a client agent of a 4-node cluster reports its known servers and every member", () => {
  const { alive, failed, left } = MEMBER_STATUS;
  const stats = agentStats(client, {
    consensus: new LocalLog(new StateMachine(new StateStore()), { serverAddress: "127.0.0.1:8300" }),
    cfg: readSelfConfig(client, {}),
    counts: { services: 0, checks: 0, checkMonitors: 0, checkTtls: 0 },
    lan: { members: [{ status: alive }, { status: alive }, { status: failed }, { status: left }], servers: 3 },
  });
  assert.equal(stats.consul?.known_servers, "3");
  assert.equal(stats.serf_lan?.members, "4");
  assert.equal(stats.serf_lan?.failed, "1");
  assert.equal(stats.serf_lan?.left, "1");
});

void test("agent self Stats - a Raft server reports its real term and log position, not placeholders", () => {
  const server: AgentIdentity = { ...client, nodeName: "s1", server: true };
  const follower: Consensus = {
    propose: () => Promise.reject(new Error("not used")),
    readBarrier: () => Promise.resolve(),
    onLeadershipChange: () => () => undefined,
    peers: () => ["127.0.0.4:8300", "127.0.0.5:8300"],
    isLeader: () => false,
    leaderAddress: () => "127.0.0.5:8300",
    lastContactMs: () => 12,
    appliedIndex: () => 40,
    logStatus: () => ({ term: 7, commitIndex: 42, lastLogIndex: 45, lastLogTerm: 6, snapshotIndex: 16, snapshotTerm: 3 }),
  };
  const stats = agentStats(server, {
    consensus: follower,
    cfg: readSelfConfig(server, {}),
    counts: { services: 0, checks: 0, checkMonitors: 0, checkTtls: 0 },
    lan: { members: [], servers: 1 },
  });
  assert.deepEqual(
    {
      term: stats.raft?.term,
      state: stats.raft?.state,
      applied: stats.raft?.applied_index,
      commit: stats.raft?.commit_index,
      pending: stats.raft?.fsm_pending,
      last: [stats.raft?.last_log_index, stats.raft?.last_log_term],
      snapshot: [stats.raft?.last_snapshot_index, stats.raft?.last_snapshot_term],
      contact: stats.raft?.last_contact,
    },
    { term: "7", state: "Follower", applied: "40", commit: "42", pending: "2", last: ["45", "6"], snapshot: ["16", "3"], contact: "12ms" },
  );
});
