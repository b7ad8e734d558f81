import { join } from "node:path";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/messages.ts";
import { isEmptySnapshot } from "../raft/messages.ts";
import { MemoryBackedStorage, MemoryStorage } from "../raft/storage.ts";
import type { FileSystem } from "./file-system.ts";
import { nodeFileSystem } from "./file-system.ts";
import { SnapshotStore } from "./snapshot-store.ts";
import { StableStore } from "./stable-store.ts";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";
import type { WalOptions, WalStats } from "./wal.ts";
import { WriteAheadLog } from "./wal.ts";

// Raft's durable storage in a data directory:
//   <dir>/wal/        segmented write-ahead log of entries (+ commit index records)
//   <dir>/hardstate   term, vote, commit — replaced atomically
//   <dir>/snapshots/  state-machine snapshots
// Raft reads through the Storage interface, which answers from memory (the log since the last
// snapshot). The node driver writes through persist(), once per Ready, and only after the
// data is durable does the in-memory view change — so Raft never sees an unsynced entry.

export interface DiskStorageOptions {
  fs: FileSystem;
  wal: Partial<WalOptions>;
  /**
   * Members of a brand-new cluster. Used only while no snapshot exists, so the host must pass
   * the same value on every start (as Consul servers do with their bootstrap configuration).
   */
  bootstrap: ConfState;
  /** Snapshot files kept on disk. */
  retainSnapshots: number;
}

/** What the node driver hands over from one Ready (same field names as the core's Ready). */
export interface PersistBatch {
  hardState?: HardState;
  entries: readonly Entry[];
  snapshot?: Snapshot;
}

export interface RecoveryReport {
  /** Bytes of a torn final write cut off the log on open. */
  tornBytes: number;
  /** Log entries replayed from disk (after the snapshot). */
  entries: number;
  snapshotIndex: number;
}

export class DiskStorage extends MemoryBackedStorage {
  readonly #wal: WriteAheadLog;
  readonly #stable: StableStore;
  readonly #snapshots: SnapshotStore;
  readonly recovery: RecoveryReport;
  /** The hard state last made durable (the commit part may be ahead of the file, in the WAL). */
  #hardState: HardState;
  /** The newest commit index recorded in the WAL; the live one may be ahead (see persist). */
  #walCommit: number;

  private constructor(parts: {
    memory: MemoryStorage;
    wal: WriteAheadLog;
    stable: StableStore;
    snapshots: SnapshotStore;
    recovery: RecoveryReport;
    hardState: HardState;
  }) {
    super(parts.memory);
    this.#wal = parts.wal;
    this.#stable = parts.stable;
    this.#snapshots = parts.snapshots;
    this.recovery = parts.recovery;
    this.#hardState = parts.hardState;
    this.#walCommit = parts.hardState.commit;
  }

  /**
   * Opens the data directory and recovers: newest snapshot, hard state, then the log after the
   * snapshot. A torn log tail is truncated; any other damage throws DiskStorageError.
   */
  static async open(dir: string, options: Partial<DiskStorageOptions> = {}): Promise<DiskStorage> {
    const fs = options.fs ?? nodeFileSystem;
    await fs.mkdirp(dir);
    const snapshots = new SnapshotStore(fs, join(dir, "snapshots"), { retain: options.retainSnapshots ?? 2 });
    const stable = new StableStore(fs, dir);
    const snap = await snapshots.loadNewest();
    const hs = await stable.load();
    const { wal, recovered } = await WriteAheadLog.open(fs, join(dir, "wal"), options.wal);

    const memory = new MemoryStorage(options.bootstrap ?? { voters: [], learners: [] });
    let entries = recovered.entries;
    if (snap && !isEmptySnapshot(snap)) {
      memory.applySnapshot(snap);
      const at = snap.metadata.index;
      const matching = entries.find((e) => e.index === at);
      if (matching && matching.term !== snap.metadata.term) {
        // The log diverged from the leader's snapshot (a crash between installing it and
        // resetting the log): the snapshot wins, as in etcd's raftLog.restore.
        entries = [];
        await wal.reset(at + 1);
      } else {
        entries = entries.filter((e) => e.index > at);
        if (entries.length > 0 && entries[0].index !== at + 1) {
          throw new DiskStorageError(DiskErrorCode.WalGap, `storage: log starts at ${entries[0].index} but the snapshot ends at ${at}`);
        }
        if (entries.length === 0 && wal.lastIndex !== 0 && wal.lastIndex < at) await wal.reset(at + 1);
      }
    }
    memory.append(entries);
    const hardState: HardState = { ...hs, commit: Math.min(Math.max(hs.commit, recovered.commit), memory.lastIndex()) };
    memory.setHardState(hardState);
    return new DiskStorage({
      memory,
      wal,
      stable,
      snapshots,
      hardState,
      recovery: { tornBytes: recovered.tornBytes, entries: entries.length, snapshotIndex: memory.snapshot().metadata.index },
    });
  }

