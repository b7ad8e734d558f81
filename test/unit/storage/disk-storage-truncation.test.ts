import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../../src/raft/messages.ts";
import { EntryType } from "../../../src/raft/messages.ts";
import type { Logger } from "../../../src/runtime/logger.ts";
import { DiskStorage } from "../../../src/storage/disk-storage.ts";
import { StableStore } from "../../../src/storage/stable-store.ts";
import { DiskErrorCode, isDiskStorageError } from "../../../src/storage/storage-errors.ts";
import { FakeClock } from "../session/fixtures.ts";
import { MemoryFileSystem } from "./memory-file-system.ts";

// Issue 12 item 5: a log cut behind the recorded commit index must not start silently.

const bootstrap = { voters: [1], learners: [] };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: EntryType.Normal, data: new Uint8Array(200).fill(i & 255) });
  return out;
}

function recordingLogger(lines: { level: string; msg: string; fields?: Record<string, unknown> }[]): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const logger = { trace: log("trace"), debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), named: () => logger };
  return logger as unknown as Logger;
}

async function cutNewestSegmentInHalf(dir: string): Promise<void> {
  const walDir = join(dir, "wal");
  const newest = (await readdir(walDir)).filter((n) => n.endsWith(".wal")).sort().at(-1);
  assert.ok(newest);
  const path = join(walDir, newest);
  await truncate(path, Math.floor((await stat(path)).size / 2) + 3);
}

test("a log cut behind the recorded commit index is refused (acknowledged entries missing), logged at WARN with the torn size", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-cut-"));
  try {
    const storage = await DiskStorage.open(dir, { bootstrap });
    await storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 40, 1) });
    await storage.persist({ hardState: { term: 1, vote: 1, commit: 40 }, entries: [] });
    await storage.close();
    await cutNewestSegmentInHalf(dir);

    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    await assert.rejects(DiskStorage.open(dir, { bootstrap, logger: recordingLogger(lines) }), (err: Error) => {
      assert.ok(isDiskStorageError(err, DiskErrorCode.CommittedEntriesMissing));
      assert.match(err.message, /acknowledged entries are missing: the commit index on disk is 40 but the Raft log in .* ends at \d+/);
      return true;
    });
    const torn = lines.find((l) => l.level === "warn" && /torn write/.test(l.msg));
    assert.ok(torn, "the torn tail is logged at WARN");
    assert.ok(typeof torn.fields?.bytes === "number" && torn.fields.bytes > 0, "with its size");

    // The operator's flag accepts the loss, once: it is recorded, so a plain open works after.
    const recovered = await DiskStorage.open(dir, { bootstrap, recoverTruncatedLog: true });
    const last = recovered.lastIndex();
    assert.ok(last < 40 && last > 0);
    assert.deepEqual(recovered.recovery.missingCommitted, { commit: 40, lastIndex: last });
    assert.equal(recovered.initialState().hardState.commit, last);
    await recovered.close();
    const plain = await DiskStorage.open(dir, { bootstrap });
    assert.equal(plain.lastIndex(), last);
    await plain.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a torn tail within what was never committed is cut with a WARN and the server starts", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-cut-"));
  try {
    const storage = await DiskStorage.open(dir, { bootstrap });
    await storage.persist({ hardState: { term: 1, vote: 1, commit: 0 }, entries: entries(1, 40, 1) });
    await storage.close();
    await cutNewestSegmentInHalf(dir);
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const again = await DiskStorage.open(dir, { bootstrap, logger: recordingLogger(lines) });
    assert.ok(again.recovery.tornBytes > 0);
    assert.ok(lines.some((l) => l.level === "warn" && l.fields?.bytes === again.recovery.tornBytes));
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the commit index is checkpointed to the hardstate file within commitCheckpointMs, never past the durable log", async () => {
  const fs = new MemoryFileSystem();
  const clock = new FakeClock();
  const storage = await DiskStorage.open("/d", { fs, bootstrap, clock, commitCheckpointMs: 1000 });
  // The memory file system settles in microtasks: one macrotask turn lets a checkpoint finish.
  const onDisk = async (): Promise<number> => {
    await new Promise((resolve) => setImmediate(resolve));
    return (await new StableStore(fs, "/d").load()).commit;
  };
  // A term/vote save in the same Ready as entries 1..5 committing them does not claim them.
  await storage.persist({ hardState: { term: 2, vote: 1, commit: 5 }, entries: entries(1, 5, 2) });
  await clock.advance(0);
  assert.equal(await onDisk(), 5, "after the entries are durable the first checkpoint records commit 5");
  await storage.persist({ hardState: { term: 2, vote: 1, commit: 9 }, entries: entries(6, 9, 2) });
  await clock.advance(0);
  assert.equal(await onDisk(), 5, "at most one checkpoint per interval");
  await clock.advance(1000);
  assert.equal(await onDisk(), 9, "the trailing checkpoint records the last commit once the interval passed");
  await storage.close();
});

test("a term/vote save records only a commit index whose entries are already durable", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open("/d", { fs, bootstrap });
  await storage.persist({ hardState: { term: 3, vote: 1, commit: 4 }, entries: entries(1, 4, 3) });
  assert.equal((await new StableStore(fs, "/d").load()).commit, 0);
  await storage.persist({ hardState: { term: 4, vote: 1, commit: 4 }, entries: [] });
  assert.equal((await new StableStore(fs, "/d").load()).commit, 4);
  await storage.close();
});

test("a commit learned after the last persisted Ready is recorded at close, never past the durable log", async () => {
  const fs = new MemoryFileSystem();
  const storage = await DiskStorage.open("/d", { fs, bootstrap });
  // The leader's entries 1..6 are durable, but the Ready that carried commit 6 never came (the
  // node closed first): the core's commit reaches the storage through noteCommit.
  await storage.persist({ hardState: { term: 2, vote: 1, commit: 2 }, entries: entries(1, 6, 2) });
  storage.noteCommit(6);
  await storage.close();
  const again = await DiskStorage.open("/d", { fs, bootstrap });
  assert.equal(again.initialState().hardState.commit, 6, "a clean restart applies every committed entry at once");
  // A commit beyond the durable log (the leader learned it while its own write was in flight)
  // is recorded only as far as the log goes: recording more would read as lost entries.
  again.noteCommit(9);
  await again.close();
  const third = await DiskStorage.open("/d", { fs, bootstrap });
  assert.equal(third.initialState().hardState.commit, 6);
  assert.equal(third.recovery.missingCommitted, undefined);
  await third.close();
});
