import type { ConfState, Entry, EntryType, Message, MessageType, Snapshot } from "../raft/messages.ts";
import { EntryType as EntryTypes, MessageType as MessageTypes } from "../raft/messages.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";

// The Raft connection's frames: msgpack, but written and read by hand for one fixed shape.
// AppendEntries is the hottest thing a server encodes and decodes, and a generic encoder
// naming every key cost a third of the Raft benchmark's CPU. Any msgpack decoder still reads
// these frames (the tests check that with msgpackr); ours accepts only the exact shape below.
// Numbers are float64 (exact for every safe integer; Raft ids, terms and indexes stay below
// 2^53), byte strings bin32, lists array32. Each frame is [u32be length][msgpack array]:
//
//   message  = [1, msg]
//   snapshot = [2, id, offset, total, msg | nil, chunk]          (msg on the first piece only)
//   msg      = [type, reject, to, from, term, logTerm, index, commit, rejectHint,
//               context | nil, [index, term, [voters…], [learners…], data] | nil,
//               [[term, index, entryType, data]…]]
//
// `type` and `entryType` are small codes (positive fixints), `reject` a msgpack bool.

const Marker = { Nil: 0xc0, False: 0xc2, True: 0xc3, Bin32: 0xc6, Float64: 0xcb, Array32: 0xdd, FixArray: 0x90 } as const;
const MESSAGE_FIELDS = 12;
const SNAPSHOT_FIELDS = 5;
const ENTRY_FIELDS = 4;

const FrameKind = { Message: 1, SnapshotChunk: 2 } as const;

const MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageTypes);
const MESSAGE_TYPE_CODE = new Map<MessageType, number>(MESSAGE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPES: readonly EntryType[] = [EntryTypes.Normal, EntryTypes.ConfChange];
const ENTRY_TYPE_CODE = new Map<EntryType, number>(ENTRY_TYPES.map((t, i) => [t, i]));

const F64 = 9;
const BIN_HEADER = 5;
const ARRAY_HEADER = 5;
/** fixarray marker, type, reject, seven numbers, context nil, snapshot nil, entries header. */
const MESSAGE_FIXED_BYTES = 1 + 1 + 1 + 7 * F64 + 1 + 1 + ARRAY_HEADER;
const ENTRY_FIXED_BYTES = 1 + F64 + F64 + 1 + BIN_HEADER;

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
  return 1 + 2 * F64 + ARRAY_HEADER + F64 * cs.voters.length + ARRAY_HEADER + F64 * cs.learners.length + BIN_HEADER + s.data.byteLength;
}

function messageBytes(m: Message): number {
  let n = MESSAGE_FIXED_BYTES;
  // The nil placeholders counted in the fixed part are replaced by the values.
  if (m.context) n += BIN_HEADER + m.context.byteLength - 1;
  if (m.snapshot) n += snapshotBytes(m.snapshot) - 1;
  for (const e of m.entries) n += ENTRY_FIXED_BYTES + e.data.byteLength;
  return n;
}

/**
 * Entry data of at least this size is not copied into the frame: the frame goes out as pieces,
 * that data among them by reference (one vectored socket write), since copying a 77 MB
 * restore entry once per follower held the leader's event loop for tens of ms.
 */
export const LARGE_ENTRY_PIECE_BYTES = 64 * 1024;

