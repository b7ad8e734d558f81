// What Raft reads from durable storage (etcd's storage.go). Raft never writes through this
// interface: the host persists what Ready hands it, then Raft reads it back from here.
import type { ConfState, Entry, HardState, Snapshot } from "./messages.ts";
import { EntryType, emptyHardState, limitSize } from "./messages.ts";

export const StorageErrorCode = {
  /** The requested index is older than the last snapshot. */
  Compacted: "compacted",
  /** The requested index is beyond the last entry. */
  Unavailable: "unavailable",
  /** A snapshot is being produced; Raft retries later. */
  SnapshotTemporarilyUnavailable: "snapshot-temporarily-unavailable",
  /** The requested snapshot is older than the one held. */
  SnapOutOfDate: "snap-out-of-date",
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}

export function isStorageError(err: unknown, code: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && err.code === code;
}

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

export interface Storage {
  /** The saved hard state and the configuration as of the last snapshot plus applied changes. */
  initialState(): InitialState;
  /** Entries in [lo, hi), at least one if any exist, total size at most maxSize. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: number): number;
  lastIndex(): number;
  /** Index of the first entry still held (older ones are in the snapshot). */
  firstIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/**
 * Storage backed by arrays: used by tests and the simulator, where it plays the disk (the
 * host only appends to it what it has "fsynced"). ents[0] is a dummy entry carrying the
 * snapshot's index and term so term(firstIndex-1) always answers.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot;
  private ents: Entry[];

  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snap = { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: cloneConfState(confState) } };
    this.ents = [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new StorageError(StorageErrorCode.Compacted, `requested index ${lo} is compacted (first ${offset + 1})`);
    if (hi > this.lastIndex() + 1) {
      throw new StorageError(StorageErrorCode.Unavailable, `entries hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw new StorageError(StorageErrorCode.Unavailable, "no entries");
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new StorageError(StorageErrorCode.Compacted, `term of ${i} is compacted`);
    if (i - offset >= this.ents.length) throw new StorageError(StorageErrorCode.Unavailable, `term of ${i} is unavailable`);
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole contents with a snapshot (a follower receiving InstallSnapshot). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) {
      throw new StorageError(StorageErrorCode.SnapOutOfDate, `snapshot ${snap.metadata.index} is not newer than ${this.snap.metadata.index}`);
    }
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /** Records a snapshot of the state machine at applied index i (does not compact). */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) {
      throw new StorageError(StorageErrorCode.SnapOutOfDate, `snapshot ${i} is not newer than ${this.snap.metadata.index}`);
    }
    if (i > this.lastIndex()) throw new Error(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { data, metadata: { index: i, term: this.term(i), confState: cloneConfState(confState) } };
    return this.snap;
  }

  /** Drops entries up to and including compactIndex; they must be covered by a snapshot. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw new StorageError(StorageErrorCode.Compacted, `compact ${compactIndex} is already compacted`);
    if (compactIndex > this.lastIndex()) throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: EntryType.Normal, data: new Uint8Array(0) };
    this.ents = [head, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, replacing any existing entries from the first new index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    // Entries already folded into the snapshot are dropped.
    const ents = first > entries[0].index ? entries.slice(first - entries[0].index) : entries;
    const offset = ents[0].index - this.ents[0].index;
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0].index}]`);
    }
    // In place: copying the whole log on every append made each write O(log length).
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }

  /** Every entry held, for invariant checks in tests. */
  allEntries(): Entry[] {
    return this.ents.slice(1);
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

/**
 * A Storage whose reads are served from an in-memory copy of the log. Hosts that keep the log
 * somewhere too (the WAL on disk) or nowhere else (dev mode) extend it and add only writes.
 */
export abstract class MemoryBackedStorage implements Storage {
  protected readonly memory: MemoryStorage;

  constructor(memory: MemoryStorage) {
    this.memory = memory;
  }

  initialState(): InitialState {
    return this.memory.initialState();
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.memory.entries(lo, hi, maxSize);
  }

  term(i: number): number {
    return this.memory.term(i);
  }

  lastIndex(): number {
    return this.memory.lastIndex();
  }

  firstIndex(): number {
    return this.memory.firstIndex();
  }

  snapshot(): Snapshot {
    return this.memory.snapshot();
  }
}
