import { join } from "node:path";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/messages.ts";
import { isEmptySnapshot } from "../raft/messages.ts";
import { MemoryBackedStorage, MemoryStorage } from "../raft/storage.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { runSliced } from "../runtime/sliced-work.ts";
import type { FileSystem } from "./file-system.ts";
import { nodeFileSystem } from "./file-system.ts";
import { SnapshotStore } from "./snapshot-store.ts";
import { StableStore } from "./stable-store.ts";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";
import type { WalOptions, WalStats } from "./wal.ts";
import { WriteAheadLog } from "./wal.ts";
import { LARGE_RECORD_DATA_BYTES, precomputeRecordChecksums } from "./wal-record.ts";

// Raft's durable storage in a data directory:
//   <dir>/wal/        segmented write-ahead log of entries (+ commit index records)
//   <dir>/hardstate   term, vote, commit — replaced atomically
//                     (term and vote before anything that depends on them; the commit index
//                     as a checkpoint at most once per commitCheckpointMs, and on close)
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
  /**
   * Start even when the commit index on disk is beyond the last entry that survived (a cut
   * or lost log: acknowledged entries are missing). Without it open() refuses, as etcd does.
   */
  recoverTruncatedLog: boolean;
  /**
   * Times the commit checkpoint. The commit index reaches the hardstate file at most once per
   * commitCheckpointMs (and on close), so a log cut later is detected on the next open. Without
   * a clock only close() records it.
   */
  clock?: Clock;
  commitCheckpointMs: number;
  /** Where recovery says what it repaired (a torn tail is cut at WARN, with its size). */
  logger?: Logger;
}

const DEFAULT_COMMIT_CHECKPOINT_MS = 1000;

/** What the node driver hands over from one Ready (same field names as the core's Ready). */
export interface PersistBatch {
  hardState?: HardState;
  entries: readonly Entry[];
  snapshot?: Snapshot;
  /**
   * Write small entries on the calling thread (WriteAheadLog.append's `inline`): for a caller
   * that only waits for the write, e.g. a follower that acknowledges once it is durable.
   */
  inline?: boolean;
}

export interface RecoveryReport {
  /** Bytes of a torn final write cut off the log on open. */
  tornBytes: number;
  /** The WAL segment they were cut from ("" when none were). */
  tornFile: string;
  /**
   * Set when the log ended before the commit index on disk and recoverTruncatedLog let the
   * open proceed: entries lastIndex+1..commit were acknowledged and are gone from this server.
   */
  missingCommitted?: { commit: number; lastIndex: number };
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
  /** Hardstate file writes, one at a time (term/vote saves and commit checkpoints share the file). */
  #stableWrites: Promise<void> = Promise.resolve();
  #checkpointRunning = false;
  #closing = false;
  #lastCheckpointMs = Number.NEGATIVE_INFINITY;
  #checkpointTimer: TimerHandle | undefined;
  /** A failed checkpoint write: the file's state is unknown, so the next persist fails too. */
  #checkpointFailure: unknown = undefined;
  readonly #clock: Clock | undefined;
  readonly #checkpointMs: number;

