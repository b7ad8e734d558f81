import { Packr } from "msgpackr";
import type { Command } from "../fsm/command.ts";
import type { SlicedWork } from "../runtime/sliced-work.ts";

// Commands travel as msgpack (Buffers and bigints included). Small commands, the common case,
// are packed and unpacked in one call. Wide ones (a register with thousands of checks, a txn
// with many ops) cost several milliseconds each way, so they can also be written and read as
// SlicedWork: the outer containers (the command's map, its fields' maps and arrays) are walked
// here, every element below them is packed or unpacked by msgpackr, and the work may pause
// between elements. Both directions produce and read plain msgpack, the same bytes a single
// pack() writes for these shapes, so which path wrote an entry never matters to its reader.

const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

export function encodeCommand(cmd: Command): Uint8Array {
  return packr.pack(cmd);
}

export function decodeCommand(data: Uint8Array): Command {
  return packr.unpack(asBuffer(data)) as Command;
}

/**
 * Containers this deep (the command is depth 0) are walked: a map key by key, an array in
 * batches of elements. Anything inside an array element, or deeper, is left to msgpackr.
 * Depth 1 covers Checks, Ops, Coordinates, Node and Service.
 */
const WALK_DEPTH = 1;

/** Commands with at least this many elements in their walked containers encode in slices. */
export const WIDE_COMMAND_ELEMENTS = 256;

/** Array elements are packed and unpacked about this many bytes at a time, between pauses. */
const BATCH_BYTES = 32 * 1024;

/**
 * Whether a command is wide enough to be worth encoding in slices: counts the keys and
 * elements of its walked containers, stopping at the threshold. A few property reads for the
 * usual command.
 */
export function isWideCommand(cmd: Command): boolean {
  return countElements(cmd, 0) >= WIDE_COMMAND_ELEMENTS;
}

function countElements(value: unknown, depth: number): number {
  if (depth > WALK_DEPTH || !isWalkable(value)) return 0;
  if (Array.isArray(value)) return value.length;
  let n = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    n += 1 + countElements(value[key], depth + 1);
    if (n >= WIDE_COMMAND_ELEMENTS) return n;
  }
  return n;
}

/** A plain object or array: msgpackr writes these as maps and arrays, everything else its own way. */
function isWalkable(value: unknown): value is Record<string, unknown> | unknown[] {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === Array.prototype;
}

/** Encodes `cmd` to the very bytes encodeCommand writes, pausing between batches of elements. */
export function* encodeCommandSlices(cmd: Command): SlicedWork<Uint8Array> {
  const parts: Uint8Array[] = [];
  yield* encodeValue(cmd, 0, parts);
  return Buffer.concat(parts);
}

function* encodeValue(value: unknown, depth: number, parts: Uint8Array[]): SlicedWork<void> {
  if (depth > WALK_DEPTH || !isWalkable(value)) {
    // A slice of msgpackr's shared target: the next pack() writes after it, never over it.
    parts.push(packr.pack(value));
    return;
  }
  if (Array.isArray(value)) {
    yield* encodeElements(value, parts);
    return;
  }
  // As msgpackr's default object writer: map16 always, own enumerable keys in for-in order.
  const keys: string[] = [];
  for (const key in value) if (Object.hasOwn(value, key)) keys.push(key);
  if (keys.length > 0xffff) {
    parts.push(packr.pack(value));
    return;
  }
  parts.push(Uint8Array.of(0xde, keys.length >> 8, keys.length & 0xff));
  for (const key of keys) {
    parts.push(packr.pack(key));
    yield* encodeValue(value[key], depth + 1, parts);
  }
}

/** An array packed in batches (one pack() per element would cost more than the work), each batch's own header cut off. */
function* encodeElements(array: readonly unknown[], parts: Uint8Array[]): SlicedWork<void> {
  parts.push(arrayHeader(array.length));
  let batch = 64;
  for (let i = 0; i < array.length; ) {
    const n = Math.min(batch, array.length - i);
    const packed = packr.pack(array.slice(i, i + n));
    parts.push(packed.subarray(arrayHeader(n).length));
    i += n;
    // Aim the next batch at BATCH_BYTES by what this one weighed.
    batch = Math.max(1, Math.min(4096, Math.round((n * BATCH_BYTES) / Math.max(1, packed.length))));
    yield;
  }
}

