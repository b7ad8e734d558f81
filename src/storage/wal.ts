import { join } from "node:path";
import type { Entry } from "../raft/messages.ts";
import type { FileSystem, WritableFile } from "./file-system.ts";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";
import { encodeRecordChunks, scanRecords } from "./wal-record.ts";

// A segmented write-ahead log of Raft entries. Segments are files named
// `<seq>-<first index>.wal` (16 hex digits each); only the newest one is written. Entries are
// strictly consecutive across the whole log: a conflicting suffix is removed physically
// (truncate + fsync) before new entries go in, so replay never has to resolve overwrites.
//
// Group commit: append() calls that arrive while a write+fsync is in flight queue up and are
// written together with one writev and one fsync, however many callers are waiting.

export interface WalOptions {
  /** A segment is closed once it grows past this; the next batch starts a new one. */
  segmentBytes: number;
}

export const defaultWalOptions: WalOptions = {
  segmentBytes: 64 * 1024 * 1024,
};

export interface RecoveredLog {
  /** Every entry in the log, consecutive. */
  entries: Entry[];
  /** The highest commit index recorded in the log (0 if none). */
  commit: number;
  /** Bytes cut off the end of the last segment because they were a torn write. */
  tornBytes: number;
  /** The segment file the torn bytes were cut from ("" when none were). */
  tornFile: string;
}

/**
 * Largest batch an `inline` append writes on the calling thread. Small enough that the block
 * is about one fsync (~0.2 ms measured here for a few hundred bytes); bigger batches keep
 * going through the thread pool so the caller's thread is not held while they are copied.
 */
export const INLINE_WRITE_MAX_BYTES = 32 * 1024;

export interface WalStats {
  fsyncs: number;
  /** Batches written and made durable on the calling thread (`inline` appends). */
  inlineBatches: number;
  batches: number;
  appendCalls: number;
}

interface Segment {
  seq: number;
  firstIndex: number;
  name: string;
}

type Op =
  | {
      kind: "append";
      /** The records of `entries` back to back, then a commit record if one was asked for (pieces of one write). */
      records: Uint8Array[];
      recordBytes: number;
      /** Size of each entry's record, for the per-entry offsets. */
      entryBytes: readonly number[];
      entries: readonly Entry[];
      sync: boolean;
      inline: boolean;
      resolve: () => void;
      reject: (err: unknown) => void;
    }
  | { kind: "exclusive"; run: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void };

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
const hex16 = (n: number): string => n.toString(16).padStart(16, "0");

function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

export class WriteAheadLog {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #options: WalOptions;
  /** Oldest first; the last one is open for writing once something has been written. */
  #segments: Segment[];
  #file: WritableFile | undefined;
  #fileSize = 0;
  /** Bytes were written to #file after its last fsync (a `sync: false` append). */
  #unsynced = false;
  /** Index of the first entry whose position is tracked below (0 while the log is empty). */
  #firstIndex: number;
  #lastIndex: number;
  /** For entry i: segment seq and byte offset of its record, at [i - #firstIndex]. */
  #entrySeq: number[] = [];
  #entryOffset: number[] = [];
  #queue: Op[] = [];
  #draining = false;
  #failed: unknown = undefined;
  #closed = false;
  readonly stats: WalStats = { fsyncs: 0, inlineBatches: 0, batches: 0, appendCalls: 0 };

  private constructor(fs: FileSystem, dir: string, options: WalOptions, segments: Segment[], firstIndex: number, lastIndex: number) {
    this.#fs = fs;
    this.#dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#firstIndex = firstIndex;
    this.#lastIndex = lastIndex;
  }

