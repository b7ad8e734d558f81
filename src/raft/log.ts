// The Raft log as Raft sees it: stable entries in Storage followed by unstable entries (and
// possibly an incoming snapshot) that the host has not persisted yet (etcd's log.go).
import type { Entry, Snapshot } from "./messages.ts";
import { entrySize, limitSize } from "./messages.ts";
import type { Storage } from "./storage.ts";
import { StorageError, StorageErrorCode, isStorageError } from "./storage.ts";

/** Entries and a snapshot not yet persisted; entries[i] has index offset+i. */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** The host persisted entries up to (i, t); a term mismatch means they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // Replaces every unstable entry; the host will overwrite storage from `after` on.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.slice(this.offset, after).concat(ents);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    if (lo > hi || lo < this.offset || hi > this.offset + this.entries.length) {
      throw new Error(`invalid unstable.slice ${lo}..${hi} (offset ${this.offset}, len ${this.entries.length})`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly storage: Storage;
  unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index the host has applied to its state machine. */
  applied: number;
  /**
   * Highest index handed to the host for applying (≥ applied), etcd's `applying`: a host that
   * applies asynchronously (a large entry prepared over many turns) goes on taking Readys
   * meanwhile, and those must not hand the same entries out again, while `applied` (which
   * elections and conf changes consult) stays at what the state machine really holds.
   */
  applying: number;
  readonly maxApplyingSize: number;
  /**
   * Bytes of entries handed out and not yet applied beyond which no more are handed out
   * (etcd's maxApplyingEntsSize): a host preparing a large entry aside queues what commits
   * behind it, and that queue must not grow without bound under a stream of writes. At least
   * one entry is always handed out when none is outstanding.
   */
  readonly maxApplyingBacklog: number;
  readonly #backlog = new ApplyingBacklog();

  constructor(storage: Storage, maxApplyingSize = Number.MAX_SAFE_INTEGER, maxApplyingBacklog = Number.MAX_SAFE_INTEGER) {
    this.storage = storage;
    this.maxApplyingSize = maxApplyingSize;
    this.maxApplyingBacklog = maxApplyingBacklog;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /** Appends after checking (index, logTerm); returns the new last index or undefined on mismatch. */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from ours (or the first new one), 0 if all match. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ index whose term is ≤ term, so a leader can skip a whole term of
   * mismatching entries in one round trip (the optimisation in the paper's §5.3 note).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const t = this.termOrUndefined(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasNextCommittedEnts(): boolean {
    if (this.applyingPaused()) return false;
    const off = Math.max(this.applying + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  /**
   * Committed entries not yet handed out for applying, bounded by maxApplyingSize and by what
   * is left of maxApplyingBacklog (nothing while it is used up; see handOut).
   */
  nextCommittedEnts(): Entry[] {
    return this.committedEntsFrom(this.applying + 1, this.committed);
  }

  /** Committed entries in [from, through], as nextCommittedEnts bounds them. */
  committedEntsFrom(from: number, through: number): Entry[] {
    if (this.applyingPaused()) return [];
    const off = Math.max(from, this.firstIndex());
    if (Math.min(through, this.committed) < off) return [];
    const budget = Math.min(this.maxApplyingSize, this.maxApplyingBacklog - this.#backlog.bytes);
    return this.slice(off, Math.min(through, this.committed) + 1, budget);
  }

  /** Whether entries handed out and not yet applied use up maxApplyingBacklog. */
  applyingPaused(): boolean {
    return this.applying > this.applied && this.#backlog.bytes >= this.maxApplyingBacklog;
  }

  /** Bytes of entries handed out for applying and not yet applied. */
  applyingBytes(): number {
    return this.#backlog.bytes;
  }

  /** `ents` (committed, ascending, after those handed out before) were handed to the host for applying. */
  handOut(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    for (const e of ents) if (e.index > this.applied) this.#backlog.add(e.index, entrySize(e));
    this.acceptApplying(ents[ents.length - 1].index);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** Last index known written to stable storage here (entries after it are still being written). */
  stableLastIndex(): number {
    return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        throw new Error(`tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
      }
      this.committed = tocommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
    this.#backlog.appliedThrough(i);
  }

  /** The host installed a snapshot at `i`: its state holds everything through it. */
  appliedSnapshot(i: number): void {
    if (i <= this.applied) return;
    this.applied = i;
    this.#backlog.appliedThrough(i);
  }

  /** Entries through `i` were handed to the host for applying. */
  acceptApplying(i: number): void {
    if (i > this.committed) throw new Error(`applying(${i}) is beyond committed(${this.committed})`);
    if (this.applying < i) this.applying = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of entry i; throws StorageError when compacted or unavailable. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) {
      if (i < dummy) throw new StorageError(StorageErrorCode.Compacted, `log index ${i} is compacted`);
      throw new StorageError(StorageErrorCode.Unavailable, `log index ${i} is unavailable`);
    }
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** Term of entry i, or undefined when it is compacted or beyond the log. */
  termOrUndefined(i: number): number | undefined {
    // Bounds first: misses are common (probing, conflicts) and exceptions are slow.
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    try {
      return this.term(i);
    } catch (err) {
      if (isStorageError(err, StorageErrorCode.Compacted) || isStorageError(err, StorageErrorCode.Unavailable)) {
        return undefined;
      }
      throw err;
    }
  }

  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lasti: number, term: number): boolean {
    return term > this.lastTerm() || (term === this.lastTerm() && lasti >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.termOrUndefined(i);
    return t !== undefined && t === term;
  }

  /** §5.4.2: commit by counting only entries of the leader's current term. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrUndefined(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) from storage and unstable, at most maxSize bytes (≥ 1 entry). */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstable.offset), maxSize);
      // Storage returned fewer than asked: the size limit cut it short.
      if (stored.length < Math.min(hi, this.unstable.offset) - lo) return stored;
      ents = stored;
    }
    if (hi > this.unstable.offset) {
      const unstable = this.unstable.slice(Math.max(lo, this.unstable.offset), hi);
      ents = ents.length > 0 ? ents.concat(unstable) : unstable;
    }
    return limitSize(ents, maxSize);
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new StorageError(StorageErrorCode.Compacted, `log index ${lo} is compacted`);
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) throw new Error(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}

export function isCompacted(err: unknown): boolean {
  return isStorageError(err, StorageErrorCode.Compacted);
}

/** Sizes of entries handed out for applying and not yet applied, by ascending index. */
class ApplyingBacklog {
  bytes = 0;
  #indexes: number[] = [];
  #sizes: number[] = [];
  #head = 0;

  add(index: number, size: number): void {
    this.#indexes.push(index);
    this.#sizes.push(size);
    this.bytes += size;
  }

  appliedThrough(index: number): void {
    while (this.#head < this.#indexes.length && this.#indexes[this.#head] <= index) {
      this.bytes -= this.#sizes[this.#head];
      this.#head++;
    }
    if (this.#head === this.#indexes.length) {
      this.#indexes = [];
      this.#sizes = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#indexes = this.#indexes.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }
}