function arrayHeader(length: number): Uint8Array {
  if (length < 0x10) return Uint8Array.of(0x90 | length);
  if (length < 0x10000) return Uint8Array.of(0xdc, length >> 8, length & 0xff);
  const header = Buffer.alloc(5);
  header[0] = 0xdd;
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * Decodes entry bytes to what decodeCommand returns, pausing between batches of elements.
 * Map and array headers down to WALK_DEPTH are read here, every value below them by msgpackr,
 * so each piece decodes exactly as it does inside one unpack() call.
 */
export function* decodeCommandSlices(data: Uint8Array): SlicedWork<Command> {
  const reader = new SliceReader(asBuffer(data));
  const cmd = yield* reader.value(0);
  if (reader.position !== reader.bytes.length) throw new Error("Data read, but end of buffer not reached");
  return cmd as Command;
}

class SliceReader {
  readonly bytes: Buffer;
  position = 0;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  *value(depth: number): SlicedWork<unknown> {
    const header = depth <= WALK_DEPTH ? this.#containerHeader() : undefined;
    if (header === undefined) return this.#values(1)[0];
    if (header.kind === "array") {
      const out: unknown[] = [];
      while (out.length < header.length) {
        for (const element of this.#values(header.length - out.length)) out.push(element);
        yield;
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) {
      const read = this.#values(1)[0];
      if (typeof read !== "string") throw new Error("msgpack: a command's map keys are strings");
      let key: string = read;
      // As msgpackr's mapsAsObjects reader does.
      if (key === "__proto__") key = "__proto_";
      out[key] = yield* this.value(depth + 1);
    }
    return out;
  }

  /** Reads a map or array header at the current position; undefined (nothing read) for anything else. */
  #containerHeader(): { kind: "map" | "array"; length: number } | undefined {
    const b = this.bytes;
    const at = this.position;
    if (at >= b.length) throw new Error("Unexpected end of MessagePack data");
    const token = b[at];
    let header: { kind: "map" | "array"; length: number; size: number } | undefined;
    if (token >= 0x80 && token <= 0x8f) header = { kind: "map", length: token & 0x0f, size: 1 };
    else if (token >= 0x90 && token <= 0x9f) header = { kind: "array", length: token & 0x0f, size: 1 };
    else if (token === 0xdc || token === 0xde) header = { kind: token === 0xdc ? "array" : "map", length: this.#uint(at + 1, 2), size: 3 };
    else if (token === 0xdd || token === 0xdf) header = { kind: token === 0xdd ? "array" : "map", length: this.#uint(at + 1, 4), size: 5 };
    if (header === undefined) return undefined;
    this.position = at + header.size;
    return header;
  }

  #uint(at: number, width: 2 | 4): number {
    if (at + width > this.bytes.length) throw new Error("Unexpected end of MessagePack data");
    return width === 2 ? this.bytes.readUInt16BE(at) : this.bytes.readUInt32BE(at);
  }

  /**
   * Up to `max` whole msgpack values from the current position, by one msgpackr call that
   * stops after about BATCH_BYTES. The call sees a window of the bytes, not all that remain:
   * msgpackr's native string extractor scans to the end of what it is given, which over the
   * whole entry would cost every batch the entire rest. A value that does not fit the window
   * is read again through a window twice as large.
   */
  #values(max: number): unknown[] {
    const remaining = this.bytes.length - this.position;
    if (remaining <= 0) throw new Error("Unexpected end of MessagePack data");
    for (let window = 2 * BATCH_BYTES; ; window *= 2) {
      const whole = window >= remaining;
      const source = this.bytes.subarray(this.position, whole ? this.bytes.length : this.position + window);
      const out: unknown[] = [];
      let end = 0;
      try {
        packr.unpackMultiple(source, (value: unknown, _start?: number, stop = 0) => {
          out.push(value);
          end = stop;
          return out.length < max && stop < BATCH_BYTES;
        });
      } catch (err) {
        if (whole) throw err;
        continue;
      }
      this.position += end;
      return out;
    }
  }
}

/**
 * msgpackr hands back byte fields in the class of its input; the state machine stores KV
 * values as Buffers, so read through a Buffer view whatever the log or transport gave us.
 */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