class Writer {
  readonly buf: Buffer;
  at: number;
  /** Pieces before `runStart`, when large entry data was left out of `buf`. */
  readonly pieces: Buffer[] = [];
  #runStart = 0;
  /** `size`: the frame's payload length; `outside`: bytes of it that large entries carry by reference. */
  constructor(size: number, outside = 0) {
    this.buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + size - outside);
    this.buf.writeUInt32BE(size, 0);
    this.at = FRAME_HEADER_BYTES;
  }
  /** Large entry data as a piece of its own, after what was written so far. */
  outside(v: Uint8Array): void {
    this.buf[this.at] = Marker.Bin32;
    this.buf.writeUInt32BE(v.byteLength, this.at + 1);
    this.at += BIN_HEADER;
    this.pieces.push(this.buf.subarray(this.#runStart, this.at), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    this.#runStart = this.at;
  }
  /** The frame as pieces to write in order. */
  finish(): Buffer[] {
    if (this.at > this.#runStart || this.pieces.length === 0) this.pieces.push(this.buf.subarray(this.#runStart, this.at));
    return this.pieces;
  }
  raw(byte: number): void {
    this.buf[this.at++] = byte;
  }
  /** A small code (0–127) as a positive fixint. */
  code(v: number): void {
    this.buf[this.at++] = v & 0x7f;
  }
  bool(v: boolean): void {
    this.buf[this.at++] = v ? Marker.True : Marker.False;
  }
  f64(v: number): void {
    this.buf[this.at] = Marker.Float64;
    this.buf.writeDoubleBE(v, this.at + 1);
    this.at += F64;
  }
  array(length: number): void {
    this.buf[this.at] = Marker.Array32;
    this.buf.writeUInt32BE(length, this.at + 1);
    this.at += ARRAY_HEADER;
  }
  bytes(v: Uint8Array): void {
    this.buf[this.at] = Marker.Bin32;
    this.buf.writeUInt32BE(v.byteLength, this.at + 1);
    this.buf.set(v, this.at + BIN_HEADER);
    this.at += BIN_HEADER + v.byteLength;
  }
  ids(v: readonly number[]): void {
    this.array(v.length);
    for (const id of v) this.f64(id);
  }
}

function writeMessage(w: Writer, m: Message, piecewise = false): void {
  const code = MESSAGE_TYPE_CODE.get(m.type);
  if (code === undefined) throw new RaftWireError(`unknown message type ${String(m.type)}`);
  w.raw(Marker.FixArray | MESSAGE_FIELDS);
  w.code(code);
  w.bool(m.reject);
  w.f64(m.to);
  w.f64(m.from);
  w.f64(m.term);
  w.f64(m.logTerm);
  w.f64(m.index);
  w.f64(m.commit);
  w.f64(m.rejectHint);
  if (m.context) w.bytes(m.context);
  else w.raw(Marker.Nil);
  if (m.snapshot) {
    const { metadata, data } = m.snapshot;
    w.raw(Marker.FixArray | SNAPSHOT_FIELDS);
    w.f64(metadata.index);
    w.f64(metadata.term);
    w.ids(metadata.confState.voters);
    w.ids(metadata.confState.learners);
    w.bytes(data);
  } else {
    w.raw(Marker.Nil);
  }
  w.array(m.entries.length);
  for (const e of m.entries) {
    w.raw(Marker.FixArray | ENTRY_FIELDS);
    w.f64(e.term);
    w.f64(e.index);
    w.code(ENTRY_TYPE_CODE.get(e.type) ?? 0);
    if (piecewise && e.data.byteLength >= LARGE_ENTRY_PIECE_BYTES) w.outside(e.data);
    else w.bytes(e.data);
  }
}

function largeEntryBytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) if (e.data.byteLength >= LARGE_ENTRY_PIECE_BYTES) n += e.data.byteLength;
  return n;
}

/**
 * A Raft message's frame as pieces for one vectored write: large entries' data is not copied
 * but referenced (it must not change until written; entries never do). Same bytes as
 * encodeMessageFrame.
 */
export function encodeMessageFramePieces(m: Message): Buffer[] {
  const w = new Writer(1 + 1 + messageBytes(m), largeEntryBytes(m));
  w.raw(Marker.FixArray | 2);
  w.code(FrameKind.Message);
  writeMessage(w, m, true);
  return w.finish();
}

/** One whole frame (length header included) for a Raft message. */
export function encodeMessageFrame(m: Message): Buffer {
  const w = new Writer(1 + 1 + messageBytes(m));
  w.raw(Marker.FixArray | 2);
  w.code(FrameKind.Message);
  writeMessage(w, m);
  return w.buf;
}

