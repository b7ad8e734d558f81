// Tests named after the rules of the Raft paper ("In Search of an Understandable Consensus
// Algorithm (Extended Version)"); the quoted sentences are the paper's.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../src/raft/messages.ts";
import { EntryType, MessageType, message } from "../../src/raft/messages.ts";
import { Raft, StateType } from "../../src/raft/raft.ts";
import type { RaftConfig } from "../../src/raft/raft.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { seededRng } from "../../src/runtime/rng.ts";
import { TestCluster, newStorage } from "./harness.ts";

function newRaft(id: number, voters: number[], opts: Partial<RaftConfig> = {}, storage: MemoryStorage = newStorage(voters)): Raft {
  return new Raft({ id, electionTick: 10, heartbeatTick: 1, storage, rng: seededRng(id), ...opts });
}

/** The host finished writing the leader's log (as RawNode.advance reports it): its own entries count from now. */
function writeOwnLog(r: Raft, storage: MemoryStorage): void {
  const ents = r.raftLog.unstableEntries();
  storage.append(ents);
  const last = ents.at(-1);
  if (last) r.raftLog.stableTo(last.index, last.term);
  r.ownLogDurable();
}

function takeMsgs(r: Raft): Message[] {
  const m = r.msgs;
  r.msgs = [];
  return m;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (term: number, index: number, data = ""): { term: number; index: number; type: "Normal"; data: Uint8Array } => ({
  term,
  index,
  type: EntryType.Normal,
  data: enc(data),
});

test("§5.1 'If a server receives a request with a stale term number, it rejects the request' (and a higher term makes any role a follower)", () => {
  for (const become of ["follower", "candidate", "leader"] as const) {
    const r = newRaft(1, [1, 2, 3]);
    if (become === "candidate") r.becomeCandidate();
    if (become === "leader") {
      r.becomeCandidate();
      r.becomeLeader();
    }
    r.step(message({ type: MessageType.App, from: 2, to: 1, term: 5 }));
    assert.equal(r.term, 5, become);
    assert.equal(r.state, StateType.Follower, become);
    assert.equal(r.lead, 2, become);
  }
  const r = newRaft(1, [1, 2, 3]);
  r.becomeFollower(5, 2);
  r.step(message({ type: MessageType.Vote, from: 3, to: 1, term: 4, index: 100, logTerm: 4 }));
  assert.deepEqual(takeMsgs(r), [], "a vote request of a stale term is ignored");
  assert.equal(r.term, 5);
});

test("§5.2 'If a follower receives no communication over a period of time called the election timeout, then it ... begins an election'", () => {
  const r = newRaft(1, [1, 2, 3]);
  for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
  assert.equal(r.state, StateType.Candidate);
  assert.equal(r.term, 2, "it increments its current term");
  assert.equal(r.vote, 1, "it votes for itself");
  const votes = takeMsgs(r);
  assert.deepEqual(
    votes.map((m) => [m.type, m.to, m.term]),
    [
      [MessageType.Vote, 2, 2],
      [MessageType.Vote, 3, 2],
    ],
    "and issues RequestVote RPCs in parallel to each of the other servers",
  );
});

test("§5.2 'Raft uses randomized election timeouts' in [electionTimeout, 2·electionTimeout)", () => {
  const r = newRaft(1, [1, 2, 3]);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    r.resetRandomizedElectionTimeout();
    assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20);
    seen.add(r.randomizedElectionTimeout);
  }
  assert.ok(seen.size > 5, "timeouts spread across the range");
});

