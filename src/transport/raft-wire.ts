import type { ConfState, Entry, EntryType, Message, MessageType, Snapshot } from "../raft/messages.ts";
import { EntryType as EntryTypes, MessageType as MessageTypes } from "../raft/messages.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";

// The Raft connection's frames, in a fixed binary layout instead of msgpack: AppendEntries is
// the hottest thing a server encodes and decodes, and a layout that names no keys costs a
// fraction of a self-describing one (profiled: msgpack was a third of the Raft benchmark's
// CPU). Numbers are float64 little-endian — exact for every safe integer, and Raft ids, terms
// and indexes stay below 2^53. Each frame is [u32be length][kind u8][body]:
//
//   message  = kind 1, then msg
//   snapshot = kind 2, f64 id, f64 offset, f64 total, u8 hasMsg, [msg], bytes chunk
//   msg      = u8 type, u8 flags (1 reject, 2 context, 4 snapshot),
//              f64 to, from, term, logTerm, index, commit, rejectHint,
//              [bytes context], [f64 index, f64 term, ids voters, ids learners, bytes data],
//              u32 count, count × (f64 term, f64 index, u8 type, bytes data)
//   bytes    = u32 length, length bytes;  ids = u32 count, count × f64

const FrameKind = { Message: 1, SnapshotChunk: 2 } as const;
const Flag = { Reject: 1, Context: 2, Snapshot: 4 } as const;

const MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageTypes);
const MESSAGE_TYPE_CODE = new Map<MessageType, number>(MESSAGE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPES: readonly EntryType[] = [EntryTypes.Normal, EntryTypes.ConfChange];
const ENTRY_TYPE_CODE = new Map<EntryType, number>(ENTRY_TYPES.map((t, i) => [t, i]));

const MESSAGE_FIXED_BYTES = 2 + 7 * 8 + 4;
const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;

export type RaftFrame =
  | { kind: "message"; m: Message }
  /** A snapshot message in pieces: `m` (its snapshot without data) rides on the first chunk only. */
  | { kind: "snapshot"; id: number; offset: number; total: number; chunk: Uint8Array; m?: Message };

export class RaftWireError extends Error {
  readonly code = "raft-wire";
  constructor(message: string) {
    super(message);
    this.name = "RaftWireError";
  }
}

function snapshotBytes(s: Snapshot): number {
  const cs = s.metadata.confState;
  return 16 + 4 + 8 * cs.voters.length + 4 + 8 * cs.learners.length + 4 + s.data.byteLength;
}

function messageBytes(m: Message): number {
  let n = MESSAGE_FIXED_BYTES;
  if (m.context) n += 4 + m.context.byteLength;
  if (m.snapshot) n += snapshotBytes(m.snapshot);
  for (const e of m.entries) n += ENTRY_FIXED_BYTES + e.data.byteLength;
  return n;
}

class Writer {
  readonly buf: Buffer;
  at: number;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + size);
    this.buf.writeUInt32BE(size, 0);
    this.at = FRAME_HEADER_BYTES;
  }
  u8(v: number): void {
    this.buf[this.at++] = v;
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
  }
  f64(v: number): void {
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }
  bytes(v: Uint8Array): void {
    this.u32(v.byteLength);
    this.buf.set(v, this.at);
    this.at += v.byteLength;
  }
  ids(v: readonly number[]): void {
    this.u32(v.length);
    for (const id of v) this.f64(id);
  }
}

function writeMessage(w: Writer, m: Message): void {
  const code = MESSAGE_TYPE_CODE.get(m.type);
  if (code === undefined) throw new RaftWireError(`unknown message type ${String(m.type)}`);
  w.u8(code);
  w.u8((m.reject ? Flag.Reject : 0) | (m.context ? Flag.Context : 0) | (m.snapshot ? Flag.Snapshot : 0));
  w.f64(m.to);
  w.f64(m.from);
  w.f64(m.term);
  w.f64(m.logTerm);
  w.f64(m.index);
  w.f64(m.commit);
  w.f64(m.rejectHint);
  if (m.context) w.bytes(m.context);
  if (m.snapshot) {
    const { metadata, data } = m.snapshot;
    w.f64(metadata.index);
    w.f64(metadata.term);
    w.ids(metadata.confState.voters);
    w.ids(metadata.confState.learners);
    w.bytes(data);
  }
  w.u32(m.entries.length);
  for (const e of m.entries) {
    w.f64(e.term);
    w.f64(e.index);
    w.u8(ENTRY_TYPE_CODE.get(e.type) ?? 0);
    w.bytes(e.data);
  }
}

