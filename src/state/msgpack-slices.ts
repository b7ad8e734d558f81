import type { Packr } from "msgpackr";
import type { SlicedWork } from "../runtime/sliced-work.ts";

// msgpack written and read as SlicedWork (runtime/sliced-work.ts): the outer containers of a
// document (maps key by key, arrays in batches of elements, down to a given depth) are walked
// here and every value below them is packed or unpacked by msgpackr, so the work may pause
// between pieces. Both directions produce and read plain msgpack — the very bytes one pack()
// call writes with msgpackr's default object writer — so which path wrote a document never
// matters to its reader. Used for wide Raft commands and for whole-state snapshots.

/** Array elements are packed and unpacked about this many bytes at a time, between pauses. */
const BATCH_BYTES = 32 * 1024;

/**
 * Byte strings at least this long are not copied by msgpackr (one call, one turn: ~100 ms for
 * the 77 MB state of a 170,000-instance snapshot restore) but written as bin 32 here.
 */
export const LARGE_BINARY_BYTES = 1024 * 1024;

/**
 * The document is joined from its parts about this many bytes per pause. Copying into fresh
 * memory costs page faults too: 4 MiB per step made 10–15 ms turns on a loaded machine.
 */
const JOIN_SLICE_BYTES = 1024 * 1024;

/**
 * The keys and elements of `value`'s containers down to `walkDepth`, counted up to `limit`
 * (then it stops): a few property reads for a small document.
 */
export function countWalkedElements(value: unknown, walkDepth: number, limit: number, depth = 0): number {
  // One level below the walk depth, a long array counts too: it is written in batches as well.
  if (depth === walkDepth + 1 && isLongArray(value)) return value.length;
  // So does a long map or array deeper down (written in batches too): a proxy's Config, a
  // prepared query's Service.Tags.
  if (depth > walkDepth) return holdsLongContainer(value, depth) ? limit : 0;
  if (!isWalkable(value)) return 0;
  if (Array.isArray(value)) return value.length;
  let n = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    n += 1 + countWalkedElements(value[key], walkDepth, limit - n - 1, depth + 1);
    if (n >= limit) return n;
  }
  return n;
}

/**
 * Arrays this long are written in batches even below the walk depth (directly inside a walked
 * map): a config entry's 12,000 intention sources lie at depth 2 of their command, and one
 * pack() of them held the leader's loop for the whole list.
 */
const LONG_ARRAY_ELEMENTS = 256;

/**
 * Maps this deep at most are looked into for a long map below the walk depth: a service's
 * Proxy.Config lies at depth 3 of its register command, and a body at the cap makes it
 * ~10,000 keys, one pack() of ~30 ms (issue 12 item 6).
 */
const NESTED_MAP_MAX_DEPTH = 4;

/**
 * Whether `value` (at `depth`) is or holds, through plain objects, a long map (a plain object
 * with at least LONG_ARRAY_ELEMENTS own keys) or a long array no deeper than
 * NESTED_MAP_MAX_DEPTH: a prepared query's Service.Tags lie at depth 3 of its command, and one
 * pack() of 50,000 tags held the leader's loop 20–60 ms. One pass over a map's keys counts them
 * and looks below: every registration pays this for its Meta, Tags and check definitions.
 */
function holdsLongContainer(value: unknown, depth: number): boolean {
  if (depth > NESTED_MAP_MAX_DEPTH) return false;
  if (isLongArray(value)) return true;
  if (!isWalkable(value) || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length >= LONG_ARRAY_ELEMENTS) return true;
  if (depth === NESTED_MAP_MAX_DEPTH) return false;
  for (let i = 0; i < keys.length; i++) if (holdsLongContainer(value[keys[i]], depth + 1)) return true;
  return false;
}

function isLongArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length >= LONG_ARRAY_ELEMENTS && isWalkable(value);
}

/** A plain object or array: msgpackr writes these as maps and arrays, everything else its own way. */
function isWalkable(value: unknown): value is Record<string, unknown> | unknown[] {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === Array.prototype;
}

/**
 * Encodes `value` to the bytes packr.pack(value) writes, pausing between batches of elements
 * of its containers down to `walkDepth` (0: the value itself).
 */
export function* packSlices(packr: Packr, value: unknown, walkDepth: number): SlicedWork<Buffer> {
  const parts: Uint8Array[] = [];
  yield* encodeValue(packr, value, 0, walkDepth, parts);
  return yield* join(parts);
}

/** Buffer.concat(parts), copying a few MB per slice (a snapshot document is tens of MB). */
function* join(parts: readonly Uint8Array[]): SlicedWork<Buffer> {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  if (total <= JOIN_SLICE_BYTES) return Buffer.concat(parts, total);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  let sinceYield = 0;
  for (const part of parts) {
    for (let from = 0; from < part.byteLength; ) {
      const n = Math.min(part.byteLength - from, JOIN_SLICE_BYTES - sinceYield);
      out.set(part.subarray(from, from + n), at);
      at += n;
      from += n;
      sinceYield += n;
      if (sinceYield >= JOIN_SLICE_BYTES) {
        sinceYield = 0;
        yield;
      }
    }
  }
  return out;
}

