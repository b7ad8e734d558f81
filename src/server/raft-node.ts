import type { ConfChange } from "../raft/confchange.ts";
import { ConfChangeType, decodeConfChange, encodeConfChange } from "../raft/confchange.ts";
import type { ConfState, Entry, Message, Snapshot } from "../raft/messages.ts";
import { EntryType, MessageType, NONE, isEmptySnapshot } from "../raft/messages.ts";
import type { RaftConfig, SoftState } from "../raft/raft.ts";
import { StateType } from "../raft/raft.ts";
import { RawNode, durableCommittedCount } from "../raft/raw-node.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { systemClock } from "../runtime/clock.ts";
import { requestWork } from "../runtime/cooperative-scheduler.ts";
import type { Rng } from "../runtime/rng.ts";
import { systemRng } from "../runtime/rng.ts";
import type { PeerAddress } from "../transport/raft-transport.ts";
import type { ServerPortDialer } from "../transport/server-port-tls.ts";
import { RaftTransport } from "../transport/raft-transport.ts";
import type { RaftHostStorage } from "./raft-storage.ts";
import { leaderLeaseMsFor } from "./raft-timing.ts";
import type { Socket } from "node:net";

// Drives one RawNode with real time, disk and network: ticks on a timer, steps what the
// transport delivers, and carries out each Ready in the order its type documents — persist
// (one fsync for the whole batch), send, apply, serve reads, advance, then snapshot and
// compact when enough entries were applied. Proposals and messages that arrive while a Ready
// is being persisted are stepped at once and land in the next Ready, so under load one fsync
// covers many proposals (group commit).

/** The state machine behind the log: applies entries and captures/restores snapshots. */
export interface RaftStateMachine {
  /** Applies one committed normal entry (log order); the value resolves the proposal's promise. */
  apply(entry: Entry): unknown;
  /**
   * Work for a large entry that may run before its apply, in slices with turns of the event
   * loop between them (decoding, building rows): a promise that settles when apply(entry) may
   * run, or undefined when the entry applies at once. Called in log order, each right after
   * the previous entry was applied, so preparation may read the state as apply will find it:
   * nothing else changes it meanwhile. It must not change the state itself, and must settle
   * (a failure is apply's to report).
   */
  prepare?(entry: Entry): Promise<void> | undefined;
  /** The state as of the last applied entry, as bytes. */
  capture(): Uint8Array;
  /**
   * capture() over several turns of the event loop, for a large state. The driver goes on
   * stepping, sending and applying meanwhile, so the bytes must be the state as of the call:
   * what to write is listed before the call returns, and later applies must not change it.
   */
  captureSliced?(): Promise<Uint8Array>;
  /** Replaces the state with a snapshot's (startup, or one installed from the leader). */
  restore(data: Uint8Array): void;
  /**
   * restore() with the costly reading done over several turns first (the state changes only
   * at the end, at once); the driver applies nothing until it settles.
   */
  restoreSliced?(data: Uint8Array): Promise<void>;
}

export interface RaftSnapshotPolicy {
  /** Applied entries since the last snapshot that trigger a new one; 0 disables snapshots. */
  threshold: number;
  /** Entries kept in the log behind a snapshot, so slow followers catch up without one. */
  trailingLogs: number;
  /**
   * false: snapshots carry no state and serve only to compact the log. For a lone voter in
   * memory without a transport (-dev): it never sends a snapshot to a follower nor reloads one
   * at start, so capturing the whole state every `threshold` entries is work nobody reads (at
   * 170,000 instances, ~20 µs of CPU per registration on average).
   */
  captureState?: boolean;
}

export interface RaftNodeOptions {
  id: number;
  storage: RaftHostStorage;
  /** Every known member's Raft transport address, this node's own included (it is where we listen). */
  members: ReadonlyMap<number, PeerAddress>;
  /** Open a transport listener. A lone in-memory voter (-dev) talks to nobody and needs none. */
  listen: boolean;
  /**
   * Raft shares another listener (the server RPC port): no listener of our own, inbound
   * connections arrive through acceptConnection() and outbound ones start with `preamble`.
   */
  handover?: { preamble: Uint8Array; dial?: ServerPortDialer };
  /**
   * Voters of a brand-new cluster. Written as the first log entries when the storage holds
   * nothing yet (etcd's Bootstrap); ignored once a log exists, so passing it on every start is safe.
   */
  bootstrapVoters?: readonly number[];
  /** Called for each committed normal entry, in log order (ignored when `stateMachine` is given). */
  apply: (entry: Entry) => unknown;
  stateMachine?: RaftStateMachine;
  snapshots: RaftSnapshotPolicy;
  /** Leadership or the known leader changed. */
  onSoftState?: (ss: SoftState) => void;
  /**
   * A snapshot from the leader replaced this node's state (InstallSnapshot): its last index
   * and term, size, and how long persisting and restoring it took.
   */
  onSnapshotInstalled?: (installed: { index: number; term: number; bytes: number; durationMs: number }) => void;
  /** A Ready's entries reached the disk, `durationMs` after the write began (for metrics). */
  onLogWritten?: (durationMs: number, leading: boolean) => void;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  /** Leader lease (raft-timing.ts leaderLeaseMsFor); default half the election timeout. */
  leaderLeaseMs?: number;
  clock: Clock;
  rng: Rng;
  /** Extra core settings (flow control, pre-vote…). */
  raft: Partial<Omit<RaftConfig, "id" | "storage" | "rng" | "electionTick" | "heartbeatTick">>;
}

export const defaultRaftNodeOptions = {
  tickMs: 100,
  electionTick: 10,
  heartbeatTick: 1,
  listen: true,
  snapshots: { threshold: 0, trailingLogs: 0 },
} as const;

/** Sort order of indexes, newest first. */
const newestFirst = (a: number, b: number): number => b - a;

/** Refused because this server does not lead; `leader` is the leader's Raft id (0 when unknown). */
export class NotLeaderError extends Error {
  readonly code = "not-leader";
  readonly leader: number;
  constructor(leader: number) {
    super(leader === 0 ? "raft: no known leader" : `raft: not the leader (leader is ${leader})`);
    this.name = "NotLeaderError";
    this.leader = leader;
  }
}

