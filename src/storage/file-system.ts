import { closeSync, constants, openSync, writevSync } from "node:fs";
import { makeDirectory } from "./make-directory.ts";
import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

// Storage talks to the disk only through this facade, so tests can swap in a file system that
// forgets everything not fsynced (and tears the last write) when it "crashes".

export interface WritableFile {
  /** Writes all of `chunks` back to back starting at byte `position`. */
  writeAt(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes every byte written so far (and the file size) durable. */
  sync(): Promise<void>;
  /**
   * writeAt and sync in one step, for a file with no other unsynced writes: the bytes written
   * (and the size) are durable when it resolves. One trip to the thread pool instead of two.
   */
  writeDurablyAt(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /**
   * writeDurablyAt on the calling thread: blocks it for the write and the flush (~0.2 ms for
   * a small record on the disk we measured) instead of two thread hand-offs (to the pool and
   * back), each of which waits for a free core when the machine is busy.
   */
  writeDurablyAtNow(chunks: readonly Uint8Array[], position: number): void;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  mkdirp(dir: string): Promise<void>;
  /** Names in `dir`, or [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  /** The whole file, or undefined when it does not exist. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Opens for writing, creating an empty file if needed; `size` is the current length. */
  openWritable(path: string, options: { truncate: boolean }): Promise<{ file: WritableFile; size: number }>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Makes creations, renames and removals inside `dir` durable. */
  syncDir(dir: string): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "ENOENT";
}

class NodeWritableFile implements WritableFile {
  readonly #handle: FileHandle;
  readonly #path: string;
  /** The same file opened O_DSYNC (each write returns durable, as write + fdatasync), on first use. */
  #durable: Promise<FileHandle> | undefined;
  /** The same again as a plain descriptor, for writeDurablyAtNow (opened on first use). */
  #durableFd: number | undefined;

  constructor(handle: FileHandle, path: string) {
    this.#handle = handle;
    this.#path = path;
  }

  writeAt(chunks: readonly Uint8Array[], position: number): Promise<void> {
    return writeAllAt(this.#handle, chunks, position);
  }

  async writeDurablyAt(chunks: readonly Uint8Array[], position: number): Promise<void> {
    this.#durable ??= open(this.#path, constants.O_WRONLY | constants.O_DSYNC);
    await writeAllAt(await this.#durable, chunks, position);
  }

  writeDurablyAtNow(chunks: readonly Uint8Array[], position: number): void {
    this.#durableFd ??= openSync(this.#path, constants.O_WRONLY | constants.O_DSYNC);
    const fd = this.#durableFd;
    let pending = chunks.filter((c) => c.byteLength > 0);
    let at = position;
    while (pending.length > 0) {
      const written = writevSync(fd, pending, at);
      at += written;
      pending = dropWritten(pending, written);
    }
  }

  sync(): Promise<void> {
    return this.#handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.#handle.truncate(length);
  }

  async close(): Promise<void> {
    const durable = this.#durable;
    this.#durable = undefined;
    const durableFd = this.#durableFd;
    this.#durableFd = undefined;
    if (durableFd !== undefined) closeSync(durableFd);
    if (durable) await (await durable).close();
    await this.#handle.close();
  }
}

async function writeAllAt(handle: FileHandle, chunks: readonly Uint8Array[], position: number): Promise<void> {
  let pending = chunks.filter((c) => c.byteLength > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    at += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
}

/** What is left of `pending` after the kernel wrote its first `written` bytes. */
function dropWritten(pending: Uint8Array[], written: number): Uint8Array[] {
  // Short writes are rare on regular files but legal; resume where the kernel stopped.
  let skip = written;
  let rest = pending;
  while (rest.length > 0 && skip >= rest[0].byteLength) {
    skip -= rest[0].byteLength;
    rest = rest.slice(1);
  }
  if (skip > 0) rest = [rest[0].subarray(skip), ...rest.slice(1)];
  return rest;
}

export const nodeFileSystem: FileSystem = {
  async mkdirp(dir) {
    await makeDirectory(dir);
  },
  async list(dir) {
    try {
      return await readdir(dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  },
  async read(path) {
    try {
      return await readFile(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  async openWritable(path, options) {
    const handle = await open(path, options.truncate ? "w+" : "a+");
    // "a+" would force every write to the end; reopen as r+ so positioned writes land where asked.
    if (!options.truncate) {
      await handle.close();
      const rw = await open(path, "r+");
      const { size } = await rw.stat();
      return { file: new NodeWritableFile(rw, path), size };
    }
    return { file: new NodeWritableFile(handle, path), size: 0 };
  },
  async rename(from, to) {
    await rename(from, to);
  },
  async remove(path) {
    try {
      await unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
  async syncDir(dir) {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Parent directory of a path inside the data dir (re-exported so callers need no node:path). */
export function parentDir(path: string): string {
  return dirname(path);
}
