import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";
import type { Entry, EntryType } from "../raft/messages.ts";
import { EntryType as EntryTypes, MAX_ENTRY_DATA_BYTES } from "../raft/messages.ts";

// One WAL record on disk: [u32le body length][u32le crc32(body)][body]. A zero length is
// invalid, so a zero-filled tail (a file extended but never written) reads as torn, never as a
// run of empty records. Bodies are a fixed binary layout (every entry passes through here, and
// msgpack cost more than the checksum):
//   entry  = u8 3, u8 entry type, f64le term, f64le index, data to the end
//   commit = u8 4, f64le commit
// Logs written before that hold msgpack arrays ([1, term, index, type, data] / [2, commit]),
// whose first byte is a fixarray marker (0x9X); they are still read.

export const RECORD_HEADER_BYTES = 8;
/** Bounds the length a header may claim, so garbage cannot make us read gigabytes. */
export const MAX_RECORD_BYTES = MAX_ENTRY_DATA_BYTES + 1024;

const RecordKind = { Entry: 1, Commit: 2 } as const;
const BinaryKind = { Entry: 3, Commit: 4 } as const;
const BINARY_ENTRY_HEADER_BYTES = 1 + 1 + 8 + 8;
const ENTRY_TYPE_CODE: Record<EntryType, number> = { [EntryTypes.Normal]: 0, [EntryTypes.ConfChange]: 1 };
const ENTRY_TYPE_BY_CODE: readonly EntryType[] = [EntryTypes.Normal, EntryTypes.ConfChange];

export type WalRecord = { kind: "entry"; entry: Entry } | { kind: "commit"; commit: number };

// copyBuffers: decoded byte arrays must not pin the whole read buffer for as long as they live.
const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true });

const COMMIT_BODY_BYTES = 9;

function writeEntryHeader(view: DataView, out: Uint8Array, at: number, e: Entry): void {
  out[at] = BinaryKind.Entry;
  out[at + 1] = ENTRY_TYPE_CODE[e.type];
  view.setFloat64(at + 2, e.term, true);
  view.setFloat64(at + 10, e.index, true);
}

function writeCommitBody(view: DataView, out: Uint8Array, at: number, commit: number): void {
  out[at] = BinaryKind.Commit;
  view.setFloat64(at + 1, commit, true);
}

/** Fills in the header of the record whose body (of `bodyBytes`, checksum `crc`) starts at `at + RECORD_HEADER_BYTES`. */
function sealRecord(view: DataView, at: number, bodyBytes: number, crc: number): void {
  view.setUint32(at, bodyBytes, true);
  view.setUint32(at + 4, crc, true);
}

/**
 * Entries with at least this much data are written from their own bytes (a chunk of the
 * write) instead of being copied into the batch's buffer: a 77 MB restore entry was copied
 * and checksummed in one turn of the event loop (tens of ms on each server).
 */
export const LARGE_RECORD_DATA_BYTES = 64 * 1024;

/** Checksums of large entries' bodies, computed ahead in slices (precomputeRecordChecksums). */
const bodyChecksums = new WeakMap<Entry, { term: number; index: number; type: EntryType; data: Uint8Array; crc: number }>();
/** Bytes checksummed per step of the sliced computation (~0.5 ms of crc32). */
const CHECKSUM_STEP_BYTES = 1024 * 1024;

function entryHeaderChecksum(e: Entry): number {
  const header = new Uint8Array(BINARY_ENTRY_HEADER_BYTES);
  writeEntryHeader(new DataView(header.buffer), header, 0, e);
  return crc32(header);
}

/**
 * Computes the record checksums of the large entries among `entries` a megabyte per step, for
 * encodeRecordChunks to use (run it in slices before appending them).
 */
export function* precomputeRecordChecksums(entries: readonly Entry[]): Generator<void, void, void> {
  for (const e of entries) {
    if (e.data.byteLength < LARGE_RECORD_DATA_BYTES || bodyChecksums.has(e)) continue;
    let crc = entryHeaderChecksum(e);
    for (let at = 0; at < e.data.byteLength; at += CHECKSUM_STEP_BYTES) {
      crc = crc32(e.data.subarray(at, at + CHECKSUM_STEP_BYTES), crc);
      yield;
    }
    bodyChecksums.set(e, { term: e.term, index: e.index, type: e.type, data: e.data, crc });
  }
}

function largeBodyChecksum(e: Entry): number {
  const known = bodyChecksums.get(e);
  // Entries are not changed once stored; checked anyway, since a stale checksum would corrupt the log.
  if (known !== undefined && known.term === e.term && known.index === e.index && known.type === e.type && known.data === e.data) return known.crc;
  return crc32(e.data, entryHeaderChecksum(e));
}

export interface EncodedRecords {
  /** The records back to back, as chunks for one vectored write: small ones share a buffer, large entries' data is their own. */
  chunks: Uint8Array[];
  byteLength: number;
  /** Size of each entry's record, for the log's per-entry offsets. */
  entryBytes: number[];
}

/**
 * Records for a batch of entries (and an optional commit record after them): one buffer for
 * every header and small entry, and each large entry's data by reference between its pieces,
 * so nothing is copied per large entry.
 */