/** The leader's view of one member's log and contact. */
export interface PeerProgress {
  /** Highest index known replicated there. */
  match: number;
  next: number;
  /** Whether it answered within the current check-quorum window. */
  recentActive: boolean;
  isLearner: boolean;
  /** Milliseconds since the leader last heard from it (0 for the leader itself). */
  lastContactMs: number;
}

export interface Applied {
  index: number;
  result: unknown;
}

interface PendingProposal {
  term: number;
  resolve: (applied: Applied) => void;
  reject: (err: Error) => void;
}

interface PendingRead {
  resolve: (index: number) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

/**
 * How long a new commit index may wait to ride on the next MsgApp before the followers nothing
 * carried it to are sent it on its own (the core's deferCommitNotices). A writer at c=1 sends
 * its next write within it, so each write costs each follower one message round, not two;
 * followers' state (stale reads there) lags the leader's by at most this much more.
 */
const COMMIT_NOTICE_DELAY_MS = 5;

/**
 * Committed entries handed to the apply pipeline and not yet applied, in bytes, before the core
 * hands out no more and the leader takes no more proposals (RaftConfig.maxApplyingBytes): while
 * a large entry is prepared, what commits behind it waits in the pipeline, and a stream of
 * writes would grow it without bound. Eight body-cap (512 KiB) entries; one entry always goes.
 */
export const DEFAULT_MAX_APPLYING_BYTES = 4 * 1024 * 1024;

/** Tick times kept for dating heartbeat acknowledgements; older ones count as too old. */
const TICK_HISTORY = 256;

/**
 * What the apply pipeline carries out in log order: a committed entry (prepared first when the
 * state machine asks), or a snapshot from the leader that replaces the state.
 */
type ApplyItem = { kind: "entry"; entry: Entry } | { kind: "snapshot"; snapshot: Snapshot; writeStartedMs: number };

/** A snapshot of the state as of `index`, captured while the log moves on. */
interface SnapshotCapture {
  index: number;
  confState: ConfState;
  outcome: { data: Uint8Array } | { err: unknown } | undefined;
}

export interface RaftLogStatus {
  term: number;
  commitIndex: number;
  lastLogIndex: number;
  lastLogTerm: number;
  snapshotIndex: number;
  snapshotTerm: number;
}

export class RaftNode {
  readonly id: number;
  readonly #node: RawNode;
  readonly #storage: RaftHostStorage;
  #transport: RaftTransport | undefined;
  readonly #machine: RaftStateMachine;
  readonly #options: RaftNodeOptions;
  readonly #clock: Clock;
  readonly #pending = new Map<number, PendingProposal>();
  readonly #reads = new Map<string, PendingRead>();
  /** Reads whose index is known, waiting for the state machine to reach it (ascending). */
  #readyReads: { index: number; resolve: (index: number) => void }[] = [];
  #nextReadId = 1;
  #queuedProposals: { data: Uint8Array; resolve: (applied: Applied) => void; reject: (err: Error) => void }[] = [];
  #nextReadBatch: { resolve: (index: number) => void; reject: (err: unknown) => void }[] = [];
  #readBatchInFlight = false;
  #ticker: TimerHandle | undefined;
  /** Sends the commit notices still due (see COMMIT_NOTICE_DELAY_MS); set while armed. */
  #commitNotice: TimerHandle | undefined;
  #running = false;
  /** A proposal was made this event-loop turn: later ones wait for the turn's end (propose). */
  #turnBatchOpen = false;
  readonly #closeTurnBatch = (): void => {
    this.#turnBatchOpen = false;
    if (this.#queuedProposals.length > 0) this.#kick();
  };
  #closed = false;
  #failure: unknown = undefined;
  #applied: number;
  #snapshotIndex: number;
  /**
   * A snapshot being captured while the log moves on (hashicorp/raft takes the FSM's snapshot
   * aside too): capturing a large state takes seconds, and a Ready loop waiting for it would
   * send no heartbeats and lose the leadership.
   */
  #capture: SnapshotCapture | undefined;
  #lastLeaderContactMs = -1;
  /** Monotonic time of the last message from each peer (the leader's view of its followers' contact). */
  readonly #peerHeardMs = new Map<number, number>();
  /** Monotonic time this node last became leader (-1 when it does not lead). */
  #leaderSinceMs = -1;
  /** quorumContactAgeMs's working list, reused across calls. */
  readonly #ackScratch: number[] = [];
  /**
   * Monotonic time of each recent tick, by the core's tick count. Heartbeats carry the tick
   * they were sent at and followers echo it (the core keeps the newest per peer as
   * leaseAckTick), so an acknowledgement dates from when the heartbeat left, not from when the
   * answer was read: answers that sat in a socket while this process was paused prove nothing
   * about now.
   */
  readonly #tickAtMs = new Map<number, number>();
  #lastTickMs: number;
  readonly #leaseMs: number;
  /**
   * When ≥ 0: this server's state is known current only as of this monotonic time, until a
   * ReadIndex round through the leader confirms it caught up. Set when it stops leading (to
   * its last quorum contact) and when it finds it was paused (a buffered heartbeat would
   * otherwise make a lagging server look freshly in contact).
   */
  #staleSinceMs = -1;
  #resyncing = false;
  #idle: (() => void)[] = [];
  /**
   * Committed entries (and installed snapshots) waiting behind one whose preparation or
   * restore is running, in log order. While #applying is set, everything goes through here;
   * otherwise an entry with nothing to prepare applies at once. The Ready loop does not wait
   * for this queue: heartbeats, votes and acknowledgements go on while a large entry is
   * prepared; only applies (and what waits for them: proposals' answers, reads) wait.
   */
  #applyQueue: ApplyItem[] = [];
  /** Settles when the queue is empty again. */
  #applying: Promise<void> | undefined;
  /** What an apply in the queue threw: the Ready loop fails the node with it. */
  #applyFailure: { err: unknown } | undefined;
  /** Highest index handed to the apply pipeline (its entries apply, in order, whatever happens to leadership). */
  #handedOut = 0;

