// The single-threaded API a host drives (etcd's rawnode.go): feed it ticks and messages,
// take a Ready batch of effects, carry them out in the documented order, then advance().
import type { ConfChange } from "./confchange.ts";
import { encodeConfChange } from "./confchange.ts";
import type { ConfState, Entry, HardState, Message, Snapshot } from "./messages.ts";
import { EntryType, MessageType, hardStateEqual, isEmptySnapshot, isLocalMessage, isResponseMessage, message } from "./messages.ts";
import type { ProgressState } from "./progress.ts";
import type { RaftConfig, SoftState } from "./raft.ts";
import { Raft, StateType, StepError } from "./raft.ts";
import type { ReadState } from "./read-only.ts";

/**
 * Everything the host must do after a burst of tick/step/propose calls. Carry it out in
 * this order, then call advance():
 *
 *  1. If `snapshot` is set, install it in storage (it replaces the log up to its index).
 *  2. Append `entries` to storage (replacing any stored entries from the first new index
 *     on) and save `hardState` if set — durably (fsync) when `mustSync` — BEFORE step 3.
 *     A vote or an acknowledgement sent before the state behind it is on disk can be
 *     forgotten by a crash, which breaks election safety or loses committed entries.
 *  3. Send `messages`. (Messages to this node's own id never appear.) When
 *     `sendBeforePersist` is set they may leave before step 2 finishes, in parallel with it.
 *  4. Apply `committedEntries` to the state machine, in order. They may be applied while
 *     step 2 runs, unless `snapshot` is set (it must be installed first); see
 *     durableCommittedCount. Conf change entries are applied with RawNode.applyConfChange.
 *     A snapshot of the state may only be taken at an index this node has written (step 2
 *     done): applied entries can run ahead of the local log.
 *  5. Serve `readStates`: each read may proceed once the state machine has applied its index.
 *  6. Call advance(). Do not call ready() again before that.
 *
 * `softState` is informational (leader and role changed) and needs no persistence.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** Whether entries/hardState must be fsynced (false when only the commit index moved). */
  mustSync: boolean;
  /**
   * The leader may send this Ready's messages while it writes its own log (Raft thesis
   * §10.2.1): its messages carry entries, not promises, and its own entries count toward a
   * commit only once advance() reports them written.
   * False whenever this Ready changes term or vote: a vote must be durable before it is cast.
   */
  sendBeforePersist: boolean;
}

/**
 * How many of `rd.committedEntries` (from the start) the host may apply before this Ready's
 * write finishes: all of them unless a snapshot must be installed first. A committed entry is
 * durable on a majority — every member, the leader included, counts an entry only once it
 * is written (Raft.ownLogDurable) — so no crash can take it back, whether or not this node's
 * own copy is on disk yet. etcd applies the same way: its raft hands out committed entries
 * not yet stable here (sync mode's applyUnstableEntries) and its server applies them while
 * the same Ready's entries are saved, waiting for that save only before a snapshot, whose
 * index must not pass the local log (RaftNode's #snapshotDue does the same).
 */
export function durableCommittedCount(rd: Ready): number {
  return rd.snapshot !== undefined ? 0 : rd.committedEntries.length;
}

/**
 * Drops messages a later one in the same batch makes redundant (dropping any message is safe
 * in Raft — the network may — so this only saves work):
 * - an empty MsgApp (a commit-index update) when a later MsgApp goes to the same peer: that
 *   one carries a commit index at least as new, and empty appends take no flow-control slot;
 * - an accepting MsgAppResp when a later accepting one of the same term goes to the same
 *   peer: acknowledgements are cumulative (the match index).
 * Under load, commit updates were half of all appends and each drew its own answer, and a
 * follower answered every append it took during one write separately.
 */
export function withoutRedundantAppends(msgs: Message[]): Message[] {
  let laterAppend: Set<number> | undefined;
  let laterAck: Map<number, Message> | undefined;
  let drop: Set<number> | undefined;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m.type === MessageType.App) {
      laterAppend ??= new Set();
      if (m.entries.length === 0 && m.snapshot === undefined && laterAppend.has(m.to)) (drop ??= new Set()).add(i);
      laterAppend.add(m.to);
    } else if (m.type === MessageType.AppResp && !m.reject) {
      laterAck ??= new Map();
      const later = laterAck.get(m.to);
      if (later && later.term === m.term && later.index >= m.index) (drop ??= new Set()).add(i);
      else laterAck.set(m.to, m);
    }
  }
  return drop ? msgs.filter((_, i) => !drop.has(i)) : msgs;
}