test("§5.2 'A candidate wins an election if it receives votes from a majority of the servers'", () => {
  const cases: { size: number; votes: Record<number, boolean>; state: StateType }[] = [
    { size: 1, votes: {}, state: StateType.Leader },
    { size: 3, votes: { 2: true, 3: true }, state: StateType.Leader },
    { size: 3, votes: { 2: true }, state: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, state: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true }, state: StateType.Leader },
    { size: 3, votes: { 2: false, 3: false }, state: StateType.Follower },
    { size: 5, votes: { 2: true }, state: StateType.Candidate },
    { size: 5, votes: { 2: false, 3: false, 4: false }, state: StateType.Follower },
    { size: 5, votes: {}, state: StateType.Candidate },
  ];
  for (const c of cases) {
    const ids = Array.from({ length: c.size }, (_, i) => i + 1);
    const r = newRaft(1, ids);
    r.step(message({ type: MessageType.Hup, from: 1 }));
    for (const [id, granted] of Object.entries(c.votes)) {
      r.step(message({ type: MessageType.VoteResp, from: Number(id), to: 1, term: r.term, reject: !granted }));
    }
    assert.equal(r.state, c.state, JSON.stringify(c));
  }
});

test("§5.2 'Each server will vote for at most one candidate in a given term, on a first-come-first-served basis'", () => {
  const r = newRaft(1, [1, 2, 3]);
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 2, index: 1, logTerm: 1 }));
  r.step(message({ type: MessageType.Vote, from: 3, to: 1, term: 2, index: 1, logTerm: 1 }));
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 2, index: 1, logTerm: 1 }));
  assert.deepEqual(
    takeMsgs(r).map((m) => [m.to, m.reject]),
    [
      [2, false],
      [3, true],
      [2, false],
    ],
  );
  assert.equal(r.vote, 2);
});

test("§5.2 'If the leader's term is at least as large as the candidate's current term, then the candidate ... returns to follower state'", () => {
  const r = newRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  r.step(message({ type: MessageType.App, from: 2, to: 1, term: r.term }));
  assert.equal(r.state, StateType.Follower);
  assert.equal(r.lead, 2);
});

test("§5.3 'The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel'", () => {
  const r = newRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  r.becomeLeader();
  // Followers start in probe state: establish their match first.
  for (const id of [2, 3]) r.step(message({ type: MessageType.AppResp, from: id, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  takeMsgs(r);
  r.step(message({ type: MessageType.Prop, from: 1, entries: [entry(0, 0, "x")] }));
  const msgs = takeMsgs(r);
  assert.deepEqual(
    msgs.map((m) => [m.to, m.type, m.index, m.entries.map((e) => e.index)]),
    [
      [2, MessageType.App, 2, [3]],
      [3, MessageType.App, 2, [3]],
    ],
  );
  assert.equal(r.raftLog.lastIndex(), 3);
});

test("§5.3 'A log entry is committed once the leader that created the entry has replicated it on a majority of the servers'", () => {
  // "Replicated" means written: the leader's own copy counts only once its write is reported,
  // so an entry it is still writing commits on the followers' copies alone or not at all.
  for (const [size, acks, leaderWritten, committed] of [
    [3, [2], true, true],
    [3, [2], false, false],
    [3, [2, 3], false, true],
    [3, [], true, false],
    [5, [2], true, false],
    [5, [2, 3], true, true],
    [5, [2, 3], false, false],
    [5, [2, 3, 4], false, true],
  ] as const) {
    const voters = Array.from({ length: size }, (_, i) => i + 1);
    const storage = newStorage(voters);
    const r = newRaft(1, voters, {}, storage);
    r.becomeCandidate();
    r.becomeLeader();
    writeOwnLog(r, storage);
    r.step(message({ type: MessageType.Prop, from: 1, entries: [entry(0, 0, "x")] }));
    const li = r.raftLog.lastIndex();
    if (leaderWritten) writeOwnLog(r, storage);
    for (const id of acks) r.step(message({ type: MessageType.AppResp, from: id, to: 1, term: r.term, index: li }));
    assert.equal(r.raftLog.committed === li, committed, `size ${size} acks ${acks} leader written ${leaderWritten}`);
  }
});

test("§5.3 'If a follower does not find an entry in its log with the same index and term, then it refuses the new entries'", () => {
  const s = newStorage([1, 2, 3]);
  s.append([entry(1, 2), entry(2, 3)]);
  const r = newRaft(1, [1, 2, 3], {}, s);
  r.becomeFollower(2, 2);
  r.step(message({ type: MessageType.App, from: 2, to: 1, term: 2, index: 3, logTerm: 3, entries: [entry(3, 4)] }));
  const [resp] = takeMsgs(r);
  assert.equal(resp.reject, true);
  assert.equal(resp.rejectHint, 3, "hint: our last index whose term is ≤ the leader's logTerm");
  assert.equal(r.raftLog.lastIndex(), 3, "nothing appended");
  r.step(message({ type: MessageType.App, from: 2, to: 1, term: 2, index: 3, logTerm: 2, entries: [entry(2, 4)] }));
  assert.equal(takeMsgs(r)[0].reject, false);
  assert.equal(r.raftLog.lastIndex(), 4);
});

test("§5.3 'If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it'", () => {
  const s = newStorage([1, 2, 3]);
  s.append([entry(1, 2), entry(1, 3), entry(1, 4)]);
  const r = newRaft(1, [1, 2, 3], {}, s);
  r.becomeFollower(3, 2);
  r.step(message({ type: MessageType.App, from: 2, to: 1, term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, "new")] }));
  assert.equal(r.raftLog.lastIndex(), 3);
  assert.equal(r.raftLog.term(3), 3);
});

test("§5.4.1 'the voter denies its vote if its own log is more up-to-date than that of the candidate'", () => {
  const s = newStorage([1, 2, 3]);
  s.append([entry(2, 2), entry(2, 3)]);
  const cases: [number, number, boolean][] = [
    // candidate lastTerm, lastIndex, granted
    [1, 10, false],
    [2, 2, false],
    [2, 3, true],
    [3, 2, true],
  ];
  for (const [logTerm, index, granted] of cases) {
    const r = newRaft(1, [1, 2, 3], {}, s);
    r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 5, logTerm, index }));
    assert.equal(takeMsgs(r)[0].reject, !granted, `candidate log ${logTerm}/${index}`);
  }
});