  private constructor(node: RawNode, options: RaftNodeOptions, machine: RaftStateMachine) {
    this.id = options.id;
    this.#node = node;
    this.#storage = options.storage;
    this.#options = options;
    this.#machine = machine;
    this.#clock = options.clock;
    this.#snapshotIndex = options.storage.snapshot().metadata.index;
    this.#applied = this.#snapshotIndex;
    this.#leaseMs = options.leaderLeaseMs ?? leaderLeaseMsFor(options);
    this.#lastTickMs = options.clock.monotonicMs();
    this.#tickAtMs.set(node.raft.ticks, this.#lastTickMs);
  }

  static async start(
    options: Pick<RaftNodeOptions, "id" | "storage" | "members"> & Partial<RaftNodeOptions>,
  ): Promise<RaftNode> {
    const o: RaftNodeOptions = { clock: systemClock, rng: systemRng, raft: {}, apply: () => undefined, ...defaultRaftNodeOptions, ...options };
    if (o.snapshots.captureState === false && o.listen) throw new Error("raft node: snapshots without state are only for a node without a transport");
    const machine: RaftStateMachine = o.stateMachine ?? { apply: o.apply, capture: () => new Uint8Array(0), restore: () => {} };
    const snap = o.storage.snapshot();
    if (!isEmptySnapshot(snap)) machine.restore(snap.data);
    const fresh = o.storage.lastIndex() === 0 && o.storage.initialState().hardState.term === 0 && isEmptySnapshot(snap);
    const node = new RawNode({
      preVote: true,
      checkQuorum: true,
      deferCommitNotices: true,
      maxApplyingBytes: DEFAULT_MAX_APPLYING_BYTES,
      ...o.raft,
      id: o.id,
      storage: o.storage,
      rng: o.rng,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      applied: o.raft.applied ?? snap.metadata.index,
    });
    if (fresh && o.bootstrapVoters && o.bootstrapVoters.length > 0) bootstrap(node, o.bootstrapVoters);
    const driver = new RaftNode(node, o, machine);
    if (o.listen && o.handover) {
      driver.#transport = RaftTransport.detached({
        id: o.id,
        clock: o.clock,
        rng: o.rng,
        preamble: o.handover.preamble,
        dial: o.handover.dial,
        peers: new Map([...o.members].filter(([id]) => id !== o.id)),
        onMessage: (m) => driver.#step(m),
        onUnreachable: (peer) => driver.#node.reportUnreachable(peer),
        onSnapshotStatus: (peer, failed) => driver.#node.reportSnapshot(peer, failed),
      });
    } else if (o.listen) {
      const self = o.members.get(o.id);
      if (!self) throw new Error(`raft node: members do not include this node (${o.id})`);
      driver.#transport = await RaftTransport.listen({
        id: o.id,
        host: self.host,
        port: self.port,
        clock: o.clock,
        rng: o.rng,
        peers: new Map([...o.members].filter(([id]) => id !== o.id)),
        onMessage: (m) => driver.#step(m),
        onUnreachable: (peer) => driver.#node.reportUnreachable(peer),
        onSnapshotStatus: (peer, failed) => driver.#node.reportSnapshot(peer, failed),
      });
    }
    // Bootstrap entries and the log since the snapshot are applied before start resolves, so
    // the caller sees the restored state and may campaign at once.
    driver.#kick();
    await driver.idle();
    // Replaying a long log is not a pause: tick times count from here.
    driver.#lastTickMs = o.clock.monotonicMs();
    driver.#scheduleTick();
    return driver;
  }

  /** The transport's listening port (0 without a listener). */
  get port(): number {
    return this.#transport?.port ?? 0;
  }

  get transportStats(): RaftTransport["stats"] | undefined {
    return this.#transport?.stats;
  }

  /** Log fsyncs this node's storage has issued so far. */
  storageFsyncs(): number {
    return this.#storage.walStats.fsyncs;
  }

  isLeader(): boolean {
    return this.#node.raft.state === StateType.Leader;
  }

  /** The leader's Raft id, 0 when none is known. */
  leader(): number {
    return this.#node.raft.lead;
  }

  term(): number {
    return this.#node.raft.term;
  }

  /** The configuration as applied here. */
  confState(): ConfState {
    return this.#node.raft.confState();
  }

  appliedIndex(): number {
    return this.#applied;
  }

  /** Index of the newest snapshot (entries up to it may be compacted away). */
  snapshotIndex(): number {
    return this.#snapshotIndex;
  }

  /** The log's position, as `consul info` and /v1/agent/self's raft stats report it. */
  logStatus(): RaftLogStatus {
    const log = this.#node.raft.raftLog;
    const lastLogIndex = log.lastIndex();
    let lastLogTerm = 0;
    try {
      lastLogTerm = log.term(lastLogIndex);
    } catch {
      // Compacted away with no snapshot covering it: nothing truthful to report.
    }
    return {
      term: this.#node.raft.term,
      commitIndex: log.committed,
      lastLogIndex,
      lastLogTerm,
      snapshotIndex: this.#snapshotIndex,
      snapshotTerm: this.#storage.snapshot().metadata.term,
    };
  }

  /**
   * Leader only: milliseconds since a quorum of voters (this node included) last acknowledged
   * it as leader, on the monotonic clock at the moment of asking; 0 elsewhere.
   */
  quorumContactAgeMs(): number {
    const raft = this.#node.raft;
    if (raft.state !== StateType.Leader) return 0;
    const now = this.#clock.monotonicMs();
    // Asked several times per API request (known leader, last contact): no array per call.
    const acked = this.#ackScratch;
    acked.length = 0;
    for (const [id, pr] of raft.prs) {
      if (pr.isLearner) continue;
      // Votes of a fresh election count as acknowledgements at the takeover.
      acked.push(id === this.id ? now : Math.max(this.#tickAtMs.get(pr.leaseAckTick) ?? -1, this.#leaderSinceMs));
    }
    if (acked.length === 0) return 0;
    if (acked.length === 1) return Math.max(0, now - acked[0]);
    // Newest first: the (n/2+1)-th newest is the time by which a majority had answered.
    acked.sort(newestFirst);
    return Math.max(0, now - acked[Math.floor(acked.length / 2)]);
  }

  /**
   * True while this node leads and a quorum answered it within the leader lease. A leader that
   * was paused (SIGSTOP, a stalled event loop) loses this at once, before its next tick, so
   * it neither serves reads as leader nor claims a known leader until a quorum answers again
   * (or a newer term demotes it).
   */
  leaseValid(): boolean {
    return this.isLeader() && this.quorumContactAgeMs() <= this.#leaseMs;
  }

  /**
   * False while this server's state is known current only as of an earlier moment: it stopped
   * leading, or found it had been paused, and no ReadIndex round has confirmed it since.
   */
  stateConfirmed(): boolean {
    return this.#staleSinceMs < 0;
  }

  /**
   * Milliseconds since a message from the current leader arrived, -1 if never; while this
   * server's state is not confirmed current (see #staleSinceMs), the age of what it last knew
   * to be current. On a leader: 0 within its lease (as Consul reports), else the age of its
   * last quorum contact.
   */
  lastContactMs(): number {
    if (this.isLeader()) {
      const age = this.quorumContactAgeMs();
      return age <= this.#leaseMs ? 0 : age;
    }
    if (this.#staleSinceMs >= 0) return Math.max(0, this.#clock.monotonicMs() - Math.min(this.#staleSinceMs, this.#lastLeaderContactMs < 0 ? Infinity : this.#lastLeaderContactMs));
    if (this.#lastLeaderContactMs < 0) return -1;
    return Math.max(0, this.#clock.monotonicMs() - this.#lastLeaderContactMs);
  }

  /**
   * Leader only: its view of every member's log (match = highest index known replicated there)
   * and whether the member answered within the current check-quorum window. Empty elsewhere.
   */
  progress(): Map<number, PeerProgress> {
    const out = new Map<number, PeerProgress>();
    const raft = this.#node.raft;
    if (raft.state !== StateType.Leader) return out;
    const now = this.#clock.monotonicMs();
    for (const [id, pr] of raft.prs) {
      // A peer not heard from since this node took over counts from the takeover, as
      // hashicorp/raft's replication starts each follower's contact clock then.
      const heard = id === this.id ? now : Math.max(this.#peerHeardMs.get(id) ?? -1, this.#leaderSinceMs);
      out.set(id, { match: pr.match, next: pr.next, recentActive: pr.recentActive, isLearner: pr.isLearner, lastContactMs: Math.max(0, now - heard) });
    }
    return out;
  }

  /** Leader only: asks the core to hand leadership to `transferee` (it waits for it to catch up). */
  transferLeader(transferee: number): void {
    if (this.#closed || !this.isLeader()) return;
    this.#node.transferLeader(transferee);
    this.#kick();
  }

  /** Starts an election now instead of waiting for the election timeout. */
  campaign(): void {
    this.#node.campaign();
    this.#kick();
  }

  /** Resolves with the entry's index and apply's result once it is committed and applied here (leader only). */
  propose(data: Uint8Array): Promise<Applied> {
    if (this.#failure !== undefined) return Promise.reject(new Error("raft node: storage failed", { cause: this.#failure }));
    if (this.#closed) return Promise.reject(new Error("raft node: closed"));
    if (!this.isLeader()) return Promise.reject(new NotLeaderError(this.leader()));
    // Appended at the top of the drain loop: at once when it is idle (#kick runs it up to its
    // first await), else with everything else proposed while a Ready is carried out, as one
    // batch — nothing proposed then could leave before the next Ready anyway, and a batch is
    // one MsgApp per peer instead of one per proposal.
    const applied = new Promise<Applied>((resolve, reject) => this.#queuedProposals.push({ data, resolve, reject }));
    // Until it is applied, bulk request work (big answers streaming out) yields after every
    // step: the round's acknowledgements and log write are handled as soon as they land.
    const release = requestWork.urgent();
    applied.then(release, release);
    if (this.#turnBatchOpen) return applied;
    // The first proposal of an event-loop turn goes at once (a lone writer waits for nothing);
    // the ones after it in the same turn — concurrent requests read from other sockets in the
    // same poll phase, each finishing its own microtasks before the next is read — wait for the
    // turn's check phase and go as one batch. Per proposal, a Ready cycle (two with the commit),
    // its promises and the answer's wake-up cost more than the proposal itself: at c=32 this
    // took the -dev agent from ~157 to ~100 µs of CPU per catalog registration.
    this.#turnBatchOpen = true;
    setImmediate(this.#closeTurnBatch);
    this.#kick();
    return applied;
  }

  /** Appends the proposals gathered since the last Ready, in arrival order. */
  #proposeQueued(): void {
    const queued = this.#queuedProposals;
    if (queued.length === 0) return;
    if (this.#proposalsHeld()) return;
    this.#queuedProposals = [];
    if (!this.isLeader()) {
      const err = new NotLeaderError(this.leader());
      for (const p of queued) p.reject(err);
      return;
    }
    const err = this.#node.proposeAll(queued.map((p) => p.data));
    if (err !== undefined) {
      for (const p of queued) p.reject(new Error(err));
      return;
    }
    const last = this.#node.raft.raftLog.lastIndex();
    const term = this.#node.raft.term;
    for (let i = 0; i < queued.length; i++) {
      const { resolve, reject } = queued[i];
      this.#pending.set(last - queued.length + 1 + i, { term, resolve, reject });
    }
  }

  /**
   * A leader whose apply pipeline is full (RawNode.applyingPaused: a large entry is being
   * prepared and what committed behind it fills the budget) keeps new proposals queued here,
   * their proposers waiting, instead of growing the log it cannot apply yet; heartbeats, votes
   * and acknowledgements go on. The pipeline's progress wakes the loop (#pumpApplies). A
   * server that no longer leads still answers them at once (NotLeaderError).
   */
  #proposalsHeld(): boolean {
    return this.isLeader() && this.#node.applyingPaused();
  }

  /** Proposals the next Ready would take (none while held: the pipeline's progress wakes the loop). */
  #proposalsWaiting(): boolean {
    return this.#queuedProposals.length > 0 && !this.#proposalsHeld();
  }

  /** Proposes a membership change (leader only); resolves once it is applied here. */
  proposeConfChange(cc: ConfChange): Promise<Applied> {
    if (this.#closed) return Promise.reject(new Error("raft node: closed"));
    if (!this.isLeader()) return Promise.reject(new NotLeaderError(this.leader()));
    const err = this.#node.proposeConfChange(cc);
    if (err !== undefined) return Promise.reject(new Error(err));
    return this.#track();
  }

  /**
   * A linearizable read point (ReadIndex, §6.4 of the thesis): resolves with an index once the
   * leader confirmed it still leads and this node's state machine has applied through it.
   * Works on followers too (the request travels to the leader). Rejects after `timeoutMs`.
   */
  readIndex(timeoutMs: number): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("raft node: closed"));
    return new Promise<number>((resolve, reject) => {
      this.#nextReadBatch.push({ resolve, reject });
      if (!this.#readBatchInFlight) this.#startReadBatch(timeoutMs);
    });
  }

  /**
   * One ReadIndex round for every read waiting now (etcd's linearizableReadLoop): a read that
   * arrives while a round is in flight waits for the next one, since the leadership check
   * that answers it must start after it arrived. Under load this turns one heartbeat round
   * per read into one per round trip.
   */
  #startReadBatch(timeoutMs: number): void {
    const batch = this.#nextReadBatch;
    if (batch.length === 0) return;
    this.#nextReadBatch = [];
    this.#readBatchInFlight = true;
    const settle = (outcome: { index: number } | { err: unknown }): void => {
      this.#readBatchInFlight = false;
      for (const waiter of batch) {
        if ("index" in outcome) waiter.resolve(outcome.index);
        else waiter.reject(outcome.err);
      }
      this.#startReadBatch(timeoutMs);
    };
    this.#readIndexRound(timeoutMs).then(
      (index) => settle({ index }),
      (err: unknown) => settle({ err }),
    );
  }

  #readIndexRound(timeoutMs: number): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("raft node: closed"));
    const key = `${this.id}:${this.#nextReadId++}`;
    const ctx = new TextEncoder().encode(key);
    return new Promise<number>((resolve, reject) => {
      const timer = this.#clock.setTimer(timeoutMs, () => {
        if (this.#reads.delete(key)) reject(new NotLeaderError(this.leader()));
      });
      this.#reads.set(key, { resolve, reject, timer });
      const err = this.#node.readIndex(ctx);
      if (err !== undefined) {
        this.#reads.delete(key);
        timer.cancel();
        reject(new NotLeaderError(this.leader()));
        return;
      }
      this.#kick();
    });
  }

  /** Takes an inbound Raft connection accepted by a shared listener (handover mode). */
  acceptConnection(socket: Socket, head: Buffer): void {
    if (!this.#transport || this.#closed) {
      socket.destroy();
      return;
    }
    this.#transport.accept(socket, head);
  }

  /** True while this node has no log, no term and no snapshot: it never took part in a cluster. */
  isFresh(): boolean {
    const raft = this.#node.raft;
    return raft.term === 0 && raft.raftLog.lastIndex() === 0 && this.#snapshotIndex === 0;
  }

  /**
   * Bootstraps a brand-new cluster with `voters` (bootstrap_expect reached) when this node is
   * still fresh; false when it already holds state (restart, or a leader reached it first).
   * Every server must pass the same voters, so their first log entries are identical.
   */
  async bootstrapIfFresh(voters: readonly number[]): Promise<boolean> {
    if (this.#closed || this.#failure !== undefined) return false;
    // Between a Ready and its advance the log must not change under the driver.
    while (this.#running) await this.idle();
    if (!this.isFresh()) return false;
    bootstrap(this.#node, voters);
    this.#kick();
    await this.idle();
    return true;
  }

  /** Adds or re-addresses a peer in the transport (membership itself changes through proposeConfChange). */
  setPeerAddress(id: number, address: PeerAddress): void {
    this.#transport?.addPeer(id, address);
  }

  removePeerAddress(id: number): void {
    this.#transport?.removePeer(id);
  }

  /** Resolves once no Ready is pending or being carried out. */
  idle(): Promise<void> {
    if (!this.#running && this.#applying === undefined && (this.#closed || this.#failure !== undefined || (!this.#node.hasReady() && this.#queuedProposals.length === 0))) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ticker?.cancel();
    this.#commitNotice?.cancel();
    await this.#transport?.close();
    while (this.#running) await new Promise((r) => setImmediate(r));
    while (this.#applying !== undefined) await this.#applying;
    this.#failPending(new Error("raft node: closed"));
    for (const read of this.#reads.values()) {
      read.timer.cancel();
      read.reject(new Error("raft node: closed"));
    }
    this.#reads.clear();
    this.#readyReads = [];
    this.#storage.noteCommit(this.#node.raft.raftLog.committed);
    await this.#storage.close();
    for (const done of this.#idle.splice(0)) done();
  }

  #track(): Promise<Applied> {
    const index = this.#node.raft.raftLog.lastIndex();
    const term = this.#node.raft.term;
    const promise = new Promise<Applied>((resolve, reject) => this.#pending.set(index, { term, resolve, reject }));
    this.#kick();
    return promise;
  }

  /**
   * Proposals whose outcome this node can no longer learn (it stopped leading, or closed). On
   * a step-down, those already handed to the apply pipeline are committed and will apply
   * here, answering their proposers then (`uncommittedOnly`).
   */
  #failPending(err: Error, uncommittedOnly = false): void {
    for (const [index, p] of this.#pending) {
      if (uncommittedOnly && index <= this.#handedOut) continue;
      p.reject(err);
      this.#pending.delete(index);
    }
    for (const p of this.#queuedProposals.splice(0)) p.reject(err);
  }

  #scheduleTick(): void {
    this.#ticker = this.#clock.setTimer(this.#options.tickMs, () => {
      if (this.#closed) return;
      this.#noticePause();
      const anchor = this.#freshAsOfLeader();
      this.#node.tick();
      this.#afterLeadershipStep(anchor);
      const now = this.#clock.monotonicMs();
      this.#lastTickMs = now;
      const ticks = this.#node.raft.ticks;
      this.#tickAtMs.set(ticks, now);
      this.#tickAtMs.delete(ticks - TICK_HISTORY);
      this.#resyncIfStale();
      this.#kick();
      this.#scheduleTick();
    });
  }

  #step(m: Message): void {
    if (this.#closed) return;
    this.#noticePause();
    const anchor = this.#freshAsOfLeader();
    this.#node.step(m);
    this.#afterLeadershipStep(anchor);
    if (m.from !== NONE) {
      const now = this.#clock.monotonicMs();
      this.#peerHeardMs.set(m.from, now);
      if (m.from === this.#node.raft.lead) this.#lastLeaderContactMs = now;
    }
    this.#resyncIfStale();
    this.#armCommitNotice();
    // An acknowledgement that commits entries answers their proposers now, not after the
    // write of the Ready in flight — the leader's own write of those very entries included.
    if (this.#running) this.#applyDurableCommitted();
    if (m.type === MessageType.Heartbeat) this.#sendHeartbeatResponses();
    this.#kick();
  }

  /** A commit (a follower's acknowledgement, or the leader's own write) owes followers a notice. */
  #armCommitNotice(): void {
    if (!this.#node.raft.commitNoticeDue || this.#commitNotice !== undefined) return;
    this.#commitNotice = this.#clock.setTimer(COMMIT_NOTICE_DELAY_MS, () => {
      this.#commitNotice = undefined;
      if (this.#closed) return;
      this.#node.raft.sendCommitNotices();
      this.#kick();
    });
  }

  /**
   * Answers to heartbeats leave at once, not behind the write in flight and the next Ready's
   * (RawNode.takeHeartbeatResponses): a follower writing one large entry still answers its
   * leader, as hashicorp/raft answers heartbeats on a path of their own.
   */
  #sendHeartbeatResponses(): void {
    const responses = this.#node.takeHeartbeatResponses();
    if (responses.length > 0) this.#transport?.send(responses);
  }

  /**
   * A tick overdue by more than the lease means this process did not run (SIGSTOP, a frozen
   * VM, a stalled event loop): whatever arrives now may have waited in a socket all along, so
   * a follower's state counts as current only as of its last leader contact until a ReadIndex
   * round confirms it. Checked before each message is stepped, since after SIGCONT sockets are
   * read before any timer fires.
   */
  #noticePause(): void {
    const now = this.#clock.monotonicMs();
    if (now - this.#lastTickMs <= this.#leaseMs + this.#options.tickMs) return;
    this.#lastTickMs = now;
    if (this.#node.raft.state === StateType.Leader || this.#staleSinceMs >= 0) return;
    this.#staleSinceMs = this.#lastLeaderContactMs >= 0 ? this.#lastLeaderContactMs : 0;
  }

  /** Leader only: the monotonic time of its last quorum contact (-1 elsewhere). */
  #freshAsOfLeader(): number {
    return this.isLeader() ? this.#clock.monotonicMs() - this.quorumContactAgeMs() : -1;
  }

  /** A step or tick that ended this node's leadership leaves its state current as of `anchor`. */
  #afterLeadershipStep(anchor: number): void {
    const leading = this.#node.raft.state === StateType.Leader;
    // Won an election in this step: the votes are its first quorum contact (the Ready that
    // reports the new role is handled only after its write).
    if (anchor < 0 && leading && this.#leaderSinceMs < 0) this.#leaderSinceMs = this.#clock.monotonicMs();
    if (anchor < 0 || leading) return;
    this.#leaderSinceMs = -1;
    this.#staleSinceMs = anchor;
  }

  /** Starts a ReadIndex round through the leader; once applied, this server is current again. */
  #resyncIfStale(): void {
    if (this.#staleSinceMs < 0 || this.#resyncing || this.#closed) return;
    const raft = this.#node.raft;
    if (raft.state === StateType.Leader) {
      // Leading again: the lease, not this mark, says how current it is.
      this.#staleSinceMs = -1;
      return;
    }
    if (raft.lead === NONE) return;
    this.#resyncing = true;
    const startedMs = this.#clock.monotonicMs();
    this.readIndex(Math.max(1000, this.#options.tickMs * this.#options.electionTick * 2)).then(
      () => {
        this.#resyncing = false;
        // Current as of the round's start; a later pause or step-down may have marked it again.
        if (this.#staleSinceMs >= 0 && this.#staleSinceMs <= startedMs) this.#staleSinceMs = -1;
      },
      () => {
        // No leader answered: the next tick or message tries again.
        this.#resyncing = false;
      },
    );
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#failure !== undefined) return;
    this.#running = true;
    this.#drain().then(
      () => {
        this.#running = false;
        // Something stepped after the last hasReady() check but before #running dropped.
        if (!this.#closed && (this.#node.hasReady() || this.#proposalsWaiting() || this.#capture?.outcome !== undefined || this.#applyFailure !== undefined)) this.#kick();
        else if (this.#applying === undefined) for (const done of this.#idle.splice(0)) done();
      },
      (err: unknown) => {
        // A failed fsync leaves the disk state unknown: stop taking part rather than guess.
        this.#running = false;
        this.#failure = err;
        for (const p of this.#pending.values()) p.reject(new Error("raft node: storage failed", { cause: err }));
        this.#pending.clear();
        for (const p of this.#queuedProposals.splice(0)) p.reject(new Error("raft node: storage failed", { cause: err }));
        for (const done of this.#idle.splice(0)) done();
      },
    );
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      if (this.#applyFailure !== undefined) throw this.#applyFailure.err;
      if (this.#capture?.outcome !== undefined) await this.#storeCapture(this.#capture);
      this.#proposeQueued();
      if (!this.#node.hasReady()) return;
      const rd = this.#node.ready();
      if (rd.sendBeforePersist) this.#transport?.send(rd.messages);
      const installing = rd.snapshot !== undefined && !isEmptySnapshot(rd.snapshot);
      const writeStartedMs = rd.entries.length > 0 || installing ? this.#clock.monotonicMs() : -1;
      // A follower does nothing else until its entries are durable (then it acknowledges), so a
      // small write goes on this thread: ~0.2 ms blocked instead of a trip to the thread pool
      // and back, two waits for a core when the machine is busy (a write at the leader waits
      // for the first follower's acknowledgement). The leader's stay on the pool: its thread
      // serves requests meanwhile, and blocking it measured worse for writes and reads alike.
      const inline = this.#node.raft.state !== StateType.Leader;
      const written = this.#storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, inline });
      // The write runs on the thread pool; apply what is committed meanwhile (durable on a
      // majority, see durableCommittedCount).
      const early = durableCommittedCount(rd);
      try {
        for (let i = 0; i < early; i++) this.#applyCommitted(rd.committedEntries[i]);
      } catch (err) {
        await written.catch(() => undefined);
        throw err;
      }
      await written;
      if (rd.entries.length > 0) this.#options.onLogWritten?.(this.#clock.monotonicMs() - writeStartedMs, this.#node.raft.state === StateType.Leader);
      if (this.#closed) return;
      if (!rd.sendBeforePersist) this.#transport?.send(rd.messages);
      if (rd.snapshot && !isEmptySnapshot(rd.snapshot)) {
        // The log now starts after it. The state is replaced in the apply pipeline, after
        // whatever is still being prepared against the old one (only entries below it).
        this.#snapshotIndex = rd.snapshot.metadata.index;
        this.#rejectReplacedProposals(this.#handedOut, rd.snapshot.metadata.index);
        this.#enqueueApply({ kind: "snapshot", snapshot: rd.snapshot, writeStartedMs });
      }
      for (let i = early; i < rd.committedEntries.length; i++) this.#applyCommitted(rd.committedEntries[i]);
      // No wait for the applies: with a large entry still being prepared, the next Ready
      // (heartbeats, acknowledgements, votes, new appends) goes on meanwhile; the core counts
      // as applied only what is (advance(applied), then appliedTo from the pipeline).
      for (const rs of rd.readStates) this.#readConfirmed(new TextDecoder().decode(rs.requestCtx), rs.index);
      this.#releaseReads();
      if (rd.softState) {
        if (rd.softState.raftState !== StateType.Leader) this.#failPending(new NotLeaderError(rd.softState.lead), true);
        if (rd.softState.lead !== NONE && rd.softState.lead !== this.id) this.#lastLeaderContactMs = this.#clock.monotonicMs();
        if (rd.softState.raftState !== StateType.Leader) this.#leaderSinceMs = -1;
        else if (this.#leaderSinceMs < 0) this.#leaderSinceMs = this.#clock.monotonicMs();
      }
      this.#node.advance(this.#applied);
      // Answers to heartbeats stepped during the write, in the term it made durable.
      this.#sendHeartbeatResponses();
      // The write may have committed the leader's own entries (it counts them once written).
      this.#armCommitNotice();
      if (rd.softState) this.#options.onSoftState?.(rd.softState);
      if (this.#snapshotDue()) this.#startCapture();
    }
  }

  #applyDurableCommitted(): void {
    const entries = this.#node.takeDurableCommitted();
    if (entries.length === 0) return;
    for (const entry of entries) this.#applyCommitted(entry);
    this.#releaseReads();
  }

  /**
   * Applies a committed entry in log order: at once when nothing is queued and the state
   * machine has nothing to prepare for it, else after the items before it and its own
   * preparation (#pumpApplies).
   */
  #applyCommitted(entry: Entry): void {
    // An earlier apply threw: nothing after it applies (the node is failing).
    if (this.#applyFailure !== undefined) return;
    this.#handedOut = entry.index;
    if (this.#applying !== undefined) {
      this.#applyQueue.push({ kind: "entry", entry });
      return;
    }
    const prepared = this.#prepare(entry);
    if (prepared === undefined) {
      this.#applyEntry(entry);
      return;
    }
    this.#applying = this.#pumpApplies({ kind: "entry", entry }, prepared);
  }

  #enqueueApply(item: ApplyItem): void {
    if (this.#applyFailure !== undefined) return;
    if (item.kind === "snapshot") this.#handedOut = Math.max(this.#handedOut, item.snapshot.metadata.index);
    if (this.#applying !== undefined) this.#applyQueue.push(item);
    else this.#applying = this.#pumpApplies(item, undefined);
  }

  #prepare(entry: Entry): Promise<void> | undefined {
    if (entry.type !== EntryType.Normal || entry.data.byteLength === 0) return undefined;
    return this.#machine.prepare?.(entry);
  }

  /** Carries out the apply queue, `first` (its preparation already started) first. */
  async #pumpApplies(first: ApplyItem, firstPrepared: Promise<void> | undefined): Promise<void> {
    try {
      let item: ApplyItem | undefined = first;
      let prepared = firstPrepared;
      while (item !== undefined && !this.#closed) {
        if (item.kind === "snapshot") {
          await this.#installSnapshot(item.snapshot);
          const { index, term } = item.snapshot.metadata;
          this.#options.onSnapshotInstalled?.({ index, term, bytes: item.snapshot.data.byteLength, durationMs: this.#clock.monotonicMs() - item.writeStartedMs });
        } else {
          if (prepared !== undefined) await prepared;
          if (this.#closed) break;
          const confChange = item.entry.type === EntryType.ConfChange;
          this.#applyEntry(item.entry);
          // A membership change may have messages to send (a new peer to catch up).
          if (confChange) this.#kick();
        }
        this.#node.appliedTo(this.#applied);
        this.#releaseReads();
        // Room in the pipeline again: committed entries and held proposals go on.
        if (this.#node.hasReady() || this.#proposalsWaiting()) this.#kick();
        item = this.#applyQueue.shift();
        prepared = item?.kind === "entry" ? this.#prepare(item.entry) : undefined;
      }
    } catch (err) {
      // Entries after it must not apply: the Ready loop fails the node with this.
      this.#applyFailure ??= { err };
    } finally {
      this.#applyQueue = [];
      this.#applying = undefined;
    }
    if (this.#closed) return;
    if (this.#applyFailure === undefined && this.#snapshotDue()) this.#startCapture();
    // Wakes the Ready loop: to fail the node, or to let idle() waiters go.
    this.#kick();
  }

  async #installSnapshot(snap: Snapshot): Promise<void> {
    if (this.#machine.restoreSliced) await this.#machine.restoreSliced(snap.data);
    else this.#machine.restore(snap.data);
    this.#applied = snap.metadata.index;
  }

  /**
   * Entries up to the snapshot that the old state did not apply are gone: their proposers
   * cannot learn the outcome here. Those handed to the apply pipeline still apply first.
   */
  #rejectReplacedProposals(handedOut: number, snapshotIndex: number): void {
    for (const [index, p] of this.#pending) {
      if (index <= handedOut || index > snapshotIndex) continue;
      p.reject(new Error(`raft: proposal at index ${index} was replaced by a snapshot`));
      this.#pending.delete(index);
    }
  }

  #applyEntry(entry: Entry): void {
    let result: unknown = undefined;
    if (entry.type === EntryType.ConfChange) {
      const cc = decodeConfChange(entry.data);
      result = this.#node.applyConfChange(cc);
      // Every server, not only the leader that proposed it, stops dialling a server that left
      // the configuration: otherwise the next leader reconnects to its old address forever.
      if (cc.type === ConfChangeType.RemoveNode) this.#transport?.removePeer(cc.nodeId);
    } else if (entry.data.byteLength > 0) {
      result = this.#machine.apply(entry);
    }
    this.#applied = entry.index;
    const pending = this.#pending.get(entry.index);
    if (!pending) return;
    this.#pending.delete(entry.index);
    if (pending.term === entry.term) pending.resolve({ index: entry.index, result });
    else pending.reject(new Error(`raft: proposal at index ${entry.index} was superseded by term ${entry.term}`));
  }

  #readConfirmed(key: string, index: number): void {
    const read = this.#reads.get(key);
    if (!read) return;
    this.#reads.delete(key);
    read.timer.cancel();
    this.#readyReads.push({ index, resolve: read.resolve });
    this.#readyReads.sort((a, b) => a.index - b.index);
  }

  #releaseReads(): void {
    let n = 0;
    while (n < this.#readyReads.length && this.#readyReads[n].index <= this.#applied) n++;
    if (n === 0) return;
    const done = this.#readyReads.splice(0, n);
    for (const r of done) r.resolve(r.index);
  }

  /** Checked without an await so a Ready that needs no snapshot costs no extra microtask. */
  #snapshotDue(): boolean {
    const { threshold } = this.#options.snapshots;
    // Not while the pipeline is busy: the core's configuration may be a newer snapshot's than
    // the state's (an install in progress), and the capture would pair them wrongly.
    // Not past this node's written log either: committed entries apply while this node's own
    // copy may still be being written (durableCommittedCount), and a snapshot beyond the local
    // log could not be stored (etcd's server waits for the save before a snapshot likewise).
    return (
      threshold > 0 &&
      this.#capture === undefined &&
      this.#applying === undefined &&
      this.#applied - this.#snapshotIndex >= threshold &&
      this.#applied <= this.#storage.lastIndex()
    );
  }

  /**
   * Starts capturing the state as of the last applied entry (every apply has completed here)
   * and returns at once; the Ready loop stores it once it is captured (#storeCapture).
   */
  #startCapture(): void {
    const capture: SnapshotCapture = { index: this.#applied, confState: this.#node.raft.confState(), outcome: undefined };
    this.#capture = capture;
    let captured: Promise<Uint8Array>;
    try {
      if (this.#options.snapshots.captureState === false) captured = Promise.resolve(new Uint8Array(0));
      else captured = this.#machine.captureSliced ? this.#machine.captureSliced() : Promise.resolve(this.#machine.capture());
    } catch (err) {
      captured = Promise.reject(err as Error);
    }
    captured.then(
      (data) => {
        capture.outcome = { data };
        this.#kick();
      },
      (err: unknown) => {
        capture.outcome = { err };
        this.#kick();
      },
    );
  }

  /** Writes a captured snapshot and compacts the log behind it (from the Ready loop, between writes). */
  async #storeCapture(capture: SnapshotCapture): Promise<void> {
    this.#capture = undefined;
    const outcome = capture.outcome;
    if (outcome === undefined) return;
    // A failed capture stops this node, as a failed write does: its state can't be trusted.
    if ("err" in outcome) throw outcome.err;
    // A snapshot installed from the leader meanwhile is newer: this one is of a replaced state.
    if (capture.index <= this.#snapshotIndex) return;
    await this.#storage.createSnapshot(capture.index, capture.confState, outcome.data);
    this.#snapshotIndex = capture.index;
    const compactTo = capture.index - this.#options.snapshots.trailingLogs;
    if (compactTo >= this.#storage.firstIndex()) await this.#storage.compact(compactTo);
  }
}

/**
 * Writes the initial configuration as committed conf change entries of term 1 (etcd's
 * RawNode.Bootstrap): every server bootstrapped with the same voters holds the same log prefix,
 * and the configuration lives in the log — nothing else has to remember it across restarts.
 */
function bootstrap(node: RawNode, voters: readonly number[]): void {
  const raft = node.raft;
  raft.becomeFollower(1, NONE);
  const ids = [...new Set(voters)].sort((a, b) => a - b);
  const entries: Entry[] = ids.map((nodeId, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId }),
  }));
  raft.raftLog.append(entries);
  raft.raftLog.committed = entries.length;
  for (const nodeId of ids) raft.applyConfChange({ type: ConfChangeType.AddNode, nodeId });
}