  private constructor(parts: {
    memory: MemoryStorage;
    wal: WriteAheadLog;
    stable: StableStore;
    snapshots: SnapshotStore;
    recovery: RecoveryReport;
    hardState: HardState;
    clock: Clock | undefined;
    checkpointMs: number;
  }) {
    super(parts.memory);
    this.#clock = parts.clock;
    this.#checkpointMs = parts.checkpointMs;
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
    if (recovered.tornBytes > 0) {
      options.logger?.warn("Cut a torn write off the end of the Raft log", { file: recovered.tornFile, bytes: recovered.tornBytes });
    }

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
    // Every commit index on disk was recorded only for entries already durable, so one beyond
    // the last entry that survived means acknowledged entries were lost (a cut or damaged
    // log, a restored older copy). etcd's raft refuses this ("state.commit is out of range").
    const persistedCommit = Math.max(hs.commit, recovered.commit);
    const last = memory.lastIndex();
    let missingCommitted: RecoveryReport["missingCommitted"];
    if (persistedCommit > last) {
      const cut = recovered.tornBytes > 0 ? ` (${recovered.tornBytes} bytes were cut off ${recovered.tornFile})` : "";
      if (options.recoverTruncatedLog !== true) {
        await wal.close();
        throw new DiskStorageError(
          DiskErrorCode.CommittedEntriesMissing,
          `storage: acknowledged entries are missing: the commit index on disk is ${persistedCommit} but the Raft log in ${dir} ends at ${last}${cut}; ` +
            `${persistedCommit - last} committed entries are gone. Refusing to start: restore the data dir from a backup, or start once with -recover-truncated-log to accept the loss and continue from entry ${last}.`,
          { file: join(dir, "wal") },
        );
      }
      missingCommitted = { commit: persistedCommit, lastIndex: last };
      // Recorded at once, so the next start does not refuse the same loss again.
      await stable.save({ ...hs, commit: last });
    }
    const hardState: HardState = { ...hs, commit: Math.min(persistedCommit, last) };
    memory.setHardState(hardState);
    return new DiskStorage({
      memory,
      wal,
      stable,
      snapshots,
      hardState,
      clock: options.clock,
      checkpointMs: options.commitCheckpointMs ?? DEFAULT_COMMIT_CHECKPOINT_MS,
      recovery: {
        tornBytes: recovered.tornBytes,
        tornFile: recovered.tornFile,
        missingCommitted,
        entries: entries.length,
        snapshotIndex: memory.snapshot().metadata.index,
      },
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
    if (this.#checkpointFailure !== undefined) throw this.#checkpointFailure;
    if (batch.snapshot && !isEmptySnapshot(batch.snapshot)) await this.#installSnapshot(batch.snapshot);
    const hs = batch.hardState;
    if (hs && (hs.term !== this.#hardState.term || hs.vote !== this.#hardState.vote)) {
      // Term and vote first: a crash between the two writes must not leave entries of a term
      // newer than the term on disk. The commit index goes with them only as far as entries
      // are already durable (this batch's are not yet), so it never claims a lost entry.
      const durableCommit = Math.min(hs.commit, this.memory.lastIndex());
      await this.#writeStable(() => this.#stable.save({ term: hs.term, vote: hs.vote, commit: Math.max(this.#stable.current.commit, durableCommit) }));
    }
    const snapIndex = this.memory.snapshot().metadata.index;
    const entries = batch.entries.filter((e) => e.index > snapIndex);
    if (entries.length > 0 && entries[0].index <= this.#wal.lastIndex) await this.#wal.truncateFrom(entries[0].index);
    // A commit index alone is not written: Raft needs it on disk only as a hint (a restarted
    // node learns the true one from the leader), so it rides along with the next entries
    // instead of costing a write per acknowledgement round. close() records the last one.
    const commit = hs?.commit ?? this.#hardState.commit;
    if (entries.length > 0) {
      // A large entry's checksum (~0.5 ms per MB) is computed over several turns first, so
      // the Raft host goes on stepping meanwhile; the Ready loop awaits this persist anyway.
      if (entries.some((e) => e.data.byteLength >= LARGE_RECORD_DATA_BYTES)) await runSliced(precomputeRecordChecksums(entries));
      const commitAhead = commit > this.#walCommit;
      await this.#wal.append(entries, { commit: commitAhead ? commit : undefined, sync: true, inline: batch.inline });
      if (commitAhead) this.#walCommit = commit;
    }
    this.memory.append(entries);
    if (hs) {
      this.#hardState = { ...hs };
      this.memory.setHardState(hs);
      this.#checkpointCommit();
    }
  }

  /** The commit index the hardstate file may record now: never past the durable log. */
  #checkpointableCommit(): number {
    return Math.min(this.#hardState.commit, this.memory.lastIndex());
  }

  /**
   * Records the commit index in the hardstate file in the background, at most once per
   * commitCheckpointMs (a trailing timer catches the last advance before the log goes idle).
   */
  #checkpointCommit(): void {
    const clock = this.#clock;
    if (!clock || this.#closing || this.#checkpointRunning || this.#checkpointFailure !== undefined) return;
    if (this.#checkpointableCommit() <= this.#stable.current.commit) return;
    const wait = this.#lastCheckpointMs + this.#checkpointMs - clock.monotonicMs();
    if (wait > 0) {
      this.#checkpointTimer ??= clock.setTimer(wait, () => {
        this.#checkpointTimer = undefined;
        this.#checkpointCommit();
      });
      return;
    }
    this.#checkpointRunning = true;
    this.#lastCheckpointMs = clock.monotonicMs();
    this.#writeStable(() => this.#saveCommitCheckpoint()).then(
      () => {
        this.#checkpointRunning = false;
        this.#checkpointCommit();
      },
      (err: unknown) => {
        this.#checkpointRunning = false;
        this.#checkpointFailure = err;
      },
    );
  }

  /** Term and vote as on disk (never the live ones, which may not be durable yet), newer commit. */
  async #saveCommitCheckpoint(): Promise<void> {
    const onDisk = this.#stable.current;
    const commit = this.#checkpointableCommit();
    if (commit > onDisk.commit) await this.#stable.save({ ...onDisk, commit });
  }

  #writeStable(write: () => Promise<void>): Promise<void> {
    const done = this.#stableWrites.then(write);
    this.#stableWrites = done.catch(() => undefined);
    return done;
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

  /**
   * The commit index the core knows at close. Entries can commit after the last Ready was
   * persisted (the leader applies what a majority of followers hold while its own write is in
   * flight, and the next Ready never comes once the node is closing); recording it here lets a
   * clean restart apply them at once. Only the commit moves: term and vote are the last ones
   * made durable.
   */
  noteCommit(commit: number): void {
    if (commit > this.#hardState.commit) this.#hardState = { ...this.#hardState, commit };
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#checkpointTimer?.cancel();
    this.#checkpointTimer = undefined;
    if (this.#checkpointFailure === undefined) {
      // The last commit index reaches the hardstate file, so a log cut while stopped is seen.
      await this.#writeStable(() => this.#saveCommitCheckpoint()).catch(() => undefined);
    }
    // A clean shutdown keeps the commit index, so a restart applies every committed entry at once.
    // Never past the durable log: a commit record beyond it would read as lost entries.
    const commit = this.#checkpointableCommit();
    if (commit > this.#walCommit) {
      await this.#wal.append([], { commit, sync: true });
      this.#walCommit = commit;
    }
    await this.#wal.close();
  }

  async #installSnapshot(snap: Snapshot): Promise<void> {
    await this.#snapshots.save(snap);
    await this.#wal.reset(snap.metadata.index + 1);
    this.memory.applySnapshot(snap);
  }
}