test("§5.4.2 'Raft never commits log entries from previous terms by counting replicas' (Figure 8)", () => {
  const s = newStorage([1, 2, 3]);
  s.append([entry(2, 2, "old")]);
  s.setHardState({ term: 2, vote: 0, commit: 1 });
  const r = newRaft(1, [1, 2, 3], {}, s);
  r.becomeCandidate();
  r.becomeLeader();
  writeOwnLog(r, s);
  assert.equal(r.term, 3);
  // Node 2 acknowledges the term-2 entry only: a majority holds it, yet it is not committed.
  r.step(message({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
  assert.equal(r.raftLog.committed, 1);
  // Once the leader's own no-op of term 3 is on a majority, both commit together.
  r.step(message({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 }));
  assert.equal(r.raftLog.committed, 3);
});

test("§8 'each leader commit a blank no-op entry into the log at the start of its term'", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  const noop = c.node(2).applied.at(-1);
  assert.equal(noop?.term, c.node(1).raw.raft.term);
  assert.equal(noop?.data.byteLength, 0);
  assert.equal(c.node(1).raw.raft.raftLog.committed, 2);
});

test("§5.3 'the leader maintains a nextIndex for each follower ... after a rejection, the leader decrements nextIndex and retries' until logs match", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  for (let i = 0; i < 20; i++) {
    c.propose(1, `v${i}`);
    c.stabilize();
  }
  c.heal();
  c.tick(1, 1);
  c.stabilize();
  assert.deepEqual(c.appliedData(3), c.appliedData(1));
  assert.equal(c.appliedData(3).length, 20);
});

test("§5.2 'a candidate ... times out and starts a new election' after a split vote", () => {
  const r = newRaft(1, [1, 2, 3]);
  r.step(message({ type: MessageType.Hup, from: 1 }));
  const term = r.term;
  for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
  assert.equal(r.state, StateType.Candidate);
  assert.equal(r.term, term + 1);
});

test("§5.4.1 a follower's election timer restarts when it grants a vote", () => {
  const r = newRaft(1, [1, 2, 3]);
  for (let i = 0; i < 5; i++) r.tick();
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 2, index: 1, logTerm: 1 }));
  assert.equal(r.electionElapsed, 0);
  assert.ok(new MemoryStorage().lastIndex() === 0);
});
