// The Raft state machine (after etcd's raft.go). Pure and synchronous: it never reads a
// clock, touches I/O or draws randomness except through the injected RandomSource. tick()
// only counts and then steps MsgHup/MsgBeat/MsgCheckQuorum; a role change swaps the step
// function (stepLeader / stepCandidate / stepFollower). Section numbers (§) refer to the
// Raft paper, "In Search of an Understandable Consensus Algorithm (Extended Version)".
import type { ConfChange } from "./confchange.ts";
import { applyConfChange as nextConfState, decodeConfChange } from "./confchange.ts";
import { Inflights } from "./inflights.ts";
import { RaftLog, isCompacted } from "./log.ts";
import type { ConfState, Entry, HardState, Message, MessageType as MessageTypeT, Snapshot } from "./messages.ts";
import { EntryType, MessageType, NONE, entriesSize, isEmptyHardState, isEmptySnapshot, message, voteResponseType } from "./messages.ts";
import { Progress, ProgressState } from "./progress.ts";
import { VoteResult, majorityCommittedIndex, majorityVoteResult } from "./quorum.ts";
import type { ReadState } from "./read-only.ts";
import { ReadOnly, ReadOnlyOption } from "./read-only.ts";
import type { Storage } from "./storage.ts";
import { StorageErrorCode, isStorageError } from "./storage.ts";

export const StateType = {
  Follower: "StateFollower",
  Candidate: "StateCandidate",
  Leader: "StateLeader",
  PreCandidate: "StatePreCandidate",
} as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** Why a step was refused; the caller may retry elsewhere or later. */
export const StepError = {
  /** No leader known, leadership transfer in progress, or the uncommitted limit is hit. */
  ProposalDropped: "raft proposal dropped",
  StepLocalMsg: "raft: cannot step raft local message",
  StepPeerNotFound: "raft: cannot step as peer not found",
} as const;
export type StepError = (typeof StepError)[keyof typeof StepError];

/** Uniform floats in [0, 1); src/runtime's Rng satisfies it. */
export interface RandomSource {
  float(): number;
}

export const CampaignType = {
  PreElection: "CampaignPreElection",
  Election: "CampaignElection",
  Transfer: "CampaignTransfer",
} as const;
export type CampaignType = (typeof CampaignType)[keyof typeof CampaignType];

const campaignTransferContext = new TextEncoder().encode(CampaignType.Transfer);

export interface RaftConfig {
  /** This node's id, never 0. */
  id: number;
  /** Ticks a follower waits without hearing from a leader before campaigning (randomized in [electionTick, 2·electionTick)). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  heartbeatTick: number;
  storage: Storage;
  rng: RandomSource;
  /** The last index the host has applied; entries ≤ applied are not handed out again after a restart. */
  applied?: number;
  /** Byte limit of one MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Byte limit of committed entries in one Ready. Default unlimited. */
  maxCommittedSizePerReady?: number;
  /**
   * Byte limit of committed entries handed to the host and not yet applied (a host applying
   * aside queues them behind a large entry being prepared); more are handed out as those
   * apply. At least one entry is always handed out. Default unlimited.
   */
  maxApplyingBytes?: number;
  /** Byte limit of proposed but uncommitted entries at the leader; 0 = unlimited. */
  maxUncommittedEntriesSize?: number;
  /** MsgApp messages in flight per follower while replicating. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes in flight per follower; 0 = unlimited. */
  maxInflightBytes?: number;
  /** The leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum?: boolean;
  /** §9.6 of the thesis: a pre-election round keeps a partitioned node from disrupting the term. */
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  /**
   * Ticks subtracted from the election timeout when judging the leader lease, covering tick
   * quantisation on both sides and clock drift (default 2 + 10% of electionTick).
   */
  leaseMarginTicks?: number;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /**
   * A commit does not send every follower a message of its own to tell it: the new commit
   * index rides on the next MsgApp or heartbeat, and the host calls sendCommitNotices() after
   * a short delay for followers nothing reached meanwhile (hashicorp/raft's commit timeout).
   * Under a stream of writes that halves the messages per write. Default: sent at once (etcd).
   */
  deferCommitNotices?: boolean;
}

