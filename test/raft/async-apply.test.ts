import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "../../src/raft/confchange.ts";
import { StateType } from "../../src/raft/raft.ts";
import { RawNode } from "../../src/raft/raw-node.ts";
import { seededRng } from "../../src/runtime/rng.ts";
import { newStorage } from "./harness.ts";

// A host that applies asynchronously (a large entry prepared over many turns) advances each
// Ready at once with what it has applied so far. Committed entries are handed out once (the
// applying mark); `applied` stays at what the state machine holds, which is what elections
// and conf-change proposals consult.

function loneLeader(): RawNode {
  const storage = newStorage([1]);
  const raw = new RawNode({ id: 1, storage, rng: seededRng(1), electionTick: 10, heartbeatTick: 1, applied: 1 });
  raw.campaign();
  for (;;) {
    if (!raw.hasReady()) break;
    const rd = raw.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    raw.advance();
  }
  assert.equal(raw.raft.state, StateType.Leader);
  return raw;
}

/** Carries out every Ready there is without applying anything; the committed entries handed out. */
function persistAll(raw: RawNode, applied: number): number[] {
  const storage = raw.raft.raftLog.storage as ReturnType<typeof newStorage>;
  const handed: number[] = [];
  while (raw.hasReady()) {
    const rd = raw.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    handed.push(...rd.committedEntries.map((e) => e.index));
    raw.advance(applied);
  }
  return handed;
}

test("async apply - committed entries are handed out once while applied stays at what the host applied", () => {
  const raw = loneLeader();
  const before = raw.status().applied;
  raw.propose(Uint8Array.of(1));
  raw.propose(Uint8Array.of(2));
  const handed = persistAll(raw, before);
  assert.equal(handed.length, 2, "the two proposals are committed and handed out");
  assert.equal(raw.status().applied, before, "advance(applied) does not count them applied");
  assert.equal(raw.hasReady(), false, "and does not hand them out again");
  raw.propose(Uint8Array.of(3));
  assert.deepEqual(persistAll(raw, before), [handed[1] + 1], "only the new entry follows");
  raw.appliedTo(handed[0]);
  assert.equal(raw.status().applied, handed[0], "appliedTo reports progress during a Ready");
  raw.appliedTo(handed[1]);
  assert.equal(raw.status().applied, handed[1]);
  raw.appliedTo(handed[0]);
  assert.equal(raw.status().applied, handed[1], "never backwards");
});

test("async apply - a conf change handed out but not yet applied blocks the next one", () => {
  const raw = loneLeader();
  const applied = raw.status().applied;
  assert.equal(raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2 }), undefined);
  const handed = persistAll(raw, applied);
  assert.equal(handed.length, 1);
  // Not applied by the host yet: a second change must wait, as if the first were still uncommitted.
  assert.notEqual(raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 3 }), undefined);
  raw.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2 });
  raw.appliedTo(handed[0]);
  assert.equal(raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 3 }), undefined);
});

test("async apply - committed entries wait to be handed out while those not yet applied fill maxApplyingBytes", () => {
  const storage = newStorage([1]);
  // Room for two 100-byte entries (116 bytes each as counted), not three.
  const raw = new RawNode({ id: 1, storage, rng: seededRng(1), electionTick: 10, heartbeatTick: 1, applied: 1, maxApplyingBytes: 250 });
  raw.campaign();
  persistAll(raw, 1);
  raw.appliedTo(raw.raft.raftLog.committed);
  const before = raw.status().applied;
  for (let i = 0; i < 5; i++) raw.propose(new Uint8Array(100).fill(i));
  const handed = persistAll(raw, before);
  // One entry past the budget at most: the third is handed out while 232 of 250 bytes are used.
  assert.deepEqual(handed, [before + 1, before + 2, before + 3]);
  assert.equal(raw.applyingPaused(), true);
  assert.equal(raw.hasReady(), false, "the other two wait, committed");
  assert.equal(raw.raft.raftLog.committed, before + 5);
  raw.appliedTo(before + 1);
  assert.deepEqual(persistAll(raw, before + 1), [before + 4], "one applied: room for one more");
  raw.appliedTo(before + 4);
  assert.equal(raw.applyingPaused(), false);
  assert.deepEqual(persistAll(raw, before + 4), [before + 5]);
  raw.appliedTo(before + 5);
  assert.equal(raw.raft.raftLog.applyingBytes(), 0);
});

test("async apply - a single entry larger than maxApplyingBytes is still handed out", () => {
  const storage = newStorage([1]);
  const raw = new RawNode({ id: 1, storage, rng: seededRng(1), electionTick: 10, heartbeatTick: 1, applied: 1, maxApplyingBytes: 64 });
  raw.campaign();
  persistAll(raw, 1);
  raw.appliedTo(raw.raft.raftLog.committed);
  const before = raw.status().applied;
  raw.propose(new Uint8Array(1000));
  raw.propose(new Uint8Array(1000));
  assert.deepEqual(persistAll(raw, before), [before + 1]);
  raw.appliedTo(before + 1);
  assert.deepEqual(persistAll(raw, before + 1), [before + 2]);
});
