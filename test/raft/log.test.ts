// The raft log (stable storage + unstable tail), inflights and MemoryStorage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Inflights } from "../../src/raft/inflights.ts";
import { RaftLog } from "../../src/raft/log.ts";
import type { Entry } from "../../src/raft/messages.ts";
import { EntryType } from "../../src/raft/messages.ts";
import { MemoryStorage, StorageErrorCode, isStorageError } from "../../src/raft/storage.ts";

const e = (term: number, index: number): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array(0) });

test("log - findConflict returns the first index whose term differs, or 0", () => {
  const log = new RaftLog(new MemoryStorage());
  log.append([e(1, 1), e(2, 2), e(3, 3)]);
  assert.equal(log.findConflict([e(1, 1), e(2, 2)]), 0);
  assert.equal(log.findConflict([e(2, 2), e(3, 3), e(4, 4)]), 4, "new entries conflict at the first new index");
  assert.equal(log.findConflict([e(1, 1), e(4, 2)]), 2);
});

test("log - maybeAppend refuses a mismatched (index, term) and never truncates committed entries", () => {
  const log = new RaftLog(new MemoryStorage());
  log.append([e(1, 1), e(2, 2), e(3, 3)]);
  assert.equal(log.maybeAppend(3, 2, 3, [e(4, 4)]), undefined);
  assert.equal(log.maybeAppend(3, 3, 3, [e(4, 4)]), 4);
  assert.equal(log.committed, 3);
  assert.throws(() => log.maybeAppend(1, 1, 3, [e(9, 2)]), /conflicts with committed entry/);
});

test("log - findConflictByTerm skips every entry of a higher term in one step", () => {
  const log = new RaftLog(new MemoryStorage());
  log.append([e(1, 1), e(1, 2), e(4, 3), e(4, 4), e(4, 5)]);
  assert.deepEqual(log.findConflictByTerm(5, 3), { index: 2, term: 1 });
  assert.deepEqual(log.findConflictByTerm(5, 4), { index: 5, term: 4 });
});

test("log - stableTo ignores a stale acknowledgement whose term no longer matches the unstable entry", () => {
  const log = new RaftLog(new MemoryStorage());
  log.append([e(1, 1), e(1, 2)]);
  log.append([e(2, 2)]);
  log.stableTo(2, 1);
  assert.equal(log.unstable.offset, 1, "still unstable: entry 2 was replaced");
  log.stableTo(2, 2);
  assert.equal(log.unstable.offset, 3);
});

test("log - isUpToDate compares last term first, then last index (§5.4.1)", () => {
  const log = new RaftLog(new MemoryStorage());
  log.append([e(1, 1), e(2, 2)]);
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(5, 1), false);
  assert.equal(log.isUpToDate(2, 2), true);
  assert.equal(log.isUpToDate(1, 2), false);
});

test("storage - compaction keeps term(firstIndex-1) and reports compacted and unavailable ranges", () => {
  const s = new MemoryStorage();
  s.append([e(1, 1), e(1, 2), e(2, 3), e(2, 4)]);
  s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array([1]));
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.term(3), 2);
  assert.ok(isStorageError(catchErr(() => s.entries(2, 4, 100)), StorageErrorCode.Compacted));
  assert.ok(isStorageError(catchErr(() => s.entries(4, 9, 100)), StorageErrorCode.Unavailable));
  s.append([e(3, 4)]);
  assert.equal(s.term(4), 3, "appending replaces from the first new index");
});

test("inflights - bounded by count and bytes; freeLE releases acknowledged messages in order", () => {
  const inf = new Inflights(3, 100);
  inf.add(1, 10);
  inf.add(2, 10);
  assert.equal(inf.full(), false);
  inf.add(3, 10);
  assert.equal(inf.full(), true);
  inf.freeLE(2);
  assert.equal(inf.count, 1);
  assert.equal(inf.bytes, 10);
  inf.add(4, 95);
  assert.equal(inf.full(), true, "bytes limit");
  inf.freeFirstOne();
  assert.equal(inf.count, 1);
  inf.freeLE(10);
  assert.equal(inf.count, 0);
  for (let i = 0; i < 10; i++) {
    inf.add(10 + i, 1);
    inf.freeLE(10 + i);
  }
  assert.equal(inf.count, 0, "wraps around the ring");
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