/** One whole frame (length header included) for a Raft message. */
export function encodeMessageFrame(m: Message): Buffer {
  const w = new Writer(1 + messageBytes(m));
  w.u8(FrameKind.Message);
  writeMessage(w, m);
  return w.buf;
}

/** One whole frame for a piece of a snapshot; `m` (sent with the first piece) must carry a snapshot with empty data. */
export function encodeSnapshotChunkFrame(id: number, offset: number, total: number, chunk: Uint8Array, m?: Message): Buffer {
  const w = new Writer(1 + 24 + 1 + (m ? messageBytes(m) : 0) + 4 + chunk.byteLength);
  w.u8(FrameKind.SnapshotChunk);
  w.f64(id);
  w.f64(offset);
  w.f64(total);
  w.u8(m ? 1 : 0);
  if (m) writeMessage(w, m);
  w.bytes(chunk);
  return w.buf;
}

class Reader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  at = 0;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number): void {
    if (this.at + n > this.#bytes.byteLength) throw new RaftWireError("raft frame ends early");
  }
  u8(): number {
    this.#need(1);
    return this.#bytes[this.at++];
  }
  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  count(): number {
    const v = this.f64();
    if (!Number.isSafeInteger(v) || v < 0) throw new RaftWireError(`raft frame: ${v} is not a count`);
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    // A plain view even when `bytes` is a Buffer: consumers compare and store Uint8Arrays.
    const v = new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.at, n);
    this.at += n;
    return v;
  }
  ids(): number[] {
    const n = this.u32();
    this.#need(n * 8);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.count();
    return out;
  }
  get done(): boolean {
    return this.at === this.#bytes.byteLength;
  }
}

function readMessage(r: Reader): Message {
  const type = MESSAGE_TYPES[r.u8()];
  if (type === undefined) throw new RaftWireError("raft frame: unknown message type");
  const flags = r.u8();
  const m: Message = {
    type,
    to: r.count(),
    from: r.count(),
    term: r.count(),
    logTerm: r.count(),
    index: r.count(),
    commit: r.count(),
    rejectHint: r.count(),
    reject: (flags & Flag.Reject) !== 0,
    entries: [],
  };
  if (flags & Flag.Context) m.context = r.bytes();
  if (flags & Flag.Snapshot) {
    const index = r.count();
    const term = r.count();
    const confState: ConfState = { voters: r.ids(), learners: r.ids() };
    m.snapshot = { metadata: { index, term, confState }, data: r.bytes() };
  }
  const n = r.u32();
  const entries = new Array<Entry>(n);
  for (let i = 0; i < n; i++) {
    const term = r.count();
    const index = r.count();
    const entryType = ENTRY_TYPES[r.u8()];
    if (entryType === undefined) throw new RaftWireError("raft frame: unknown entry type");
    entries[i] = { term, index, type: entryType, data: r.bytes() };
  }
  m.entries = entries;
  return m;
}

/**
 * Decodes one frame's payload (the bytes after the length header). Byte arrays in the result
 * point into `payload`, so pass a buffer that nothing else reuses.
 */
export function decodeRaftFrame(payload: Uint8Array): RaftFrame {
  const r = new Reader(payload);
  const kind = r.u8();
  let frame: RaftFrame;
  if (kind === FrameKind.Message) {
    frame = { kind: "message", m: readMessage(r) };
  } else if (kind === FrameKind.SnapshotChunk) {
    const id = r.count();
    const offset = r.count();
    const total = r.count();
    const m = r.u8() === 1 ? readMessage(r) : undefined;
    frame = { kind: "snapshot", id, offset, total, chunk: r.bytes(), m };
  } else {
    throw new RaftWireError(`raft frame: unknown kind ${kind}`);
  }
  if (!r.done) throw new RaftWireError("raft frame: trailing bytes");
  return frame;
}