export function encodeRecordChunks(entries: readonly Entry[], commit: number | undefined): EncodedRecords {
  const entryBytes = new Array<number>(entries.length);
  let inline = commit === undefined ? 0 : RECORD_HEADER_BYTES + COMMIT_BODY_BYTES;
  let total = inline;
  for (let i = 0; i < entries.length; i++) {
    const data = entries[i].data.byteLength;
    entryBytes[i] = RECORD_HEADER_BYTES + BINARY_ENTRY_HEADER_BYTES + data;
    total += entryBytes[i];
    inline += data >= LARGE_RECORD_DATA_BYTES ? RECORD_HEADER_BYTES + BINARY_ENTRY_HEADER_BYTES : entryBytes[i];
  }
  const out = new Uint8Array(inline);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const chunks: Uint8Array[] = [];
  let runStart = 0;
  let at = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const body = at + RECORD_HEADER_BYTES;
    writeEntryHeader(view, out, body, e);
    const bodyBytes = entryBytes[i] - RECORD_HEADER_BYTES;
    if (e.data.byteLength >= LARGE_RECORD_DATA_BYTES) {
      sealRecord(view, at, bodyBytes, largeBodyChecksum(e));
      at = body + BINARY_ENTRY_HEADER_BYTES;
      chunks.push(out.subarray(runStart, at), e.data);
      runStart = at;
      continue;
    }
    out.set(e.data, body + BINARY_ENTRY_HEADER_BYTES);
    sealRecord(view, at, bodyBytes, crc32(out.subarray(body, body + bodyBytes)));
    at += entryBytes[i];
  }
  if (commit !== undefined) {
    writeCommitBody(view, out, at + RECORD_HEADER_BYTES, commit);
    sealRecord(view, at, COMMIT_BODY_BYTES, crc32(out.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + COMMIT_BODY_BYTES)));
    at += RECORD_HEADER_BYTES + COMMIT_BODY_BYTES;
  }
  if (at > runStart) chunks.push(out.subarray(runStart, at));
  return { chunks, byteLength: total, entryBytes };
}

/** encodeRecordChunks joined into one buffer. */
export function encodeRecords(entries: readonly Entry[], commit: number | undefined): { bytes: Uint8Array; entryBytes: number[] } {
  const { chunks, byteLength, entryBytes } = encodeRecordChunks(entries, commit);
  if (chunks.length === 1) return { bytes: chunks[0], entryBytes };
  const bytes = new Uint8Array(byteLength);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, entryBytes };
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function decodeBinaryBody(body: Uint8Array): WalRecord | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body[0] === BinaryKind.Entry && body.byteLength >= BINARY_ENTRY_HEADER_BYTES) {
    const type = ENTRY_TYPE_BY_CODE[body[1]];
    const term = view.getFloat64(2, true);
    const index = view.getFloat64(10, true);
    if (type === undefined || !isCount(term) || !isCount(index)) return undefined;
    // A copy (Buffer#slice would be a view): the entry outlives the read buffer, a whole segment.
    return { kind: "entry", entry: { term, index, type, data: Uint8Array.prototype.slice.call(body, BINARY_ENTRY_HEADER_BYTES) } };
  }
  if (body[0] === BinaryKind.Commit && body.byteLength === COMMIT_BODY_BYTES) {
    const commit = view.getFloat64(1, true);
    return isCount(commit) ? { kind: "commit", commit } : undefined;
  }
  return undefined;
}

function decodeBody(body: Uint8Array): WalRecord | undefined {
  if (body[0] === BinaryKind.Entry || body[0] === BinaryKind.Commit) return decodeBinaryBody(body);
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const fields: unknown[] = value;
  if (fields[0] === RecordKind.Entry && fields.length === 5) {
    const [, term, index, typeCode, data] = fields;
    const type = isCount(typeCode) ? ENTRY_TYPE_BY_CODE[typeCode] : undefined;
    if (!isCount(term) || !isCount(index) || type === undefined || !(data instanceof Uint8Array)) return undefined;
    return { kind: "entry", entry: { term, index, type, data } };
  }
  if (fields[0] === RecordKind.Commit && fields.length === 2 && isCount(fields[1])) {
    return { kind: "commit", commit: fields[1] };
  }
  return undefined;
}

/** The record starting at `offset`, or why there is none. */
export function readRecordAt(
  bytes: Uint8Array,
  offset: number,
): { ok: true; record: WalRecord; end: number } | { ok: false; reason: string } {
  if (offset + RECORD_HEADER_BYTES > bytes.byteLength) return { ok: false, reason: "truncated record header" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset, true);
  if (length === 0 || length > MAX_RECORD_BYTES) return { ok: false, reason: `invalid record length ${length}` };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.byteLength) return { ok: false, reason: "record runs past end of file" };
  const body = bytes.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32(body) !== view.getUint32(offset + 4, true)) return { ok: false, reason: "checksum mismatch" };
  const record = decodeBody(body);
  if (!record) return { ok: false, reason: "undecodable record body" };
  return { ok: true, record, end };
}

export interface ScannedRecord {
  offset: number;
  record: WalRecord;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Offset of the first byte that is not a valid record; undefined when the file is clean. */
  badOffset: number | undefined;
  reason: string;
  /** Whether a valid record exists somewhere after badOffset (then it is not a torn tail). */
  validRecordAfterBad: boolean;
}

/**
 * Reads records until the first invalid one. A torn write can only damage the end of the
 * file, so after an invalid record we search every later byte offset for a valid record:
 * finding one means durable data follows the damage, i.e. corruption in the middle.
 */
export function scanRecords(bytes: Uint8Array): ScanResult {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const r = readRecordAt(bytes, offset);
    if (!r.ok) {
      return { records, badOffset: offset, reason: r.reason, validRecordAfterBad: hasValidRecordAfter(bytes, offset + 1) };
    }
    records.push({ offset, record: r.record });
    offset = r.end;
  }
  return { records, badOffset: undefined, reason: "", validRecordAfterBad: false };
}

function hasValidRecordAfter(bytes: Uint8Array, from: number): boolean {
  for (let p = from; p + RECORD_HEADER_BYTES < bytes.byteLength; p++) {
    if (readRecordAt(bytes, p).ok) return true;
  }
  return false;
}