  /**
   * Opens (creating if needed) the log in `dir` and replays it. The unsynced tail of the
   * newest segment is truncated if torn; invalid data anywhere else throws a DiskStorageError.
   */
  static async open(fs: FileSystem, dir: string, options: Partial<WalOptions> = {}): Promise<{ wal: WriteAheadLog; recovered: RecoveredLog }> {
    await fs.mkdirp(dir);
    const segments = (await fs.list(dir))
      .map((name): Segment | undefined => {
        const m = SEGMENT_NAME.exec(name);
        return m ? { seq: parseInt(m[1], 16), firstIndex: parseInt(m[2], 16), name } : undefined;
      })
      .filter((s): s is Segment => s !== undefined)
      .sort((a, b) => a.seq - b.seq);

    const entries: Entry[] = [];
    const entrySeq: number[] = [];
    const entryOffset: number[] = [];
    let commit = 0;
    let tornBytes = 0;
    let tornFile = "";
    let lastSize = 0;
    const kept: Segment[] = [];
    for (let s = 0; s < segments.length; s++) {
      const seg = segments[s];
      const path = join(dir, seg.name);
      const bytes = (await fs.read(path)) ?? new Uint8Array(0);
      const scan = scanRecords(bytes);
      const isLast = s === segments.length - 1;
      if (scan.badOffset !== undefined) {
        if (!isLast || scan.validRecordAfterBad) {
          const where = isLast ? "valid records follow it" : "it is not the newest segment";
          throw new DiskStorageError(
            DiskErrorCode.WalCorrupt,
            `wal: ${scan.reason} in ${seg.name} at byte ${scan.badOffset}, and ${where}: refusing to start (only a torn tail is repaired)`,
            { file: path, offset: scan.badOffset },
          );
        }
        const { file } = await fs.openWritable(path, { truncate: false });
        await file.truncate(scan.badOffset);
        await file.sync();
        await file.close();
        tornBytes = bytes.byteLength - scan.badOffset;
        tornFile = path;
      }
      let firstInSegment = true;
      for (const { offset, record } of scan.records) {
        if (record.kind === "commit") {
          commit = Math.max(commit, record.commit);
          continue;
        }
        const e = record.entry;
        const prev = entries[entries.length - 1];
        if ((prev && e.index !== prev.index + 1) || (firstInSegment && e.index !== seg.firstIndex)) {
          const expected = prev ? prev.index + 1 : seg.firstIndex;
          throw new DiskStorageError(DiskErrorCode.WalGap, `wal: ${seg.name} holds entry ${e.index} where ${expected} was expected`, {
            file: path,
            offset,
          });
        }
        firstInSegment = false;
        entries.push(e);
        entrySeq.push(seg.seq);
        entryOffset.push(offset);
      }
      kept.push(seg);
      if (isLast) lastSize = scan.badOffset ?? bytes.byteLength;
    }

    const firstIndex = entries.length > 0 ? entries[0].index : 0;
    const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : 0;
    const wal = new WriteAheadLog(fs, dir, { ...defaultWalOptions, ...options }, kept, firstIndex, lastIndex);
    wal.#entrySeq = entrySeq;
    wal.#entryOffset = entryOffset;
    const last = kept[kept.length - 1];
    if (last) {
      wal.#file = (await fs.openWritable(join(dir, last.name), { truncate: false })).file;
      wal.#fileSize = lastSize;
    }
    return { wal, recovered: { entries, commit, tornBytes, tornFile } };
  }

  get firstIndex(): number {
    return this.#firstIndex;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Appends entries (which must continue the log: first index = lastIndex + 1, or any index
   * when the log is empty) and optionally a commit index. Resolves after the fsync; with
   * `sync: false` it resolves once written, and the data becomes durable with the next fsync.
   * `inline`: a small durable batch is written and flushed on the calling thread (blocking it
   * for about one fsync) instead of on the thread pool, so the promise settles within the
   * current turn — for a caller that has nothing else to do until the write is durable.
   */
  append(entries: readonly Entry[], options: { commit?: number; sync?: boolean; inline?: boolean } = {}): Promise<void> {
    const { chunks: records, byteLength: recordBytes, entryBytes } = encodeRecordChunks(entries, options.commit);
    this.stats.appendCalls++;
    const sync = options.sync ?? true;
    const inline = options.inline ?? false;
    return new Promise((resolve, reject) => {
      this.#enqueue({ kind: "append", records, recordBytes, entryBytes, entries, sync, inline, resolve, reject });
    });
  }