export interface Status {
  id: number;
  term: number;
  vote: number;
  commit: number;
  applied: number;
  lead: number;
  raftState: StateType;
  leadTransferee: number;
  /** Leader only: its view of every member's log. */
  progress: Map<number, { match: number; next: number; state: ProgressState; isLearner: boolean }>;
  confState: ConfState;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined;
  /** Highest index handed out by takeDurableCommitted during the outstanding Ready (0: none). */
  private handedOutTo = 0;
  /** The term the host has stored durably: loaded at start, or written by an advanced Ready. */
  private durableTerm: number;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
    this.durableTerm = this.prevHardState.term;
  }

  /** Advances the logical clock by one tick; election and heartbeat timeouts are counted in ticks. */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with pre-vote if configured). */
  campaign(): StepError | undefined {
    return this.raft.step(message({ type: MessageType.Hup }));
  }

  /** Proposes opaque data; a follower forwards it to the leader. */
  propose(data: Uint8Array): StepError | undefined {
    return this.proposeAll([data]);
  }

  /** Proposes several entries in one step: one append to the log and one MsgApp per peer. */
  proposeAll(data: readonly Uint8Array[]): StepError | undefined {
    return this.raft.step(
      message({ type: MessageType.Prop, from: this.raft.id, entries: data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d })) }),
    );
  }

  /** Proposes a membership change; it takes effect when the host applies it after commit. */
  proposeConfChange(cc: ConfChange): StepError | undefined {
    return this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed conf change entry; the host stores the returned ConfState with its next snapshot. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Delivers a message from a peer. */
  step(m: Message): StepError | undefined {
    if (isLocalMessage(m.type)) return StepError.StepLocalMsg;
    if (!this.raft.prs.has(m.from) && isResponseMessage(m.type)) return StepError.StepPeerNotFound;
    return this.raft.step(m);
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: number): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: transferee }));
  }

  /**
   * Requests a linearizable read; `ctx` identifies it in the ReadState that answers (it
   * must be unique among pending reads).
   */
  readIndex(ctx: Uint8Array): StepError | undefined {
    return this.raft.step(
      message({ type: MessageType.ReadIndex, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: ctx }] }),
    );
  }

  reportUnreachable(id: number): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  /** The host finished sending a snapshot to `id` (failed = true if it could not). */
  reportSnapshot(id: number, failed: boolean): void {
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: failed }));
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) return true;
    const hs = r.hardState();
    if (hs.term !== 0 && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.unstable.snapshot !== undefined && !isEmptySnapshot(r.raftLog.unstable.snapshot)) return true;
    return (
      r.msgs.length > 0 ||
      r.raftLog.unstable.entries.length > 0 ||
      r.raftLog.hasNextCommittedEnts() ||
      r.readStates.length > 0
    );
  }

  /** Takes the current batch of effects; see Ready for the order to carry them out. */
  ready(): Ready {
    if (this.outstanding) throw new Error("ready() called again before advance()");
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: withoutRedundantAppends(r.msgs),
      readStates: r.readStates,
      mustSync: false,
      sendBeforePersist: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) rd.hardState = hs;
    const snap = r.raftLog.unstable.snapshot;
    if (snap && !isEmptySnapshot(snap)) rd.snapshot = snap;
    // Handed out now: the next Ready starts after them even if the host applies them later.
    if (rd.snapshot) r.raftLog.acceptApplying(rd.snapshot.metadata.index);
    r.raftLog.handOut(rd.committedEntries);
    rd.mustSync =
      rd.entries.length > 0 ||
      (rd.hardState !== undefined && (rd.hardState.term !== this.prevHardState.term || rd.hardState.vote !== this.prevHardState.vote));
    const termOrVoteChanged =
      rd.hardState !== undefined && (rd.hardState.term !== this.prevHardState.term || rd.hardState.vote !== this.prevHardState.vote);
    rd.sendBeforePersist = r.state === StateType.Leader && !termOrVoteChanged && rd.snapshot === undefined;
    if (rd.hardState) this.prevHardState = rd.hardState;
    r.msgs = [];
    r.readStates = [];
    for (const m of rd.messages) if (m.to === r.id) throw new Error("message addressed to self in Ready");
    this.outstanding = rd;
    return rd;
  }

  /**
   * While the host carries out a Ready: entries committed since ready(), for the host to apply
   * at once instead of after the write (they count as applied from now on). Committed means
   * durable on a majority (see durableCommittedCount), so this includes entries the
   * outstanding Ready is still writing here: a leader whose two followers wrote an entry
   * answers its proposer without waiting for its own write. Not while a snapshot is being
   * installed (the state must be replaced first). Without a Ready outstanding this returns
   * nothing: ready() hands them out.
   */
  takeDurableCommitted(): Entry[] {
    const rd = this.outstanding;
    if (!rd || rd.snapshot !== undefined) return [];
    const lastOfReady = rd.committedEntries.length > 0 ? rd.committedEntries[rd.committedEntries.length - 1].index : 0;
    const log = this.raft.raftLog;
    const from = Math.max(log.applying, lastOfReady, this.handedOutTo) + 1;
    const to = log.committed;
    if (to < from || from < log.firstIndex()) return [];
    const ents = log.committedEntsFrom(from, to);
    if (ents.length === 0) return ents;
    this.handedOutTo = ents[ents.length - 1].index;
    log.handOut(ents);
    if (this.raft.state === StateType.Leader) this.raft.reduceUncommittedSize(ents);
    return ents;
  }

  /**
   * A follower's answers to heartbeats, taken out of the next Ready for the host to send now,
   * even while it writes the current Ready: an answer promises nothing about the log (only
   * that this node follows the sender in that term), so it needs no write before it, as in
   * etcd's asynchronous-write mode and hashicorp/raft's separate heartbeat path. Before, a
   * heartbeat that arrived during a large write was answered only after the next Ready's
   * write too, and a leader saw a follower that wrote one large entry as silent. Only answers
   * in a term already durable here leave early (a term this node has not stored yet is
   * written first, as every message of the Ready that changes it); rejecting answers (their
   * hint is the log's end, which may not be durable) stay in the Ready.
   */
  takeHeartbeatResponses(): Message[] {
    const r = this.raft;
    let taken: Message[] | undefined;
    for (const m of r.msgs) {
      if (m.type === MessageType.HeartbeatResp && !m.reject && m.term === this.durableTerm) (taken ??= []).push(m);
    }
    if (taken === undefined) return [];
    const early = new Set(taken);
    r.msgs = r.msgs.filter((m) => !early.has(m));
    return taken;
  }

  /**
   * Acknowledges that the last Ready was carried out: its entries are stable and its committed
   * entries applied — or, when `appliedThrough` is given, applied only that far: a host that
   * applies asynchronously goes on with the next Ready while the rest are still being applied,
   * and reports their progress with appliedTo(). Entries handed out are never handed out again.
   */
  advance(appliedThrough?: number): void {
    const rd = this.outstanding;
    if (!rd) throw new Error("advance() without a Ready");
    this.outstanding = undefined;
    const log = this.raft.raftLog;
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    const handedOutTo = this.handedOutTo;
    this.handedOutTo = 0;
    if (appliedThrough !== undefined) this.appliedTo(appliedThrough);
    else if (handedOutTo > 0) log.appliedTo(Math.max(handedOutTo, lastCommitted?.index ?? 0));
    else if (lastCommitted) log.appliedTo(lastCommitted.index);
    else if (rd.snapshot) log.appliedSnapshot(rd.snapshot.metadata.index);
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) log.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshot) log.stableSnapTo(rd.snapshot.metadata.index);
    if (rd.hardState) this.durableTerm = rd.hardState.term;
    // A leader's own entries count toward a commit from now (the next Ready applies them).
    this.raft.ownLogDurable();
    if (this.raft.state === StateType.Leader) this.raft.reduceUncommittedSize(rd.committedEntries);
  }

  /**
   * Whether committed entries wait to be handed out because those handed out and not yet
   * applied use up RaftConfig.maxApplyingBytes (a host stops taking proposals meanwhile).
   */
  applyingPaused(): boolean {
    return this.raft.raftLog.applyingPaused();
  }

  /**
   * The host's state machine now holds everything through `index` (a snapshot's index counts):
   * for a host applying asynchronously, between Readys or during one.
   */
  appliedTo(index: number): void {
    const log = this.raft.raftLog;
    if (index > log.applied) log.appliedTo(Math.min(index, log.committed));
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<number, { match: number; next: number; state: ProgressState; isLearner: boolean }>();
    if (r.state === StateType.Leader) {
      for (const [id, pr] of r.prs) progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner });
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      raftState: r.state,
      leadTransferee: r.leadTransferee,
      progress,
      confState: r.confState(),
    };
  }
}