  // --- Storage (what Raft reads) ---

  // --- what the node driver writes ---

  get walStats(): Readonly<WalStats> {
    return this.#wal.stats;
  }

  /**
   * Makes one Ready's snapshot, entries and hard state durable, in that order, with a single
   * log fsync for the entries however many there are (group commit). Resolves only when all
   * of it is on disk; only then may the Ready's messages be sent.
   */
  async persist(batch: PersistBatch): Promise<void> {
    if (batch.snapshot && !isEmptySnapshot(batch.snapshot)) await this.#installSnapshot(batch.snapshot);
    const hs = batch.hardState;
    if (hs && (hs.term !== this.#hardState.term || hs.vote !== this.#hardState.vote)) {
      // Term and vote first: a crash between the two writes must not leave entries of a term
      // newer than the term on disk.
      await this.#stable.save(hs);
    }
    const snapIndex = this.memory.snapshot().metadata.index;
    const entries = batch.entries.filter((e) => e.index > snapIndex);
    if (entries.length > 0 && entries[0].index <= this.#wal.lastIndex) await this.#wal.truncateFrom(entries[0].index);
    // A commit index alone is not written: Raft needs it on disk only as a hint (a restarted
    // node learns the true one from the leader), so it rides along with the next entries
    // instead of costing a write per acknowledgement round. close() records the last one.
    const commit = hs?.commit ?? this.#hardState.commit;
    if (entries.length > 0) {
      const commitAhead = commit > this.#walCommit;
      await this.#wal.append(entries, { commit: commitAhead ? commit : undefined, sync: true });
      if (commitAhead) this.#walCommit = commit;
    }
    this.memory.append(entries);
    if (hs) {
      this.#hardState = { ...hs };
      this.memory.setHardState(hs);
    }
  }

  /** Records a snapshot of the state machine at applied index `index` (does not compact). */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    const snap: Snapshot = { data, metadata: { index, term: this.memory.term(index), confState: { ...confState } } };
    await this.#snapshots.save(snap);
    return this.memory.createSnapshot(index, confState, data);
  }

  /** Drops log entries up to and including `index`; they must be covered by a snapshot. */
  async compact(index: number): Promise<void> {
    if (index > this.memory.snapshot().metadata.index) {
      throw new Error(`storage: compact(${index}) beyond the snapshot at ${this.memory.snapshot().metadata.index}`);
    }
    this.memory.compact(index);
    await this.#wal.compactTo(index);
  }

  async close(): Promise<void> {
    // A clean shutdown keeps the commit index, so a restart applies every committed entry at once.
    if (this.#hardState.commit > this.#walCommit) {
      await this.#wal.append([], { commit: this.#hardState.commit, sync: true });
      this.#walCommit = this.#hardState.commit;
    }
    await this.#wal.close();
  }

  async #installSnapshot(snap: Snapshot): Promise<void> {
    await this.#snapshots.save(snap);
    await this.#wal.reset(snap.metadata.index + 1);
    this.memory.applySnapshot(snap);
  }
}