/** One whole frame for a piece of a snapshot; `m` (sent with the first piece) must carry a snapshot with empty data. */
export function encodeSnapshotChunkFrame(id: number, offset: number, total: number, chunk: Uint8Array, m?: Message): Buffer {
  const w = new Writer(1 + 1 + 3 * F64 + (m ? messageBytes(m) : 1) + BIN_HEADER + chunk.byteLength);
  w.raw(Marker.FixArray | 6);
  w.code(FrameKind.SnapshotChunk);
  w.f64(id);
  w.f64(offset);
  w.f64(total);
  if (m) writeMessage(w, m);
  else w.raw(Marker.Nil);
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
  /** Fails early when fewer than `n` bytes remain (a list's claimed length cannot fit). */
  need(n: number): void {
    if (this.at + n > this.#bytes.byteLength) throw new RaftWireError("raft frame ends early");
  }
  #expect(marker: number, what: string): void {
    this.need(1);
    if (this.#bytes[this.at] !== marker) throw new RaftWireError(`raft frame: expected ${what}`);
    this.at++;
  }
  /** True (and consumed) when the next value is nil. */
  nil(): boolean {
    this.need(1);
    if (this.#bytes[this.at] !== Marker.Nil) return false;
    this.at++;
    return true;
  }
  fixArray(length: number): void {
    this.#expect(Marker.FixArray | length, `an array of ${length}`);
  }
  code(): number {
    this.need(1);
    const v = this.#bytes[this.at];
    if (v > 0x7f) throw new RaftWireError("raft frame: expected a small code");
    this.at++;
    return v;
  }
  bool(): boolean {
    this.need(1);
    const v = this.#bytes[this.at++];
    if (v === Marker.True) return true;
    if (v === Marker.False) return false;
    throw new RaftWireError("raft frame: expected a bool");
  }
  count(): number {
    this.#expect(Marker.Float64, "a number");
    this.need(8);
    const v = this.#view.getFloat64(this.at, false);
    this.at += 8;
    if (!Number.isSafeInteger(v) || v < 0) throw new RaftWireError(`raft frame: ${v} is not a count`);
    return v;
  }
  arrayLength(): number {
    this.#expect(Marker.Array32, "a list");
    this.need(4);
    const n = this.#view.getUint32(this.at, false);
    this.at += 4;
    return n;
  }
  bytes(): Uint8Array {
    this.#expect(Marker.Bin32, "bytes");
    this.need(4);
    const n = this.#view.getUint32(this.at, false);
    this.at += 4;
    this.need(n);
    // A plain view even when the input is a Buffer: consumers compare and store Uint8Arrays.
    const v = new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.at, n);
    this.at += n;
    return v;
  }
  ids(): number[] {
    const n = this.arrayLength();
    this.need(n * F64);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.count();
    return out;
  }
  get done(): boolean {
    return this.at === this.#bytes.byteLength;
  }

  /**
   * One entry, [term, index, type, data], read with a single bounds check for its fixed part:
   * AppendEntries carries hundreds of them, and field-by-field reads were the decoder's cost.
   */
  entry(): Entry {
    this.need(ENTRY_FIXED_BYTES);
    const b = this.#bytes;
    const v = this.#view;
    const at = this.at;
    if (b[at] !== (Marker.FixArray | ENTRY_FIELDS) || b[at + 1] !== Marker.Float64 || b[at + 10] !== Marker.Float64 || b[at + 20] !== Marker.Bin32) {
      throw new RaftWireError("raft frame: malformed entry");
    }
    const term = v.getFloat64(at + 2, false);
    const index = v.getFloat64(at + 11, false);
    if (!Number.isSafeInteger(term) || term < 0 || !Number.isSafeInteger(index) || index < 0) {
      throw new RaftWireError(`raft frame: ${term}/${index} is not a count`);
    }
    const type = b[at + 19] <= 0x7f ? ENTRY_TYPES[b[at + 19]] : undefined;
    if (type === undefined) throw new RaftWireError("raft frame: unknown entry type");
    const length = v.getUint32(at + 21, false);
    this.at = at + ENTRY_FIXED_BYTES;
    this.need(length);
    const data = new Uint8Array(b.buffer, b.byteOffset + this.at, length);
    this.at += length;
    return { term, index, type, data };
  }
}

function readMessage(r: Reader): Message {
  r.fixArray(MESSAGE_FIELDS);
  const type = MESSAGE_TYPES[r.code()];
  if (type === undefined) throw new RaftWireError("raft frame: unknown message type");
  const m: Message = {
    type,
    reject: r.bool(),
    to: r.count(),
    from: r.count(),
    term: r.count(),
    logTerm: r.count(),
    index: r.count(),
    commit: r.count(),
    rejectHint: r.count(),
    entries: [],
  };
  if (!r.nil()) m.context = r.bytes();
  if (!r.nil()) {
    r.fixArray(SNAPSHOT_FIELDS);
    const index = r.count();
    const term = r.count();
    const confState: ConfState = { voters: r.ids(), learners: r.ids() };
    m.snapshot = { metadata: { index, term, confState }, data: r.bytes() };
  }
  const n = r.arrayLength();
  r.need(n * ENTRY_FIXED_BYTES);
  const entries = new Array<Entry>(n);
  for (let i = 0; i < n; i++) entries[i] = r.entry();
  m.entries = entries;
  return m;
}

/**
 * Decodes one frame's payload (the bytes after the length header). Byte arrays in the result
 * point into `payload`, so pass a buffer that nothing else reuses.
 */
export function decodeRaftFrame(payload: Uint8Array): RaftFrame {
  const r = new Reader(payload);
  let frame: RaftFrame;
  if (payload[0] === (Marker.FixArray | 2)) {
    r.fixArray(2);
    if (r.code() !== FrameKind.Message) throw new RaftWireError("raft frame: unknown kind");
    frame = { kind: "message", m: readMessage(r) };
  } else if (payload[0] === (Marker.FixArray | 6)) {
    r.fixArray(6);
    if (r.code() !== FrameKind.SnapshotChunk) throw new RaftWireError("raft frame: unknown kind");
    const id = r.count();
    const offset = r.count();
    const total = r.count();
    const m = r.nil() ? undefined : readMessage(r);
    frame = { kind: "snapshot", id, offset, total, chunk: r.bytes(), m };
  } else {
    throw new RaftWireError("raft frame: unknown kind");
  }
  if (!r.done) throw new RaftWireError("raft frame: trailing bytes");
  return frame;
}