  /** Removes entry `index` and everything after it, durably. */
  truncateFrom(index: number): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#lastIndex === 0 || index > this.#lastIndex) return;
      if (index <= this.#firstIndex) {
        await this.#dropAll(index);
        return;
      }
      const at = index - this.#firstIndex;
      const seq = this.#entrySeq[at];
      const offset = this.#entryOffset[at];
      // Newest first, so a crash part-way leaves a prefix of the segments.
      while (this.#segments.length > 0 && this.#segments[this.#segments.length - 1].seq > seq) {
        await this.#removeNewestSegment();
      }
      if (!this.#file) this.#file = (await this.#fs.openWritable(this.#segmentPath(this.#currentSegment()), { truncate: false })).file;
      await this.#file.truncate(offset);
      await this.#sync(this.#file);
      this.#fileSize = offset;
      this.#entrySeq.length = at;
      this.#entryOffset.length = at;
      this.#lastIndex = index - 1;
    });
  }

  /** Deletes whole segments whose entries are all at or below `index` (covered by a snapshot). */
  compactTo(index: number): Promise<void> {
    return this.#exclusive(async () => {
      let removed = false;
      while (this.#segments.length > 1 && this.#segments[1].firstIndex <= index + 1 && this.#segments[1].firstIndex > 0) {
        const seg = this.#segments[0];
        const next = this.#segments[1];
        await this.#fs.remove(this.#segmentPath(seg));
        this.#segments.shift();
        const drop = Math.min(next.firstIndex - this.#firstIndex, this.#entrySeq.length);
        this.#entrySeq.splice(0, drop);
        this.#entryOffset.splice(0, drop);
        this.#firstIndex = next.firstIndex;
        removed = true;
      }
      if (removed) await this.#fs.syncDir(this.#dir);
    });
  }

  /** Empties the log so the next entry appended is `nextIndex` (after installing a snapshot). */
  reset(nextIndex: number): Promise<void> {
    return this.#exclusive(() => this.#dropAll(nextIndex));
  }

  /** Waits for queued writes, then closes the file. Further calls fail. */
  async close(): Promise<void> {
    await this.#exclusive(async () => {
      this.#closed = true;
      if (this.#file && this.#unsynced) await this.#sync(this.#file);
      await this.#file?.close();
      this.#file = undefined;
    });
  }

  #exclusive(run: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: "exclusive", run, resolve, reject }));
  }

  #enqueue(op: Op): void {
    if (this.#closed) {
      op.reject(new DiskStorageError(DiskErrorCode.Closed, "wal: closed"));
      return;
    }
    this.#queue.push(op);
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      if (head.kind === "exclusive") {
        this.#queue.shift();
        await this.#settle([head], head.run);
        continue;
      }
      const batch: Extract<Op, { kind: "append" }>[] = [];
      while (this.#queue.length > 0 && this.#queue[0].kind === "append") batch.push(this.#queue.shift() as Extract<Op, { kind: "append" }>);
      await this.#settle(batch, () => this.#writeBatch(batch));
    }
    this.#draining = false;
  }

  async #settle(ops: readonly Op[], run: () => Promise<void>): Promise<void> {
    if (this.#failed !== undefined) {
      // After a failed write or fsync the file's contents are unknown (fsyncgate): refuse
      // everything until the process restarts and recovery re-reads the disk.
      for (const op of ops) op.reject(new DiskStorageError(DiskErrorCode.Closed, "wal: an earlier write failed", { cause: this.#failed }));
      return;
    }
    try {
      await run();
      for (const op of ops) op.resolve();
    } catch (err) {
      this.#failed = err;
      for (const op of ops) op.reject(err);
    }
  }

  async #writeBatch(batch: readonly Extract<Op, { kind: "append" }>[]): Promise<void> {
    const firstNew = batch.find((op) => op.entries.length > 0)?.entries[0].index ?? this.#lastIndex + 1;
    const misnamed = this.#lastIndex === 0 && this.#file !== undefined && this.#currentSegment().firstIndex !== firstNew;
    if (!this.#file || this.#fileSize >= this.#options.segmentBytes || misnamed) {
      await this.#startSegment(this.#lastIndex > 0 ? this.#lastIndex + 1 : firstNew);
    }
    const file = this.#file as WritableFile;
    const seq = this.#currentSegment().seq;
    const chunks: Uint8Array[] = [];
    let offset = this.#fileSize;
    let last = this.#lastIndex;
    for (const op of batch) {
      let at = offset;
      for (let i = 0; i < op.entries.length; i++) {
        const e = op.entries[i];
        if (last !== 0 && e.index !== last + 1) throw new Error(`wal: append of entry ${e.index} after ${last} would leave a gap`);
        if (last === 0) this.#firstIndex = e.index;
        last = e.index;
        this.#entrySeq.push(seq);
        this.#entryOffset.push(at);
        at += op.entryBytes[i];
      }
      offset += op.recordBytes;
      for (const chunk of op.records) chunks.push(chunk);
    }
    if (batch.some((op) => op.sync) && !this.#unsynced) {
      // Nothing older is waiting for an fsync, so one durable write covers the whole batch.
      this.stats.fsyncs++;
      if (offset - this.#fileSize <= INLINE_WRITE_MAX_BYTES && batch.every((op) => op.inline)) {
        this.stats.inlineBatches++;
        file.writeDurablyAtNow(chunks, this.#fileSize);
      } else {
        await file.writeDurablyAt(chunks, this.#fileSize);
      }
    } else {
      await file.writeAt(chunks, this.#fileSize);
      this.#unsynced = true;
      if (batch.some((op) => op.sync)) await this.#sync(file);
    }
    this.#fileSize = offset;
    this.#lastIndex = last;
    this.stats.batches++;
  }

  async #sync(file: WritableFile): Promise<void> {
    this.stats.fsyncs++;
    await file.sync();
    if (file === this.#file) this.#unsynced = false;
  }

  async #startSegment(firstIndex: number): Promise<void> {
    if (this.#file && this.#unsynced) await this.#sync(this.#file);
    await this.#file?.close();
    const prev = this.#segments[this.#segments.length - 1];
    const seg: Segment = { seq: prev ? prev.seq + 1 : 1, firstIndex, name: "" };
    seg.name = segmentName(seg.seq, firstIndex);
    this.#file = (await this.#fs.openWritable(this.#segmentPath(seg), { truncate: true })).file;
    this.#fileSize = 0;
    this.#segments.push(seg);
    await this.#fs.syncDir(this.#dir);
  }

  async #dropAll(nextIndex: number): Promise<void> {
    while (this.#segments.length > 0) await this.#removeNewestSegment();
    this.#entrySeq = [];
    this.#entryOffset = [];
    this.#firstIndex = 0;
    this.#lastIndex = 0;
    await this.#startSegment(nextIndex);
  }

  async #removeNewestSegment(): Promise<void> {
    const seg = this.#segments.pop();
    if (!seg) return;
    await this.#file?.close();
    this.#file = undefined;
    this.#unsynced = false;
    await this.#fs.remove(this.#segmentPath(seg));
    await this.#fs.syncDir(this.#dir);
    const top = this.#segments[this.#segments.length - 1];
    if (top) {
      const { file, size } = await this.#fs.openWritable(this.#segmentPath(top), { truncate: false });
      this.#file = file;
      this.#fileSize = size;
    }
  }

  #currentSegment(): Segment {
    const seg = this.#segments[this.#segments.length - 1];
    if (!seg) throw new Error("wal: no open segment");
    return seg;
  }

  #segmentPath(seg: Segment): string {
    return join(this.#dir, seg.name);
  }
}