function* encodeValue(packr: Packr, value: unknown, depth: number, walkDepth: number, parts: Uint8Array[]): SlicedWork<void> {
  if (value instanceof Uint8Array && value.byteLength >= LARGE_BINARY_BYTES) {
    // What msgpackr writes for a byte array this long: bin 32, then the bytes (joined later).
    const header = Buffer.allocUnsafe(5);
    header[0] = 0xc6;
    header.writeUInt32BE(value.byteLength, 1);
    parts.push(header, value);
    return;
  }
  // Below the walk depth, a long array is reached only directly under it or through maps that
  // hold one (holdsLongContainer, bounded by NESTED_MAP_MAX_DEPTH).
  if (depth > walkDepth && isLongArray(value)) {
    yield* encodeElements(packr, value, parts);
    return;
  }
  const nested = depth > walkDepth && holdsLongContainer(value, depth);
  if ((depth > walkDepth && !nested) || !isWalkable(value)) {
    // A slice of msgpackr's shared target: the next pack() writes after it, never over it.
    parts.push(packr.pack(value));
    return;
  }
  if (Array.isArray(value)) {
    yield* encodeElements(packr, value, parts);
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
  if (nested) {
    yield* encodeEntries(packr, value, keys, depth, walkDepth, parts);
    return;
  }
  for (const key of keys) {
    parts.push(packr.pack(key));
    yield* encodeValue(packr, value[key], depth + 1, walkDepth, parts);
  }
}

/**
 * The entries of a long map below the walk depth, packed in batches as a map of a few of its
 * entries with that map's header cut off; an entry that itself holds a long map or array (or whose key
 * a plain object cannot hold as data, "__proto__") is written on its own.
 */
function* encodeEntries(packr: Packr, value: Record<string, unknown>, keys: readonly string[], depth: number, walkDepth: number, parts: Uint8Array[]): SlicedWork<void> {
  let batch = 64;
  for (let i = 0; i < keys.length; ) {
    const key = keys[i]!;
    if (key === "__proto__" || holdsLongContainer(value[key], depth + 1)) {
      parts.push(packr.pack(key));
      yield* encodeValue(packr, value[key], depth + 1, walkDepth, parts);
      i++;
      continue;
    }
    const part: Record<string, unknown> = {};
    let n = 0;
    for (; n < batch && i + n < keys.length; n++) {
      const k = keys[i + n]!;
      if (k === "__proto__" || holdsLongContainer(value[k], depth + 1)) break;
      part[k] = value[k];
    }
    const packed = packr.pack(part);
    // msgpackr writes every plain object's header as map16 (3 bytes).
    parts.push(packed.subarray(3));
    i += n;
    batch = Math.max(1, Math.min(4096, Math.round((n * BATCH_BYTES) / Math.max(1, packed.length))));
    yield;
  }
}

/** An array packed in batches (one pack() per element would cost more than the work), each batch's own header cut off. */
function* encodeElements(packr: Packr, array: readonly unknown[], parts: Uint8Array[]): SlicedWork<void> {
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
 * Decodes `bytes` to what packr.unpack(bytes) returns, pausing between batches of elements.
 * Map and array headers down to `walkDepth` are read here, every value below them by msgpackr,
 * so each piece decodes exactly as it does inside one unpack() call. Maps become plain objects
 * with string keys (msgpackr's mapsAsObjects); a map with other keys is refused.
 */
export function* unpackSlices(packr: Packr, bytes: Buffer, walkDepth: number): SlicedWork<unknown> {
  const reader = new SliceReader(packr, bytes, walkDepth);
  const value = yield* reader.value(0);
  if (reader.position !== bytes.length) throw new Error("Data read, but end of buffer not reached");
  return value;
}

class SliceReader {
  readonly #packr: Packr;
  readonly bytes: Buffer;
  readonly #walkDepth: number;
  position = 0;

  constructor(packr: Packr, bytes: Buffer, walkDepth: number) {
    this.#packr = packr;
    this.bytes = bytes;
    this.#walkDepth = walkDepth;
  }

  /** The value at the current position; containers down to the walk depth (or `walk`) are walked. */
  *value(depth: number, walk = depth <= this.#walkDepth): SlicedWork<unknown> {
    const header = walk ? this.#containerHeader() : undefined;
    if (header === undefined) return walk ? this.#oneValue() : yield* this.#unwalkedValue(depth);
    if (header.kind === "array") {
      const out: unknown[] = [];
      while (out.length < header.length) {
        const batch = this.#values(header.length - out.length);
        if (batch !== undefined) for (const element of batch) out.push(element);
        // One element larger than a batch (a node's thousands of checks in a catalog dump is
        // one [node, rows] pair): an array is walked too, so it pauses between its elements
        // instead of being read in one call; anything else is read whole.
        else out.push(yield* this.#unwalkedValue(depth + 1));
        yield;
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) {
      const read = this.#oneValue();
      if (typeof read !== "string") throw new Error("msgpack: a map key that is not a string");
      let key: string = read;
      // As msgpackr's mapsAsObjects reader does.
      if (key === "__proto__") key = "__proto_";
      out[key] = yield* this.value(depth + 1);
    }
    return out;
  }

  /**
   * A value below the walk depth: read by one msgpackr call when it fits a batch's window (the
   * usual case, what #oneValue's first read is), walked when it is an array larger than that
   * (a config entry's 12,000 intention sources or an ACL role's identities lie at depth 2 of
   * their command, and were read in one call of tens of ms on every server), read whole
   * otherwise. Maps are not walked here: a walked map must have string keys, and what lies
   * below the walk depth was never held to that.
   */
  *#unwalkedValue(depth: number): SlicedWork<unknown> {
    const read = this.#readWindow(BATCH_BYTES + BATCH_BYTES / 4, () => false);
    if (read !== undefined) {
      this.position += read.end;
      return read.values[0];
    }
    if (this.#atArray()) return yield* this.value(depth, true);
    if (this.#atMap()) return yield* this.#largeMap(depth);
    return this.#oneValue();
  }

  /**
   * A map below the walk depth larger than a batch (a proxy's Config of thousands of keys):
   * its keys and values read a batch at a time, as one call reads them; a value larger than a
   * batch is read by #unwalkedValue again. A key that is not a string (never written for a
   * command, which holds plain objects) sends the whole map back to one msgpackr call, which
   * reads such keys its own way.
   */
  *#largeMap(depth: number): SlicedWork<unknown> {
    const start = this.position;
    const header = this.#containerHeader();
    if (header === undefined || header.kind !== "map") throw new Error("msgpack: expected a map");
    const out: Record<string, unknown> = {};
    let pending: string | undefined;
    let done = 0;
    const put = (item: unknown): boolean => {
      if (pending === undefined) {
        if (typeof item !== "string") return false;
        // As msgpackr's mapsAsObjects reader does.
        pending = item === "__proto__" ? "__proto_" : item;
        return true;
      }
      out[pending] = item;
      pending = undefined;
      done++;
      return true;
    };
    while (done < header.length) {
      const left = 2 * (header.length - done) - (pending === undefined ? 0 : 1);
      const batch = this.#values(left);
      let ok = true;
      if (batch !== undefined) for (const item of batch) ok &&= put(item);
      else ok = pending !== undefined && put(yield* this.#unwalkedValue(depth + 1));
      if (!ok) {
        this.position = start;
        return this.#oneValue();
      }
      yield;
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

  #atMap(): boolean {
    const token = this.bytes[this.position];
    return (token >= 0x80 && token <= 0x8f) || token === 0xde || token === 0xdf;
  }

  #atArray(): boolean {
    const token = this.bytes[this.position];
    return (token >= 0x90 && token <= 0x9f) || token === 0xdc || token === 0xdd;
  }

  /**
   * Up to `max` whole msgpack values from the current position, by one msgpackr call that
   * stops after about BATCH_BYTES. The call sees a window of the bytes, not all that remain:
   * msgpackr's native string extractor scans to the end of what it is given, which over the
   * whole document would cost every batch the entire rest. The values read before one that
   * runs past the window are kept (msgpackr hands each over as it completes); undefined when
   * the first value alone runs past it.
   */
  #values(max: number): unknown[] | undefined {
    const read = this.#readWindow(BATCH_BYTES + BATCH_BYTES / 4, (count, stop) => count < max && stop < BATCH_BYTES);
    if (read === undefined || read.values.length === 0) return undefined;
    this.position += read.end;
    return read.values;
  }

  /**
   * The values msgpackr completes from `position` through the next `window` bytes, until
   * `more(count, stop)` says stop; undefined when the window cut a value and none came whole
   * before it. Past the window's end the whole rest is read, and a failure there is thrown.
   */
  #readWindow(window: number, more: (count: number, stop: number) => boolean): { values: unknown[]; end: number } | undefined {
    const remaining = this.bytes.length - this.position;
    if (remaining <= 0) throw new Error("Unexpected end of MessagePack data");
    const whole = window >= remaining;
    const source = this.bytes.subarray(this.position, whole ? this.bytes.length : this.position + window);
    const values: unknown[] = [];
    let end = 0;
    try {
      this.#packr.unpackMultiple(source, (value: unknown, _start?: number, stop = 0) => {
        values.push(value);
        end = stop;
        return more(values.length, stop);
      });
    } catch (err) {
      if (whole) throw err;
      if (values.length === 0) return undefined;
    }
    return { values, end };
  }

  /**
   * One whole value, however large: read through a window of the bytes, twice as large each
   * time the value runs past it.
   */
  #oneValue(): unknown {
    for (let window = BATCH_BYTES + BATCH_BYTES / 4; ; window *= 2) {
      const read = this.#readWindow(window, () => false);
      if (read === undefined) continue;
      this.position += read.end;
      return read.values[0];
    }
  }
}
