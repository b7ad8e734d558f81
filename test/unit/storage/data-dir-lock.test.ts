import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE_NAME, lockDataDir } from "../../../src/storage/data-dir-lock.ts";
import { isDiskStorageError, DiskErrorCode } from "../../../src/storage/storage-errors.ts";

const fresh = (): string => mkdtempSync(join(tmpdir(), "consulate-lockunit-"));

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid ?? 999_999;
}

test("the lock names its holder, refuses a second taker in the same process, and is released", async () => {
  const dir = fresh();
  const lock = await lockDataDir(dir);
  const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")) as { pid: number; host: string };
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.host, hostname());
  await assert.rejects(lockDataDir(dir), (err) => isDiskStorageError(err, DiskErrorCode.DataDirLocked));
  await lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE_NAME)), false);
  const again = await lockDataDir(dir);
  await again.release();
});

test("a live holder on this host is refused with its pid; a dead one (kill -9) is taken over", async () => {
  const dir = fresh();
  const path = join(dir, LOCK_FILE_NAME);
  const parent = process.ppid;
  writeFileSync(path, JSON.stringify({ pid: parent, host: hostname(), started: "" }));
  await assert.rejects(lockDataDir(dir), (err: Error) => {
    assert.ok(isDiskStorageError(err, DiskErrorCode.DataDirLocked));
    assert.match(err.message, new RegExp(`data dir .* is in use by another agent \\(pid ${parent}\\)`));
    return true;
  });
  writeFileSync(path, JSON.stringify({ pid: await deadPid(), host: hostname(), started: "" }));
  const lock = await lockDataDir(dir);
  assert.equal((JSON.parse(readFileSync(path, "utf8")) as { pid: number }).pid, process.pid);
  await lock.release();
});

test("a reused pid (other start time), our own pid from an earlier life, and a torn lock file are stale", async () => {
  const dir = fresh();
  const path = join(dir, LOCK_FILE_NAME);
  for (const content of [
    JSON.stringify({ pid: process.ppid, host: hostname(), started: "1" }),
    JSON.stringify({ pid: process.pid, host: hostname(), started: "" }),
    "",
  ]) {
    writeFileSync(path, content);
    const lock = await lockDataDir(dir);
    await lock.release();
  }
});

test("a lock written on another host is never taken over (its holder cannot be checked)", async () => {
  const dir = fresh();
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: 1, host: "elsewhere.example", started: "" }));
  await assert.rejects(lockDataDir(dir), /pid 1 on host elsewhere\.example.*remove .*consulate\.lock/);
});
