import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../src/raft/messages.ts";
import { MessageType } from "../../src/raft/messages.ts";
import { durableCommittedCount } from "../../src/raft/raw-node.ts";
import { TestCluster } from "./harness.ts";

// The leader's own log write runs beside the followers' (it sends the MsgApp first). Its copy
// counts toward a commit only once that write is reported (advance), so "committed" always
// means written on a majority; and two followers' copies commit an entry the leader is still
// writing, which the host may then apply and answer without waiting for its own write.

const decode = (d: Uint8Array): string => new TextDecoder().decode(d);

/** A 3-node cluster led by 1, with "x" proposed and node 1's Ready (its write) still outstanding. */
function leaderWriting(): { c: TestCluster; index: number; acks: Map<number, Message> } {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, "x");
  const leader = c.node(1).raw;
  const rd = leader.ready();
  assert.equal(rd.sendBeforePersist, true);
  const index = rd.entries[0].index;
  // The followers write and acknowledge; the leader's write is not reported yet.
  for (const m of rd.messages) c.deliver(m);
  const acks = new Map<number, Message>();
  for (const id of [2, 3]) {
    const ack = c.processReady(id).find((m) => m.type === MessageType.AppResp && m.index >= index);
    assert.ok(ack, `follower ${id} acknowledged`);
    acks.set(id, ack);
  }
  return { c, index, acks };
}

test("one follower's acknowledgement does not commit an entry the leader has not written yet", () => {
  const { c, index, acks } = leaderWriting();
  const leader = c.node(1).raw;
  c.deliver(acks.get(2) as Message);
  assert.ok(leader.raft.raftLog.committed < index, "only one copy is durable: not committed");
  assert.deepEqual(leader.takeDurableCommitted(), []);
  // Once the leader's write is reported, its copy and follower 2's make a majority.
  c.node(1).storage.append(leader.raft.raftLog.unstableEntries());
  leader.advance();
  assert.equal(leader.raft.raftLog.committed, index);
  const rd = leader.ready();
  assert.deepEqual(rd.committedEntries.map((e) => decode(e.data)), ["x"]);
});

test("both followers' acknowledgements commit the entry while the leader still writes it, and it is handed out at once", () => {
  const { c, index, acks } = leaderWriting();
  const leader = c.node(1).raw;
  c.deliver(acks.get(2) as Message);
  c.deliver(acks.get(3) as Message);
  assert.equal(leader.raft.raftLog.committed, index);
  const early = leader.takeDurableCommitted();
  assert.deepEqual(early.map((e) => decode(e.data)), ["x"]);
  c.node(1).applied.push(...early);
  // The write finishes: nothing is handed out twice, and the next Ready tells the followers.
  c.node(1).storage.append(leader.raft.raftLog.unstableEntries());
  leader.advance();
  assert.equal(leader.raft.raftLog.applied, index);
  if (leader.hasReady()) {
    const rd = leader.ready();
    assert.deepEqual(rd.committedEntries, []);
    leader.advance();
    for (const m of rd.messages) c.deliver(m);
  }
  c.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedData(id), ["x"], `node ${id}`);
});

test("a Ready's committed entries may all be applied during its write, unless it installs a snapshot", () => {
  const { c, acks } = leaderWriting();
  const leader = c.node(1).raw;
  c.node(1).storage.append(leader.raft.raftLog.unstableEntries());
  leader.advance();
  c.deliver(acks.get(2) as Message);
  c.propose(1, "y");
  const rd = leader.ready();
  assert.ok(rd.entries.length > 0 && rd.committedEntries.length > 0);
  assert.equal(durableCommittedCount(rd), rd.committedEntries.length);
  assert.equal(durableCommittedCount({ ...rd, snapshot: { data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } } } }), 0);
});