export interface SoftState {
  lead: number;
  raftState: StateType;
}

type StepFn = (r: Raft, m: Message) => StepError | undefined;

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  prs = new Map<number, Progress>();
  voters = new Set<number>();
  learners = new Set<number>();
  state: StateType = StateType.Follower;
  isLearner = false;
  votes = new Map<number, boolean>();
  msgs: Message[] = [];
  lead = NONE;
  /** The follower being handed leadership; proposals are dropped meanwhile. */
  leadTransferee = NONE;
  /** Only one conf change may be pending: its index (it must be applied before the next). */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  /**
   * A leader's heartbeat showed this node lost entries it had acknowledged (handleHeartbeat):
   * it grants no vote until its log reaches this index again. Otherwise, should the leader
   * fail before it catches up, its vote could elect a candidate missing committed entries.
   */
  votesWithheldBelow = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly leaseMarginTicks: number;
  readonly deferCommitNotices: boolean;
  /** Leader: the commit index moved and some follower may not have been sent it yet. */
  commitNoticeDue = false;
  /** Ticks since boot: the leader's clock for lease accounting. */
  ticks = 0;
  /** Ticks since this node last heard from a leader; a node in lease refuses to help depose it. */
  leaseElapsed: number;
  /** A MsgTimeoutNow went out this term: a forced election may bypass follower leases. */
  transferAttempted = false;
  pendingReadIndexMessages: Message[] = [];
  private readonly rng: RandomSource;
  private tickFn: () => void;
  private stepFn: StepFn;

  constructor(c: RaftConfig) {
    if (c.id === NONE) throw new Error("cannot use none as id");
    if (c.heartbeatTick <= 0) throw new Error("heartbeat tick must be greater than 0");
    if (c.electionTick <= c.heartbeatTick) throw new Error("election tick must be greater than heartbeat tick");
    const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
    if (readOnlyOption === ReadOnlyOption.LeaseBased && !c.checkQuorum) {
      throw new Error("checkQuorum must be enabled when readOnlyOption is ReadOnlyLeaseBased");
    }
    this.id = c.id;
    this.rng = c.rng;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER, c.maxApplyingBytes ?? Number.MAX_SAFE_INTEGER);
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.maxInflightMsgs = c.maxInflightMsgs ?? 256;
    this.maxInflightBytes = c.maxInflightBytes ?? 0;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.leaseMarginTicks = c.leaseMarginTicks ?? 2 + Math.ceil(c.electionTick / 10);
    this.deferCommitNotices = c.deferCommitNotices ?? false;
    this.readOnly = new ReadOnly(readOnlyOption);
    // A node that just booted may have acknowledged a leader before it crashed: it honours
    // that lease for one election timeout so lease reads stay safe across restarts.
    this.leaseElapsed = readOnlyOption === ReadOnlyOption.LeaseBased ? 0 : c.electionTick;
    this.tickFn = () => this.tickElection();
    this.stepFn = stepFollower;

    const { hardState, confState } = c.storage.initialState();
    this.applyConfState(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    // A snapshot holds applied, hence committed, state: its index is committed even when the
    // commit index persisted beside it is older (hosts apply before the next hard state).
    const snapshotIndex = c.storage.snapshot().metadata.index;
    if (snapshotIndex > this.raftLog.committed) this.raftLog.committed = snapshotIndex;
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  hasLeader(): boolean {
    return this.lead !== NONE;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === MessageType.Vote || m.type === MessageType.VoteResp || m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp) {
      // Votes carry the term being campaigned for, which may not be ours yet (pre-vote).
      if (m.term === 0) throw new Error(`term should be set when sending ${m.type}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader are local messages there.
      if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends entries (or a snapshot when they are compacted) to `to` if flow control allows.
   * Returns whether a message was sent.
   */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    let logTerm: number | undefined;
    let ents: Entry[] = [];
    let compacted = false;
    try {
      logTerm = this.raftLog.term(pr.next - 1);
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (err) {
      if (!isCompacted(err) && !isStorageError(err, StorageErrorCode.Unavailable)) throw err;
      compacted = true;
    }
    if (!compacted && ents.length === 0 && !sendIfEmpty) return false;
    if (compacted) {
      // The follower needs entries we no longer hold: InstallSnapshot (§7).
      if (!pr.recentActive) return false;
      let snap: Snapshot;
      try {
        snap = this.raftLog.snapshot();
      } catch (err) {
        if (isStorageError(err, StorageErrorCode.SnapshotTemporarilyUnavailable)) return false;
        throw err;
      }
      if (isEmptySnapshot(snap)) throw new Error("need non-empty snapshot");
      pr.becomeSnapshot(snap.metadata.index);
      this.send(message({ type: MessageType.Snap, to, snapshot: snap }));
      return true;
    }
    this.send(
      message({ type: MessageType.App, to, index: pr.next - 1, logTerm: logTerm ?? 0, entries: ents, commit: this.raftLog.committed }),
    );
    pr.sentCommit = Math.max(pr.sentCommit, this.raftLog.committed);
    pr.sentEntries(ents.length, entriesSize(ents));
    return true;
  }

  /** Heartbeats carry the commit index only up to what the follower is known to hold. */
  sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.prs.get(to);
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    if (pr) pr.sentCommit = Math.max(pr.sentCommit, commit);
    this.send(message({ type: MessageType.Heartbeat, to, commit, index: this.ticks, context: ctx }));
  }

  bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** Leader: tells the followers not yet sent the current commit index (deferCommitNotices). */
  sendCommitNotices(): void {
    if (!this.commitNoticeDue) return;
    this.commitNoticeDue = false;
    if (this.state !== StateType.Leader) return;
    const committed = this.raftLog.committed;
    for (const [id, pr] of this.prs) if (id !== this.id && pr.sentCommit < committed) this.sendAppend(id);
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  /** §5.3, §5.4: advance commit to what a majority holds, counting only current-term entries. */
  maybeCommit(): boolean {
    const mci = majorityCommittedIndex(this.voters, (id) => this.prs.get(id)?.match);
    return this.raftLog.maybeCommit(mci, this.term);
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.transferAttempted = false;
    this.votes = new Map();
    const last = this.raftLog.lastIndex();
    for (const [id, old] of this.prs) {
      const pr = new Progress(last + 1, new Inflights(this.maxInflightMsgs, this.maxInflightBytes), old.isLearner);
      // Its own log counts only as far as it is durable (see ownLogDurable): entries still
      // being written when it wins an election count once their write is reported.
      if (id === this.id) pr.match = this.raftLog.stableLastIndex();
      this.prs.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.commitNoticeDue = false;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i] = { ...es[i], term: this.term, index: li + 1 + i };
    }
    if (!this.increaseUncommittedSize(es)) return false;
    this.raftLog.append(es);
    // The leader's own entries count toward the quorum only once they are durable here
    // (ownLogDurable, from RawNode.advance), as in etcd-io/raft, where the leader acknowledges
    // its own append after the write. So "committed" always means durable on a majority, and
    // the leader's write runs in parallel with the followers' instead of gating the commit:
    // two followers' acknowledgements commit an entry the leader is still writing.
    return true;
  }

  /**
   * The host's write of this node's log finished (RawNode.advance): as leader, its own entries
   * through the stable index now count toward the quorum, as a follower's acknowledgement does.
   */
  ownLogDurable(): void {
    if (this.state !== StateType.Leader) return;
    const pr = this.prs.get(this.id);
    if (!pr || !pr.maybeUpdate(this.raftLog.stableLastIndex())) return;
    if (this.maybeCommit()) this.afterLeaderCommit();
  }

  /** A commit at the leader: pending reads may go, and the followers hear of it. */
  afterLeaderCommit(): void {
    this.releasePendingReadIndexMessages();
    if (this.deferCommitNotices) {
      this.commitNoticeDue = true;
      // Entries not sent yet still go now; only the bare commit notice waits.
      for (const id of this.prs.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    } else {
      this.bcastAppend();
    }
  }

  tick(): void {
    this.ticks++;
    this.leaseElapsed++;
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ from: this.id, type: MessageType.Hup }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ from: this.id, type: MessageType.CheckQuorum }));
      // §3.10 of the thesis: a transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ from: this.id, type: MessageType.Beat }));
    }
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error("invalid transition [leader -> candidate]");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new Error("invalid transition [leader -> pre-candidate]");
    // A pre-candidate changes neither term nor vote: it only asks whether it could win.
    this.stepFn = stepCandidate;
    this.votes = new Map();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error("invalid transition [follower -> leader]");
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateType.Leader;
    this.prs.get(this.id)?.becomeReplicate();
    // Conf changes in the uncommitted tail may be pending: wait for them before another.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // §5.4.2 / §8: a no-op entry of the new term lets the leader commit earlier-term entries
    // and learn the commit index for ReadIndex.
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }])) {
      throw new Error("empty entry was dropped");
    }
    // The no-op does not count against the uncommitted limit.
    this.uncommittedSize = 0;
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // A conf change committed but not applied could change who may vote: apply it first.
    if (this.raftLog.committed > this.raftLog.applied) {
      const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
      const ents = lo <= this.raftLog.committed ? this.raftLog.slice(lo, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER) : [];
      if (ents.some((e) => e.type === EntryType.ConfChange)) return;
    }
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) return;
    let voteMsg: MessageTypeT;
    let term: number;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      // Pre-votes are asked for the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    const res = this.poll(this.id, voteResponseType(voteMsg), true);
    if (res === VoteResult.Won) {
      // A single-voter cluster wins at once.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const ids = [...this.voters].sort((a, b) => a - b);
    for (const id of ids) {
      if (id === this.id) continue;
      this.send(
        message({
          term,
          to: id,
          type: voteMsg,
          index: this.raftLog.lastIndex(),
          logTerm: this.raftLog.lastTerm(),
          context: t === CampaignType.Transfer ? campaignTransferContext : undefined,
        }),
      );
    }
  }

  poll(id: number, _t: MessageTypeT, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return majorityVoteResult(this.voters, this.votes);
  }

  step(m: Message): StepError | undefined {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.context !== undefined && bytesEqual(m.context, campaignTransferContext);
        // §6 of the thesis: a node that heard from a leader within the minimum election
        // timeout does not help depose it, which keeps the leader lease sound.
        const inLease = this.checkQuorum && (this.state === StateType.Leader || this.leaseElapsed < this.electionTimeout);
        if (!force && inLease) return undefined;
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // The term in a granted pre-vote is the one we will campaign for if we win.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader cut off by a partition learns the new term from our answer and steps
        // down; otherwise, with pre-vote or check-quorum, we might never raise its term.
        this.send(message({ to: m.from, type: MessageType.AppResp }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ to: m.from, term: this.term, type: MessageType.PreVoteResp, reject: true }));
      }
      return undefined;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return undefined;
      case MessageType.Vote:
      case MessageType.PreVote: {
        // §5.2: one vote per term; a repeated request from the same candidate is granted again.
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        // §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours.
        const logIntact = this.raftLog.lastIndex() >= this.votesWithheldBelow;
        if (canVote && logIntact && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send(message({ to: m.from, term: m.term, type: voteResponseType(m.type) }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ to: m.from, term: this.term, type: voteResponseType(m.type), reject: true }));
        }
        return undefined;
      }
      default:
        return this.stepFn(this, m);
    }
  }

  promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner && this.raftLog.unstable.snapshot === undefined;
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.rng.float() * this.electionTimeout);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  sendTimeoutNow(to: number): void {
    this.transferAttempted = true;
    this.send(message({ to, type: MessageType.TimeoutNow }));
  }

  /** A quorum of voters was heard from since the last check (the leader counts itself). */
  quorumActive(): boolean {
    const votes = new Map<number, boolean>();
    for (const [id, pr] of this.prs) {
      if (pr.isLearner) continue;
      votes.set(id, id === this.id || pr.recentActive);
    }
    return majorityVoteResult(this.voters, votes) === VoteResult.Won;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrUndefined(this.raftLog.committed) === this.term;
  }

  /**
   * The leader lease holds while a quorum acknowledged a heartbeat sent less than
   * electionTimeout - margin ticks ago: those followers refuse to vote for anyone else until
   * a full election timeout after they received it.
   */
  leaseValid(): boolean {
    if (this.readOnly.option !== ReadOnlyOption.LeaseBased || this.transferAttempted || this.leadTransferee !== NONE) return false;
    const acked = majorityCommittedIndex(this.voters, (id) => (id === this.id ? this.ticks : this.prs.get(id)?.leaseAckTick));
    return this.ticks - acked < this.electionTimeout - this.leaseMarginTicks;
  }

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(message({ to: m.from, type: MessageType.AppResp, index: this.raftLog.committed }));
      return;
    }
    const mlastIndex = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (mlastIndex !== undefined) {
      this.send(message({ to: m.from, type: MessageType.AppResp, index: mlastIndex }));
      return;
    }
    // §5.3: reject, hinting the last index whose term is ≤ the leader's logTerm so the leader
    // can skip every mismatching entry of that term at once.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(
      message({ to: m.from, type: MessageType.AppResp, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
    );
  }

  handleHeartbeat(m: Message): void {
    const last = this.raftLog.lastIndex();
    if (m.commit > last) {
      // The leader sends at most what we acknowledged, so we lost entries we had made durable:
      // this server was restarted with an empty (or older) data dir. etcd stops here; Consul's
      // raft lets such a server rejoin under its old id and catch up, and so do we: commit what
      // we hold and tell the leader where our log ends (a rejecting heartbeat answer, still an
      // acknowledgement of its leadership) so it replicates, or sends a snapshot, from there.
      this.raftLog.commitTo(last);
      this.votesWithheldBelow = Math.max(this.votesWithheldBelow, m.commit);
      this.send(message({ to: m.from, type: MessageType.HeartbeatResp, index: m.index, context: m.context, reject: true, rejectHint: last }));
      return;
    }
    this.raftLog.commitTo(m.commit);
    this.send(message({ to: m.from, type: MessageType.HeartbeatResp, index: m.index, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (snap && this.restore(snap)) {
      this.send(message({ to: m.from, type: MessageType.AppResp, index: this.raftLog.lastIndex() }));
    } else {
      this.send(message({ to: m.from, type: MessageType.AppResp, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot from the leader; false when it holds nothing new for us. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a leader of a newer term could have sent it; make sure we are not one ourselves.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.prs = new Map();
    this.applyConfState(cs);
    return true;
  }

  /** Switches to a new configuration: progress for new members, none for removed ones. */
  applyConfState(cs: ConfState): void {
    const last = this.raftLog.lastIndex();
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners);
    const members = new Set([...cs.voters, ...cs.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      let pr = this.prs.get(id);
      if (!pr) {
        pr = new Progress(last + 1, new Inflights(this.maxInflightMsgs, this.maxInflightBytes), false);
        // A new member counts as active so the leader does not step down (or refuse it a
        // snapshot) before it has had a chance to answer.
        pr.recentActive = true;
        this.prs.set(id, pr);
      }
      pr.isLearner = this.learners.has(id);
    }
    const self = this.prs.get(this.id);
    this.isLearner = self?.isLearner ?? false;
  }

  /** The host applies a committed conf change entry; returns the resulting configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    const next = nextConfState(this.confState(), cc);
    if (typeof next === "string") return this.confState();
    this.applyConfState(next);
    if (this.state !== StateType.Leader) return next;
    if (!this.prs.has(this.id) || this.isLearner) {
      // The leader was removed: it steps down and the others elect a new one.
      this.becomeFollower(this.term, NONE);
      return next;
    }
    if (this.leadTransferee !== NONE && !this.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    // A smaller quorum may now commit more; new members need the log.
    if (this.maybeCommit()) this.releasePendingReadIndexMessages();
    this.bcastAppend();
    return next;
  }

  loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(`hs.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    // A snapshot persisted without the hard state written after it (a torn write) is still
    // committed: never move the commit index below it.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += e.data.byteLength;
    if (this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += e.data.byteLength;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - s);
  }

  /** ReadIndex requests that arrived before the leader committed in its term are served now. */
  releasePendingReadIndexMessages(): void {
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }

  sendMsgReadIndexResponse(m: Message): void {
    if (this.leaseValid()) {
      this.responseToReadIndexReq(m, this.raftLog.committed);
      return;
    }
    const ctx = m.entries[0]?.data;
    this.readOnly.addRequest(this.raftLog.committed, m);
    // The leader acknowledges itself; the heartbeat round collects the rest.
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeatWithCtx(ctx);
  }

  responseToReadIndexReq(req: Message, readIndex: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]?.data ?? new Uint8Array(0) });
      return;
    }
    this.send(message({ type: MessageType.ReadIndexResp, to: req.from, index: readIndex, entries: req.entries }));
  }

  isSingleVoter(): boolean {
    return this.voters.size === 1 && this.voters.has(this.id);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function stepLeader(r: Raft, m: Message): StepError | undefined {
  switch (m.type) {
    case MessageType.Beat:
      r.bcastHeartbeat();
      return undefined;
    case MessageType.CheckQuorum:
      if (!r.quorumActive()) r.becomeFollower(r.term, NONE);
      for (const [id, pr] of r.prs) if (id !== r.id) pr.recentActive = false;
      return undefined;
    case MessageType.Prop: {
      if (m.entries.length === 0) throw new Error("stepped empty MsgProp");
      // A removed leader, or one handing over leadership, accepts nothing new.
      if (!r.prs.has(r.id) || r.leadTransferee !== NONE) return StepError.ProposalDropped;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i];
        if (e.type !== EntryType.ConfChange) continue;
        // One membership change at a time: the previous one must be applied first.
        if (r.pendingConfIndex > r.raftLog.applied) return StepError.ProposalDropped;
        if (typeof nextConfState(r.confState(), decodeConfChange(e.data)) === "string") return StepError.ProposalDropped;
        r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
      }
      if (!r.appendEntry(m.entries)) return StepError.ProposalDropped;
      r.bcastAppend();
      return undefined;
    }
    case MessageType.ReadIndex:
      if (r.isSingleVoter()) {
        r.responseToReadIndexReq(m, r.raftLog.committed);
        return undefined;
      }
      // §6.4 of the thesis: the commit index is only known to be current once the leader
      // committed an entry of its own term.
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return undefined;
      }
      r.sendMsgReadIndexResponse(m);
      return undefined;
    default:
      break;
  }

  const pr = r.prs.get(m.from);
  if (!pr) return undefined;
  switch (m.type) {
    case MessageType.AppResp:
      pr.recentActive = true;
      if (m.reject) {
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
      } else {
        const oldPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
          if (pr.state === ProgressState.Probe) {
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
            // The follower caught up from the snapshot; resume normal replication.
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Replicate) {
            pr.inflights.freeLE(m.index);
          }
          if (r.maybeCommit()) {
            r.afterLeaderCommit();
          } else if (oldPaused) {
            r.sendAppend(m.from);
          }
          // Pipelining: keep sending while flow control allows.
          while (r.maybeSendAppend(m.from, false)) {
            // each call sends one MsgApp
          }
          if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(m.from);
        }
      }
      return undefined;
    case MessageType.HeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      if (m.index > pr.leaseAckTick) pr.leaseAckTick = m.index;
      if (m.reject && m.rejectHint < pr.match && pr.state !== ProgressState.Snapshot) {
        // The follower lost entries it had acknowledged (see handleHeartbeat): its log ends at
        // the hint. Probe from there; entries already compacted away go as a snapshot.
        pr.match = m.rejectHint;
        pr.becomeProbe();
      }
      // A stalled pipeline (lost MsgApps) frees one slot per heartbeat to probe again.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressState.Probe) r.sendAppend(m.from);
      if (!m.context || m.context.byteLength === 0) return undefined;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return undefined;
      const votes = new Map<number, boolean>();
      for (const id of acks) votes.set(id, true);
      if (majorityVoteResult(r.voters, votes) !== VoteResult.Won) return undefined;
      for (const rs of r.readOnly.advance(m.context)) r.responseToReadIndexReq(rs.req, rs.index);
      return undefined;
    }
    case MessageType.SnapStatus:
      if (pr.state !== ProgressState.Snapshot) return undefined;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for the follower's answer (or the next heartbeat) before sending more.
      pr.msgAppFlowPaused = true;
      return undefined;
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return undefined;
    case MessageType.TransferLeader: {
      if (pr.isLearner) return undefined;
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return undefined;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return undefined;
      // §3.10 of the thesis: the transfer must finish within one election timeout.
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
      else r.sendAppend(transferee);
      return undefined;
    }
    default:
      return undefined;
  }
}

