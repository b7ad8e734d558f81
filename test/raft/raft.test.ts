// Behaviour beyond the core paper: pre-vote, check-quorum, leadership transfer, ReadIndex
// and lease reads, snapshots, membership with learners, flow control (thesis chapters cited).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "../../src/raft/confchange.ts";
import { MessageType, message } from "../../src/raft/messages.ts";
import { ProgressState } from "../../src/raft/progress.ts";
import { StateType, StepError } from "../../src/raft/raft.ts";
import { ReadOnlyOption } from "../../src/raft/read-only.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { TestCluster } from "./harness.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test("pre-vote (§9.6 of the thesis) - a partitioned node does not inflate its term and cannot disrupt the leader on rejoin", () => {
  const c = new TestCluster([1, 2, 3], { preVote: true });
  c.elect(1);
  const term = c.node(1).raw.raft.term;
  c.isolate(3);
  for (let i = 0; i < 100; i++) {
    c.tick(3, 1);
    c.stabilize();
  }
  assert.equal(c.node(3).raw.raft.term, term, "pre-elections do not bump the term");
  assert.equal(c.node(3).raw.raft.state, StateType.PreCandidate);
  c.heal();
  c.tick(1, 1);
  c.stabilize();
  assert.equal(c.node(1).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1).raw.raft.term, term);
  assert.equal(c.node(3).raw.raft.state, StateType.Follower);
});

test("without pre-vote a rejoining node with a higher term forces a new election", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  const term = c.node(1).raw.raft.term;
  c.isolate(3);
  for (let i = 0; i < 100; i++) c.tick(3, 1);
  c.stabilize();
  assert.ok(c.node(3).raw.raft.term > term);
  c.heal();
  for (let i = 0; i < 20; i++) {
    c.tick(3, 1);
    c.stabilize();
  }
  assert.ok(c.node(1).raw.raft.term > term, "the leader learned the higher term");
});

test("check quorum - a leader that has not heard from a quorum for an election timeout steps down", () => {
  const c = new TestCluster([1, 2, 3], { checkQuorum: true });
  for (const id of [1, 2, 3]) c.tick(id, 10);
  c.elect(1);
  c.isolate(1);
  for (let i = 0; i < 21; i++) {
    c.tick(1, 1);
    c.stabilize();
  }
  assert.equal(c.node(1).raw.raft.state, StateType.Follower);
});

test("check quorum - followers in lease ignore a disruptive candidate while the leader is alive", () => {
  const c = new TestCluster([1, 2, 3], { checkQuorum: true });
  for (const id of [1, 2, 3]) c.tick(id, 10);
  c.elect(1);
  const term = c.node(1).raw.raft.term;
  c.node(3).raw.campaign();
  c.stabilize();
  assert.equal(c.node(1).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1).raw.raft.term, term, "vote requests from node 3 were ignored");
  assert.equal(c.node(2).raw.raft.term, term);
});

test("leadership transfer (§3.10 of the thesis) - an up-to-date transferee gets MsgTimeoutNow and wins at once", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, "a");
  c.stabilize();
  c.node(1).raw.transferLeader(2);
  c.stabilize();
  assert.equal(c.node(2).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1).raw.raft.state, StateType.Follower);
  assert.equal(c.node(1).raw.raft.lead, 2);
});

test("leadership transfer - a lagging transferee is caught up first; proposals are dropped meanwhile", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  c.propose(1, "a");
  c.stabilize();
  c.node(1).raw.transferLeader(3);
  assert.equal(c.node(1).raw.propose(enc("b")), StepError.ProposalDropped);
  c.heal();
  c.stabilize();
  assert.equal(c.node(3).raw.raft.state, StateType.Leader);
  assert.deepEqual(c.appliedData(3), ["a"]);
});

test("leadership transfer - abandoned after an election timeout if the transferee never catches up", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  c.node(1).raw.transferLeader(3);
  c.stabilize();
  assert.equal(c.node(1).raw.raft.leadTransferee, 3);
  for (let i = 0; i < 10; i++) {
    c.tick(1, 1);
    c.stabilize();
  }
  assert.equal(c.node(1).raw.raft.leadTransferee, 0);
  assert.equal(c.node(1).raw.raft.state, StateType.Leader);
});

test("ReadIndex (§6.4 of the thesis) - the read index is the commit index, released after a heartbeat quorum", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, "a");
  c.stabilize();
  c.node(1).raw.readIndex(enc("req1"));
  assert.equal(c.node(1).readStates.length, 0);
  c.stabilize();
  const rs = c.node(1).readStates;
  assert.equal(rs.length, 1);
  assert.equal(rs[0].index, c.node(1).raw.raft.raftLog.committed);
  assert.deepEqual(rs[0].requestCtx, enc("req1"));
});

test("ReadIndex - a follower's request is forwarded to the leader and answered to the follower", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.node(2).raw.readIndex(enc("f"));
  c.stabilize();
  assert.equal(c.node(2).readStates.length, 1);
  assert.equal(c.node(2).readStates[0].index, c.node(1).raw.raft.raftLog.committed);
});

