import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../../src/raft/messages.ts";
import { EntryType } from "../../../src/raft/messages.ts";
import { StorageErrorCode, isStorageError } from "../../../src/raft/storage.ts";
import { DiskStorage } from "../../../src/storage/disk-storage.ts";
import { MemoryFileSystem } from "./memory-file-system.ts";

const DIR = "/data";
const bootstrap = { voters: [1, 2, 3], learners: [] };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: EntryType.Normal, data: new Uint8Array([i & 255]) });
  return out;
}

test("disk storage - a persisted Ready is readable by raft at once and after a restart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-disk-"));
  try {
    const storage = await DiskStorage.open(dir, { bootstrap });
    assert.equal(storage.lastIndex(), 0);
    await storage.persist({ hardState: { term: 2, vote: 1, commit: 0 }, entries: entries(1, 3, 2) });
    await storage.persist({ hardState: { term: 2, vote: 1, commit: 3 }, entries: [] });
    assert.equal(storage.lastIndex(), 3);
    assert.equal(storage.term(2), 2);
    await storage.close();
    const again = await DiskStorage.open(dir, { bootstrap });
    assert.deepEqual(again.initialState(), { hardState: { term: 2, vote: 1, commit: 3 }, confState: bootstrap });
    assert.deepEqual(
      again.entries(1, 4, Infinity).map((e) => e.index),
      [1, 2, 3],
    );
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("disk storage - new entries from a new leader replace a conflicting suffix", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open(DIR, { fs, bootstrap });
  await storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 5, 1) });
  await storage.persist({ hardState: { term: 2, vote: 0, commit: 2 }, entries: entries(3, 4, 2) });
  assert.equal(storage.lastIndex(), 4);
  fs.crash();
  const again = await DiskStorage.open(DIR, { fs, bootstrap });
  assert.deepEqual(
    again.entries(1, 5, Infinity).map((e) => [e.index, e.term]),
    [
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
    ],
  );
  assert.equal(again.initialState().hardState.term, 2);
});

test("disk storage - term and vote are durable before persist resolves; a crash before fsync loses only unacknowledged state", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open(DIR, { fs, bootstrap });
  await storage.persist({ hardState: { term: 4, vote: 2, commit: 0 }, entries: [] });
  const pending = storage.persist({ hardState: { term: 4, vote: 2, commit: 0 }, entries: entries(1, 3, 4) });
  fs.crash(); // power fails before the entries' write reached the disk
  await pending.catch(() => {});
  const again = await DiskStorage.open(DIR, { fs, bootstrap });
  assert.deepEqual(again.initialState().hardState, { term: 4, vote: 2, commit: 0 });
  assert.ok(again.lastIndex() === 0 || again.lastIndex() === 3);
});

test("disk storage - installing a snapshot replaces the log and survives a restart", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open(DIR, { fs, bootstrap });
  await storage.persist({ hardState: { term: 1, vote: 1, commit: 3 }, entries: entries(1, 3, 1) });
  const snapshot = { data: new Uint8Array([7, 7]), metadata: { index: 50, term: 3, confState: { voters: [1, 2, 3, 4], learners: [] } } };
  await storage.persist({ hardState: { term: 3, vote: 0, commit: 50 }, entries: [], snapshot });
  await storage.persist({ entries: entries(51, 52, 3) });
  fs.crash();
  const again = await DiskStorage.open(DIR, { fs, bootstrap });
  assert.equal(again.firstIndex(), 51);
  assert.equal(again.lastIndex(), 52);
  assert.equal(again.term(50), 3);
  assert.deepEqual(again.initialState().confState.voters, [1, 2, 3, 4]);
  assert.throws(() => again.entries(3, 4, Infinity), (err: unknown) => isStorageError(err, StorageErrorCode.Compacted));
});

test("disk storage - a snapshot plus compaction keeps the log after the snapshot", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open(DIR, { fs, bootstrap, wal: { segmentBytes: 64 } });
  for (let i = 1; i <= 40; i += 4) await storage.persist({ hardState: { term: 1, vote: 1, commit: i + 3 }, entries: entries(i, i + 3, 1) });
  await storage.createSnapshot(30, bootstrap, new Uint8Array([30]));
  await storage.compact(30);
  assert.equal(storage.firstIndex(), 31);
  fs.crash();
  const again = await DiskStorage.open(DIR, { fs, bootstrap });
  assert.equal(again.snapshot().metadata.index, 30);
  assert.equal(again.firstIndex(), 31);
  assert.equal(again.lastIndex(), 40);
  assert.equal(again.initialState().hardState.commit, 40);
});

test("disk storage - many entries in one Ready cost one log fsync (group commit)", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open(DIR, { fs, bootstrap });
  await storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [] });
  const before = storage.walStats.fsyncs;
  await storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 256, 1) });
  assert.equal(storage.walStats.fsyncs - before, 1);
  assert.equal(storage.lastIndex(), 256);
});
