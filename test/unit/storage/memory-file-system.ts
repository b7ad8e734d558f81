import { dirname } from "node:path";
import type { FileSystem, WritableFile } from "../../../src/storage/file-system.ts";

// A file system in memory that knows what is durable: file contents become durable on sync(),
// names (creations, renames, removals) on syncDir() of their directory. crash() throws away
// everything else, optionally keeping part of each file's unsynced tail to model a torn write.

interface Inode {
  data: Uint8Array;
  durable: Uint8Array;
}

export class MemoryFileSystem implements FileSystem {
  #names = new Map<string, Inode>();
  #durableNames = new Map<string, Inode>();
  readonly #dirs = new Set<string>();
  fsyncs = 0;
  /** writeDurablyAtNow calls (writes made durable on the calling thread). */
  inlineWrites = 0;
  dirSyncs = 0;
  /** Set to make the next file sync fail with EIO. */
  failNextSync = false;

  async mkdirp(dir: string): Promise<void> {
    for (let d = dir; d !== "/" && d !== "."; d = dirname(d)) this.#dirs.add(d);
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    return [...this.#names.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/")).map((p) => p.slice(prefix.length));
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const inode = this.#names.get(path);
    return inode ? inode.data.slice() : undefined;
  }

  async openWritable(path: string, options: { truncate: boolean }): Promise<{ file: WritableFile; size: number }> {
    if (!this.#dirs.has(dirname(path))) throw Object.assign(new Error(`ENOENT: ${dirname(path)}`), { code: "ENOENT" });
    let inode = this.#names.get(path);
    if (!inode) {
      inode = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.#names.set(path, inode);
    }
    if (options.truncate) inode.data = new Uint8Array(0);
    const node = inode;
    const syncNow = (): void => {
      if (this.failNextSync) {
        this.failNextSync = false;
        throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
      }
      this.fsyncs++;
      node.durable = node.data.slice();
    };
    const sync = async (): Promise<void> => syncNow();
    const writeNow = (chunks: readonly Uint8Array[], position: number): void => {
      const total = chunks.reduce((n, c) => n + c.byteLength, 0);
      const next = new Uint8Array(Math.max(node.data.byteLength, position + total));
      next.set(node.data);
      let at = position;
      for (const c of chunks) {
        next.set(c, at);
        at += c.byteLength;
      }
      node.data = next;
    };
    const file: WritableFile = {
      writeDurablyAt: async (chunks, position) => {
        await file.writeAt(chunks, position);
        await sync();
      },
      writeDurablyAtNow: (chunks, position) => {
        this.inlineWrites++;
        writeNow(chunks, position);
        syncNow();
      },
      writeAt: async (chunks, position) => writeNow(chunks, position),
      sync,
      truncate: async (length) => {
        node.data = node.data.slice(0, length);
      },
      close: async () => {},
    };
    return { file, size: inode.data.byteLength };
  }

  async rename(from: string, to: string): Promise<void> {
    const inode = this.#names.get(from);
    if (!inode) throw Object.assign(new Error(`ENOENT: ${from}`), { code: "ENOENT" });
    this.#names.delete(from);
    this.#names.set(to, inode);
  }

  async remove(path: string): Promise<void> {
    this.#names.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.dirSyncs++;
    const inDir = (p: string): boolean => dirname(p) === dir;
    for (const p of [...this.#durableNames.keys()]) if (inDir(p) && !this.#names.has(p)) this.#durableNames.delete(p);
    for (const [p, inode] of this.#names) if (inDir(p)) this.#durableNames.set(p, inode);
  }

  /**
   * Power loss: only durable names and contents survive. `keepUnsyncedBytes` keeps that many
   * bytes of each file's unsynced appended tail (a torn write).
   */
  crash(options: { keepUnsyncedBytes?: number } = {}): void {
    const keep = options.keepUnsyncedBytes ?? 0;
    const survivors = new Map<string, Inode>();
    for (const [p, inode] of this.#durableNames) {
      let data = inode.durable.slice();
      const extendsDurable = inode.data.byteLength > data.byteLength && startsWith(inode.data, data);
      if (keep > 0 && extendsDurable) data = inode.data.slice(0, Math.min(inode.data.byteLength, data.byteLength + keep));
      const survivor = { data, durable: data.slice() };
      survivors.set(p, survivor);
    }
    this.#names = survivors;
    this.#durableNames = new Map(survivors);
  }

  /** Test hook: flips one byte of a file in place (bit rot), durably. */
  corrupt(path: string, offset: number): void {
    const inode = this.#names.get(path);
    if (!inode) throw new Error(`no file ${path}`);
    inode.data[offset] ^= 0xff;
    inode.durable = inode.data.slice();
  }

  paths(): string[] {
    return [...this.#names.keys()].sort();
  }

  size(path: string): number {
    return this.#names.get(path)?.data.byteLength ?? -1;
  }
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.byteLength > data.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (data[i] !== prefix[i]) return false;
  return true;
}