test("ReadIndex - a leader cut off from the quorum never releases the read", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(1);
  c.node(1).raw.readIndex(enc("x"));
  for (let i = 0; i < 5; i++) {
    c.tick(1, 1);
    c.stabilize();
  }
  assert.equal(c.node(1).readStates.length, 0);
});

test("lease reads - answered at once while a quorum acknowledged a recent heartbeat, not after", () => {
  const c = new TestCluster([1, 2, 3], { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  for (const id of [1, 2, 3]) c.tick(id, 10);
  c.elect(1);
  c.tick(1, 1);
  c.stabilize();
  c.node(1).raw.readIndex(enc("lease"));
  assert.equal(c.node(1).readStates.length, 0, "not yet in Ready");
  c.processReady(1);
  assert.equal(c.node(1).readStates.length, 1, "served without a heartbeat round");
  c.isolate(1);
  for (let i = 0; i < 9; i++) {
    c.tick(1, 1);
    c.stabilize();
  }
  c.node(1).raw.readIndex(enc("expired"));
  c.stabilize();
  assert.equal(c.node(1).readStates.length, 1, "the lease expired: the read waits for a quorum");
});

test("lease reads - disabled for the rest of the term once leadership transfer started", () => {
  const c = new TestCluster([1, 2, 3], { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
  for (const id of [1, 2, 3]) c.tick(id, 10);
  c.elect(1);
  c.tick(1, 1);
  c.stabilize();
  c.isolate(2);
  c.node(1).raw.transferLeader(2);
  c.stabilize();
  assert.equal(c.node(1).raw.raft.leaseValid(), false);
});

test("snapshots (§7) - a follower behind the leader's compacted log receives InstallSnapshot and catches up", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  for (let i = 0; i < 10; i++) c.propose(1, `v${i}`);
  c.stabilize();
  const leader = c.node(1);
  const applied = leader.raw.raft.raftLog.applied;
  leader.storage.createSnapshot(applied, leader.raw.raft.confState(), enc("state"));
  leader.storage.compact(applied);
  c.heal();
  const sent: string[] = [];
  c.traceEnabled = true;
  c.tick(1, 1);
  c.stabilize();
  sent.push(...c.trace.filter((l) => l.includes(MessageType.Snap)));
  assert.equal(sent.length, 1, "one snapshot sent");
  assert.equal(c.node(3).storage.snapshot().metadata.index, applied);
  assert.equal(c.node(3).raw.raft.raftLog.committed, leader.raw.raft.raftLog.committed);
  c.node(1).raw.reportSnapshot(3, false);
  c.propose(1, "after");
  c.stabilize();
  assert.equal(c.node(1).raw.status().progress.get(3)?.state, ProgressState.Replicate);
  assert.deepEqual(c.appliedData(3), ["after"]);
});

test("snapshots - a follower restarted with an empty log under its old id is told apart by its heartbeat answer and gets a snapshot; no election", () => {
  const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: true });
  c.elect(1);
  for (let i = 0; i < 10; i++) c.propose(1, `v${i}`);
  c.stabilize();
  const leader = c.node(1);
  const term = leader.raw.raft.term;
  const applied = leader.raw.raft.raftLog.applied;
  leader.storage.createSnapshot(applied, leader.raw.raft.confState(), enc("state"));
  leader.storage.compact(applied);
  // Node 3 loses its disk: same id, nothing stored (no log, no term, no configuration).
  c.addNode(3, new MemoryStorage());
  c.traceEnabled = true;
  c.tick(1, 1);
  c.stabilize();
  assert.equal(c.trace.filter((l) => l.includes(MessageType.Snap)).length, 1, "one snapshot sent");
  assert.equal(c.node(3).storage.snapshot().metadata.index, applied);
  c.node(1).raw.reportSnapshot(3, false);
  c.propose(1, "after");
  c.stabilize();
  assert.deepEqual(c.appliedData(3), ["after"]);
  assert.equal(c.node(1).raw.status().progress.get(3)?.state, ProgressState.Replicate);
  assert.deepEqual([1, 2, 3].map((id) => c.node(id).raw.raft.term), [term, term, term], "nobody ran an election");
  assert.deepEqual(c.leaders(), [1]);
});

test("snapshots - a follower that lost its log grants no vote until it holds the entries the leader said it had", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
  c.stabilize();
  const committed = c.node(1).raw.raft.raftLog.committed;
  c.addNode(3, new MemoryStorage());
  // Only a heartbeat reaches node 3, nothing else from the leader yet.
  c.node(1).raw.raft.bcastHeartbeat();
  for (const m of c.processReady(1)) if (m.to === 3) c.node(3).raw.step(m);
  assert.equal(c.node(3).raw.raft.votesWithheldBelow, committed);
  const term = c.node(1).raw.raft.term;
  c.node(3).raw.step(message({ type: MessageType.Vote, from: 2, to: 3, term: term + 1, index: 0, logTerm: 0 }));
  const answer = c.processReady(3).find((m) => m.type === MessageType.VoteResp);
  assert.equal(answer?.reject, true, "an empty log must not help elect a candidate that may lack committed entries");
});