function stepCandidate(r: Raft, m: Message): StepError | undefined {
  const myVoteRespType = r.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
    case MessageType.ReadIndex:
      return StepError.ProposalDropped;
    case MessageType.App:
      // §5.2: a candidate that hears from a leader of its term returns to follower.
      r.becomeFollower(m.term, m.from);
      r.leaseElapsed = 0;
      r.handleAppendEntries(m);
      return undefined;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      r.leaseElapsed = 0;
      r.handleHeartbeat(m);
      return undefined;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      r.leaseElapsed = 0;
      r.handleSnapshot(m);
      return undefined;
    case myVoteRespType: {
      const res = r.poll(m.from, m.type, !m.reject);
      if (res === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) {
          r.campaign(CampaignType.Election);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === VoteResult.Lost) {
        // A rejected pre-vote with a higher term was already handled by step().
        r.becomeFollower(r.term, NONE);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function stepFollower(r: Raft, m: Message): StepError | undefined {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE || r.disableProposalForwarding) return StepError.ProposalDropped;
      r.send({ ...m, to: r.lead, term: 0 });
      return undefined;
    case MessageType.App:
      r.electionElapsed = 0;
      r.leaseElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return undefined;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.leaseElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return undefined;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.leaseElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return undefined;
    case MessageType.TransferLeader:
      if (r.lead === NONE) return undefined;
      // Forwarded copies are re-stamped with our term (the original may carry an older one).
      r.send({ ...m, to: r.lead, term: 0 });
      return undefined;
    case MessageType.TimeoutNow:
      // §3.10 of the thesis: the transferee starts an election at once, skipping pre-vote and
      // overriding follower leases (the leader stopped serving lease reads when it sent this).
      r.hup(CampaignType.Transfer);
      return undefined;
    case MessageType.ReadIndex:
      if (r.lead === NONE) return StepError.ProposalDropped;
      r.send({ ...m, to: r.lead, term: 0 });
      return undefined;
    case MessageType.ReadIndexResp:
      if (m.entries.length !== 1) return undefined;
      r.readStates.push({ index: m.index, requestCtx: m.entries[0].data });
      return undefined;
    default:
      return undefined;
  }
}
