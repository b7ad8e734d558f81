import { test } from "node:test";
import assert from "node:assert/strict";
import { StableStore } from "../../../src/storage/stable-store.ts";
import { SnapshotStore } from "../../../src/storage/snapshot-store.ts";
import { DiskErrorCode, isDiskStorageError } from "../../../src/storage/storage-errors.ts";
import { MemoryFileSystem } from "./memory-file-system.ts";

test("stable store - hard state saved atomically survives a crash", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  const store = new StableStore(fs, "/data");
  assert.deepEqual(await store.load(), { term: 0, vote: 0, commit: 0 });
  await store.save({ term: 3, vote: 2, commit: 7 });
  fs.crash();
  assert.deepEqual(await new StableStore(fs, "/data").load(), { term: 3, vote: 2, commit: 7 });
});

test("stable store - a crash before the rename is durable keeps the previous hard state", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  const store = new StableStore(fs, "/data");
  await store.save({ term: 1, vote: 1, commit: 0 });
  const syncDir = fs.syncDir.bind(fs);
  // The new file is written, synced and renamed, but power fails before the directory sync.
  fs.syncDir = async () => {};
  await store.save({ term: 2, vote: 3, commit: 0 });
  fs.syncDir = syncDir;
  fs.crash();
  assert.deepEqual(await new StableStore(fs, "/data").load(), { term: 1, vote: 1, commit: 0 });
});

test("stable store - a hard state that fails its checksum is refused", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  await new StableStore(fs, "/data").save({ term: 5, vote: 1, commit: 4 });
  fs.corrupt("/data/hardstate", 5);
  await assert.rejects(new StableStore(fs, "/data").load(), (err: unknown) => isDiskStorageError(err, DiskErrorCode.StableStoreCorrupt));
});

test("snapshot store - the newest snapshot loads back and older ones beyond retain are removed", async () => {
  const fs = new MemoryFileSystem();
  const store = new SnapshotStore(fs, "/data/snapshots", { retain: 2 });
  assert.equal(await store.loadNewest(), undefined);
  for (const index of [10, 20, 30]) {
    await store.save({ data: new Uint8Array([index, 1, 2]), metadata: { index, term: 2, confState: { voters: [1, 2, 3], learners: [4] } } });
  }
  assert.equal((await fs.list("/data/snapshots")).filter((n) => n.endsWith(".snap")).length, 2);
  fs.crash();
  const snap = await new SnapshotStore(fs, "/data/snapshots").loadNewest();
  assert.deepEqual(snap?.metadata, { index: 30, term: 2, confState: { voters: [1, 2, 3], learners: [4] } });
  assert.deepEqual([...(snap?.data ?? [])], [30, 1, 2]);
});

test("snapshot store - a corrupt newest snapshot is refused, not skipped", async () => {
  const fs = new MemoryFileSystem();
  const store = new SnapshotStore(fs, "/data/snapshots");
  await store.save({ data: new Uint8Array(100).fill(9), metadata: { index: 5, term: 1, confState: { voters: [1], learners: [] } } });
  const [name] = await fs.list("/data/snapshots");
  fs.corrupt(`/data/snapshots/${name}`, 50);
  await assert.rejects(store.loadNewest(), (err: unknown) => isDiskStorageError(err, DiskErrorCode.SnapshotCorrupt));
});