test("membership (§4.1 of the thesis) - a learner receives the log but neither votes nor counts toward commit", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.addNode(4);
  assert.equal(c.node(1).raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4 }), undefined);
  c.stabilize();
  c.tick(1, 1);
  c.stabilize();
  assert.deepEqual(c.confState(1), { voters: [1, 2, 3], learners: [4] });
  c.propose(1, "x");
  c.stabilize();
  assert.deepEqual(c.appliedData(4), ["x"]);
  assert.deepEqual(c.confState(4), { voters: [1, 2, 3], learners: [4] });
  // With two voters down, the learner's acknowledgement does not make a quorum.
  c.isolate(2);
  c.isolate(3);
  c.propose(1, "y");
  c.stabilize();
  assert.deepEqual(c.appliedData(1), ["x"]);
  assert.equal(c.node(4).raw.raft.promotable(), false, "learners never campaign");
  c.heal();
  c.stabilize();
  // Promotion: the caught-up learner becomes a voter.
  assert.equal(c.node(1).raw.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4 }), undefined);
  c.stabilize();
  assert.deepEqual(c.confState(1), { voters: [1, 2, 3, 4], learners: [] });
  assert.equal(c.node(4).raw.raft.promotable(), true);
});

test("membership - one change at a time: a second conf change is refused until the first is applied", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  assert.equal(c.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 }), undefined);
  assert.equal(c.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 2 }), StepError.ProposalDropped);
  c.stabilize();
  assert.deepEqual(c.confState(1), { voters: [1, 2], learners: [] });
  assert.equal(c.node(1).raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2 }), StepError.ProposalDropped, "demoting a voter in one step is refused");
});

test("membership - a removed leader steps down and the rest elect a new one", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1 });
  c.stabilize();
  assert.equal(c.node(1).raw.raft.state, StateType.Follower);
  for (let i = 0; i < 30 && c.leaders().length === 0; i++) {
    for (const id of [2, 3]) c.tick(id, 1);
    c.stabilize();
  }
  const [leader] = c.leaders();
  assert.ok(leader === 2 || leader === 3);
  c.propose(leader, "z");
  c.stabilize();
  assert.deepEqual(c.appliedData(leader === 2 ? 3 : 2), ["z"]);
});

test("flow control - at most maxInflightMsgs MsgApp are outstanding to a replicating follower", () => {
  const c = new TestCluster([1, 2], { maxInflightMsgs: 3, maxSizePerMsg: 1 });
  c.elect(1);
  const r = c.node(1).raw.raft;
  for (let i = 0; i < 10; i++) c.node(1).raw.propose(enc(`p${i}`));
  const apps = r.msgs.filter((m) => m.type === MessageType.App && m.to === 2);
  assert.equal(apps.length, 3);
  assert.equal(r.prs.get(2)?.isPaused(), true);
  c.stabilize();
  assert.equal(c.appliedData(2).length, 10, "acknowledgements reopen the window");
});

test("flow control - the byte limit pauses replication before the count limit", () => {
  const c = new TestCluster([1, 2], { maxInflightMsgs: 100, maxInflightBytes: 100, maxSizePerMsg: 1 });
  c.elect(1);
  const r = c.node(1).raw.raft;
  for (let i = 0; i < 10; i++) c.node(1).raw.propose(new Uint8Array(40));
  assert.equal(r.msgs.filter((m) => m.type === MessageType.App && m.to === 2).length, 2);
});

test("proposals - a follower forwards to the leader; without a leader the proposal is dropped", () => {
  const c = new TestCluster([1, 2, 3]);
  assert.equal(c.node(2).raw.propose(enc("early")), StepError.ProposalDropped);
  c.elect(1);
  c.propose(2, "forwarded");
  c.stabilize();
  assert.deepEqual(c.appliedData(3), ["forwarded"]);
});

test("proposals - the leader drops proposals beyond maxUncommittedEntriesSize", () => {
  const c = new TestCluster([1, 2, 3], { maxUncommittedEntriesSize: 100 });
  c.elect(1);
  c.isolate(1);
  assert.equal(c.node(1).raw.propose(new Uint8Array(60)), undefined);
  assert.equal(c.node(1).raw.propose(new Uint8Array(60)), StepError.ProposalDropped);
});

test("rawnode - a Ready persists entries and hard state and sends messages; advance marks them stable", () => {
  const c = new TestCluster([1, 2, 3]);
  const n = c.node(1).raw;
  n.campaign();
  assert.equal(n.hasReady(), true);
  const rd = n.ready();
  assert.equal(rd.hardState?.term, 2);
  assert.equal(rd.hardState?.vote, 1);
  assert.equal(rd.mustSync, true);
  assert.equal(rd.softState?.raftState, StateType.Candidate);
  assert.equal(rd.messages.length, 2);
  assert.throws(() => n.ready(), /before advance/);
  n.advance();
  assert.equal(n.hasReady(), false);
  assert.equal(n.step(message({ type: MessageType.Hup })), StepError.StepLocalMsg);
  assert.equal(n.step(message({ type: MessageType.AppResp, from: 9, term: 2 })), StepError.StepPeerNotFound);
});
