import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Entry } from "../../../src/raft/messages.ts";
import { EntryType } from "../../../src/raft/messages.ts";
import { nodeFileSystem } from "../../../src/storage/file-system.ts";
import { INLINE_WRITE_MAX_BYTES, WriteAheadLog } from "../../../src/storage/wal.ts";
import { MemoryFileSystem } from "./memory-file-system.ts";

// `inline` appends (a follower's small log writes) are written and flushed on the calling
// thread. They must be exactly as durable as the thread-pool path: acknowledged means on disk.

const DIR = "/data/wal";

function entries(from: number, to: number, bytes = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term: 1, index: i, type: EntryType.Normal, data: new Uint8Array(bytes).fill(i % 251) });
  return out;
}

const indexes = (es: readonly Entry[]): number[] => es.map((e) => e.index);

/** Whether `p` settles before the event loop's next check phase (no thread-pool round trip). */
async function settlesWithinTurn(p: Promise<void>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  const atNextTurn = new Promise<boolean>((resolve) => setImmediate(() => resolve(settled)));
  await p;
  return atNextTurn;
}

test("wal inline - a small inline append on the real disk is acknowledged within the turn and survives a reopen", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-wal-inline-"));
  try {
    const { wal } = await WriteAheadLog.open(nodeFileSystem, dir);
    await wal.append(entries(1, 1)); // creates the segment (a thread-pool write)
    for (let i = 2; i <= 20; i++) assert.equal(await settlesWithinTurn(wal.append(entries(i, i), { commit: i - 1, inline: true })), true, `append ${i}`);
    assert.equal(wal.stats.inlineBatches, 19);
    // Not inline: the same small append goes through the thread pool and is not counted as
    // an inline batch. (Whether the pool's answer lands before the next check phase depends on
    // the disk's speed, so the turn is not asserted here.)
    await wal.append(entries(21, 21));
    assert.equal(wal.stats.inlineBatches, 19);
    await wal.close();
    const { wal: again, recovered } = await WriteAheadLog.open(nodeFileSystem, dir);
    assert.deepEqual(indexes(recovered.entries), Array.from({ length: 21 }, (_, i) => i + 1));
    assert.equal(recovered.commit, 19);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("wal inline - every acknowledged entry is in the log after the writer is killed with SIGKILL", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-wal-inline-kill-"));
  const script = fileURLToPath(new URL("./wal-inline-writer-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, dir], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let acked = 0;
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child acknowledged only ${acked} entries in 60 s: ${stderr}`)), 60_000);
      child.stdout.on("data", (c: Buffer) => {
        const lines = c.toString().trim().split("\n");
        acked = Math.max(acked, Number(lines[lines.length - 1]));
        if (acked >= 200) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.once("exit", () => {
        clearTimeout(timer);
        if (acked < 200) reject(new Error(`child exited after ${acked} entries: ${stderr}`));
      });
    });
    await exited;
    const { wal, recovered } = await WriteAheadLog.open(nodeFileSystem, dir);
    assert.ok(recovered.entries.length >= acked, `${recovered.entries.length} entries recovered, ${acked} acknowledged`);
    assert.deepEqual(indexes(recovered.entries).slice(0, acked), Array.from({ length: acked }, (_, i) => i + 1));
    assert.equal(new TextDecoder().decode(recovered.entries[acked - 1].data), `entry-${acked}`);
    await wal.close();
  } finally {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});

test("wal inline - acknowledged inline appends survive a power loss; a large batch still goes through the thread pool", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 1));
  for (let i = 2; i <= 10; i++) await wal.append(entries(i, i), { inline: true });
  assert.equal(fs.inlineWrites, 9);
  await wal.append(entries(11, 11, INLINE_WRITE_MAX_BYTES + 1), { inline: true });
  assert.equal(fs.inlineWrites, 9, "a batch over the limit is not written on the calling thread");
  fs.crash();
  const { wal: again, recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), Array.from({ length: 11 }, (_, i) => i + 1));
  await again.close();
});

test("wal inline - a failed inline flush rejects the append and every later one", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 1));
  fs.failNextSync = true;
  await assert.rejects(wal.append(entries(2, 2), { inline: true }), /EIO/);
  await assert.rejects(wal.append(entries(3, 3), { inline: true }), /an earlier write failed/);
  fs.crash();
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), [1]);
});
