// The values Raft exchanges with its peers and its host. Plain data so a transport can
// encode them (msgpack) without mapping; node ids are numbers (0 means "none").

export const NONE = 0;

export const MessageType = {
  /** Local: start an election (the election timer fired or the host asked). */
  Hup: "MsgHup",
  /** Local: the leader's heartbeat timer fired. */
  Beat: "MsgBeat",
  /** Local or forwarded: propose entries. */
  Prop: "MsgProp",
  App: "MsgApp",
  AppResp: "MsgAppResp",
  Vote: "MsgVote",
  VoteResp: "MsgVoteResp",
  PreVote: "MsgPreVote",
  PreVoteResp: "MsgPreVoteResp",
  Snap: "MsgSnap",
  Heartbeat: "MsgHeartbeat",
  HeartbeatResp: "MsgHeartbeatResp",
  /** Local: the transport could not reach `from`. */
  Unreachable: "MsgUnreachable",
  /** Local: the host finished (or failed) sending a snapshot to `from`. */
  SnapStatus: "MsgSnapStatus",
  /** Local: the leader's check-quorum timer fired. */
  CheckQuorum: "MsgCheckQuorum",
  TransferLeader: "MsgTransferLeader",
  TimeoutNow: "MsgTimeoutNow",
  ReadIndex: "MsgReadIndex",
  ReadIndexResp: "MsgReadIndexResp",
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const EntryType = {
  Normal: "Normal",
  ConfChange: "ConfChange",
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to Raft; an empty array for the no-op a new leader appends. */
  data: Uint8Array;
}

/** Voters and learners of a configuration (single-step changes: no joint state is stored). */
export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface Message {
  type: MessageType;
  to: number;
  from: number;
  term: number;
  /** MsgApp: term of the entry before `entries`; votes: term of the candidate's last entry. */
  logTerm: number;
  /** MsgApp: index before `entries`; votes: candidate's last index; MsgAppResp: matched or rejected index. Heartbeats carry the leader's tick for lease accounting. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  /** ReadIndex request id (echoed in heartbeats), or the campaign kind for forced votes. */
  context?: Uint8Array;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptySnapshot(): Snapshot {
  return { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } } };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** A message with every field defaulted, so call sites name only what matters. */
export function message(fields: Partial<Message> & Pick<Message, "type">): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

/** Messages that only ever travel from the host into its own node. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus ||
    t === MessageType.CheckQuorum
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable ||
    t === MessageType.PreVoteResp
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  throw new Error(`not a vote message: ${t}`);
}

/**
 * The largest entry data servers carry. A snapshot restore is one entry holding the whole
 * state, so this bounds restorable state; frames and WAL records are sized to fit it.
 */
export const MAX_ENTRY_DATA_BYTES = 128 * 1024 * 1024;

/** Bytes an entry counts for flow control and size limits. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 16;
}

export function entriesSize(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}

/** Entries from the start whose total size stays within maxSize (always at least one). */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}
