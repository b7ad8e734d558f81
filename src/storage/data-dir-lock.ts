import { makeDirectory } from "./make-directory.ts";
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";

// One agent per data dir (Consul's raft.db holds a bolt flock for the same reason). Node has
// no flock, so the lock is a file, `<data-dir>/consulate.lock`, naming its holder: pid, host
// and the process's start time. It is created complete in one step (write a candidate file,
// then link(2) it to the lock name, which fails if the name exists), so a reader never sees a
// half-written holder.
//
// Why not a time-based lock (proper-lockfile's mtime refresh): a holder that is paused
// (SIGSTOP, a VM freeze) stops refreshing and loses the lock while it still writes the WAL —
// the very double-writer this prevents. A pid lock is never stolen from a live process; after
// kill -9 the pid is dead and the next agent takes the lock over at once.
//
// A holder is alive when, on this host, its pid exists and (where /proc tells) it is the same
// process that wrote the lock, not an unrelated one that reused the pid. A pid equal to ours
// is stale unless this very process holds the lock (a container restarted as pid 1 again). A
// lock written on another host cannot be checked (NFS, two containers sharing a volume) and
// is kept: the error names the file so an operator who knows that agent is gone removes it.

export const LOCK_FILE_NAME = "consulate.lock";

interface Holder {
  pid: number;
  host: string;
  /** Linux /proc/<pid>/stat start time (clock ticks after boot); "" where unknown. */
  started: string;
}

/** Lock files this process holds, so a second agent in the same process is refused too. */
const heldHere = new Set<string>();

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

/**
 * Takes the data dir's lock or throws DiskStorageError (code data-dir-locked) naming the dir
 * and the live holder's pid. A stale lock (its holder is gone) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  // Not Node's recursive mkdir: it spins forever on paths like /proc/x (make-directory.ts).
  await makeDirectory(dir);
  const path = join(dir, LOCK_FILE_NAME);
  if (heldHere.has(path)) throw lockedError(dir, path, { pid: process.pid, host: hostname(), started: "" });
  const self: Holder = { pid: process.pid, host: hostname(), started: await processStartTime(process.pid) };
  const text = JSON.stringify(self) + "\n";
  const candidate = `${path}.${process.pid}.candidate`;
  await writeFile(candidate, text, { mode: 0o644 });
  try {
    // A few rounds: each either takes the lock, refuses, or clears one stale holder.
    for (let round = 0; round < 5; round++) {
      try {
        await link(candidate, path);
        heldHere.add(path);
        return { path, release: () => releaseLock(path, text) };
      } catch (err) {
        if (errorCode(err) !== "EEXIST") throw err;
      }
      const found = await readLock(path);
      if (found === "missing") continue;
      if (found !== "garbage" && (await holderAlive(found, self))) throw lockedError(dir, path, found);
      await clearStale(path, found);
    }
    throw new DiskStorageError(DiskErrorCode.DataDirLocked, `data dir ${dir} is contended: could not take ${path}; is another agent starting on it?`, { file: path });
  } finally {
    await unlink(candidate).catch(() => undefined);
  }
}

async function releaseLock(path: string, ours: string): Promise<void> {
  heldHere.delete(path);
  const now = await readFile(path, "utf8").catch(() => undefined);
  if (now === ours) await unlink(path).catch(() => undefined);
}

/**
 * Removes a stale lock without racing another agent that replaced it meanwhile: move it aside
 * (atomic), and if what was moved is not the stale holder we judged, put it back. (Only a
 * third agent linking its own lock in that instant could still slip in; three agents starting
 * on one dir at the same moment after a crash is not a case we guard further.)
 */
async function clearStale(path: string, judged: Holder | "garbage"): Promise<void> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return;
    throw err;
  }
  const moved = await readLock(aside);
  const same = judged === "garbage" ? moved === "garbage" : typeof moved === "object" && sameHolder(moved, judged);
  if (!same) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

async function readLock(path: string): Promise<Holder | "missing" | "garbage"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (errorCode(err) === "ENOENT") return "missing";
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<Holder>;
    if (typeof v.pid === "number" && Number.isSafeInteger(v.pid) && v.pid > 0 && typeof v.host === "string" && typeof v.started === "string") {
      return { pid: v.pid, host: v.host, started: v.started };
    }
  } catch {
    // fall through: a lock no live holder could have written (it is created complete)
  }
  return "garbage";
}

function sameHolder(a: Holder, b: Holder): boolean {
  return a.pid === b.pid && a.host === b.host && a.started === b.started;
}

async function holderAlive(holder: Holder, self: Holder): Promise<boolean> {
  if (holder.host !== self.host) return true;
  if (holder.pid === self.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but belongs to another user — alive.
    if (errorCode(err) !== "EPERM") return false;
  }
  if (holder.started === "") return true;
  const started = await processStartTime(holder.pid);
  return started === "" || started === holder.started;
}

/** The process's start time from /proc (Linux); "" where there is no /proc. */
async function processStartTime(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 2 (the command) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

function lockedError(dir: string, path: string, holder: Holder): DiskStorageError {
  const where = holder.host === hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
  return new DiskStorageError(
    DiskErrorCode.DataDirLocked,
    `data dir ${dir} is in use by another agent (${where}); refusing to start. Stop that agent, or use another -data-dir. If it is gone, remove ${path}.`,
    { file: path },
  );
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
}
