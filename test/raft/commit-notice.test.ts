import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../src/raft/messages.ts";
import { MessageType } from "../../src/raft/messages.ts";
import { TestCluster } from "./harness.ts";

// deferCommitNotices: a commit does not cost each follower a message of its own; the commit
// index rides on the next MsgApp, or goes out when the host calls sendCommitNotices().

/** Runs the cluster until quiet, recording every MsgApp that carries no entries. */
function stabilizeCountingBareAppends(c: TestCluster): Message[] {
  const bare: Message[] = [];
  for (let round = 0; round < 1000; round++) {
    const pending: Message[] = [];
    for (const id of [1, 2, 3]) pending.push(...c.processReady(id));
    if (pending.length === 0) return bare;
    for (const m of pending) {
      if (m.type === MessageType.App && m.entries.length === 0) bare.push(m);
      c.deliver(m);
    }
  }
  throw new Error("cluster did not stabilize");
}

test("commit notices - deferred: a write costs no bare MsgApp, the next write's MsgApp carries the commit, sendCommitNotices tells the rest", () => {
  const c = new TestCluster([1, 2, 3], { deferCommitNotices: true });
  c.elect(1);
  stabilizeCountingBareAppends(c);
  const leader = c.node(1).raw.raft;

  c.propose(1, "a");
  assert.deepEqual(stabilizeCountingBareAppends(c), [], "no message only to announce the commit");
  assert.deepEqual(c.appliedData(1), ["a"], "the leader committed and applied");
  assert.deepEqual(c.appliedData(2), [], "followers do not know the commit yet");
  assert.equal(leader.commitNoticeDue, true);

  // The next write's MsgApp carries the commit of the first.
  c.propose(1, "b");
  stabilizeCountingBareAppends(c);
  assert.deepEqual(c.appliedData(2), ["a"]);
  assert.deepEqual(c.appliedData(3), ["a"]);

  // The host's delay ran out with nothing else to send: the followers are told now, once.
  c.node(1).raw.raft.sendCommitNotices();
  const bare = stabilizeCountingBareAppends(c);
  assert.deepEqual(
    bare.map((m) => [m.to, m.commit]),
    [
      [2, leader.raftLog.committed],
      [3, leader.raftLog.committed],
    ],
  );
  assert.deepEqual(c.appliedData(2), ["a", "b"]);
  assert.deepEqual(c.appliedData(3), ["a", "b"]);
  assert.equal(leader.commitNoticeDue, false);
  c.node(1).raw.raft.sendCommitNotices();
  assert.deepEqual(stabilizeCountingBareAppends(c), [], "nothing more is due");
});

test("commit notices - by default (etcd) every commit is announced at once with a bare MsgApp", () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  stabilizeCountingBareAppends(c);
  c.propose(1, "a");
  assert.ok(stabilizeCountingBareAppends(c).length >= 2);
  assert.deepEqual(c.appliedData(2), ["a"]);
  assert.deepEqual(c.appliedData(3), ["a"]);
});

test("commit notices - a heartbeat carries the commit to a follower that holds the entries", () => {
  const c = new TestCluster([1, 2, 3], { deferCommitNotices: true });
  c.elect(1);
  c.propose(1, "a");
  stabilizeCountingBareAppends(c);
  assert.deepEqual(c.appliedData(2), []);
  c.tick(1, 1); // heartbeatTick
  stabilizeCountingBareAppends(c);
  assert.deepEqual(c.appliedData(2), ["a"]);
  assert.deepEqual(c.appliedData(3), ["a"]);
  // Told by the heartbeat: the deferred notice finds nobody left to tell.
  c.node(1).raw.raft.sendCommitNotices();
  assert.deepEqual(stabilizeCountingBareAppends(c), []);
});
