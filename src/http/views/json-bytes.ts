import { isPlainObject, lineAt, stringifiedAt, type JsonSpelling } from "./json-spelling.ts";

// A writer of JSON text straight into bytes, for list entries of a known shape
// (views/health-entry-bytes.ts). Building such an entry as a JS string cost more than
// JSON.stringify did: a string of ~100 pieces is a rope that V8 flattens and then transcodes to
// UTF-8 (issue 17, S4: ~3 µs of the ~9 µs per pretty entry). Here constants are byte arrays
// copied in, and ASCII strings without characters to escape (nearly every catalog value) are
// copied a character per byte; anything else goes through JSON.stringify, so the output is
// always what JSON.stringify would give.

/**
 * Bytes per slab (~38 pretty health entries). A slab lives while any entry in it is cached, so
 * an entry that stays while its neighbours are replaced keeps the whole slab: bigger slabs
 * would make longer runs but waste more in that case.
 */
const SLAB_BYTES = 64 * 1024;

/** Every slab's memory: only there are two entries adjacent with a separator between them. */
const slabs = new WeakSet<ArrayBufferLike>();

/** A slab starts its ArrayBuffer, so offsets into the slab are offsets into its memory. */
function newSlab(bytes: number): Buffer {
  const slab = Buffer.allocUnsafeSlow(bytes);
  slabs.add(slab.buffer);
  return slab;
}

/**
 * Whether `b` is an entry a JsonBytes wrote: then the bytes right before it are its writer's
 * separator, and stay so (written bytes are never rewritten), so two entries of one slab with
 * only a separator between them are one contiguous span of list text.
 */
export function inSlab(b: Buffer): boolean {
  return slabs.has(b.buffer);
}

/**
 * Entries are written one after another into slabs, each right after the list separator of
 * its spelling (an entry never straddles two slabs: one that does not fit moves to a new slab
 * with its separator), and handed out as views of the slab: no copy and no allocation per
 * entry (a cold answer's 10,000 Buffers from the pool were a large share of its GC). A run of
 * entries written in a row is therefore one span of list text, one part to copy into a socket
 * piece (instance-fragments.ts: listPieces). A slab lives as long as any of its entries is cached.
 */
export class JsonBytes {
  readonly #separator: Buffer;
  #buf = newSlab(SLAB_BYTES);
  #pos = 0;
  /** Where the entry being written starts, with its separator, and without. */
  #start = 0;
  #entryStart = 0;
  /** Set when a value did not have the type its writer expects; see `take`. */
  offShape = false;

  constructor(separator: Buffer) {
    this.#separator = separator;
  }

  /** The separator written before every entry. */
  get separator(): Buffer {
    return this.#separator;
  }

  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    // The entry so far moves to a fresh slab (entries never straddle two).
    const written = this.#pos - this.#start;
    const next = newSlab(Math.max(SLAB_BYTES, (written + bytes) * 2));
    this.#buf.copy(next, 0, this.#start, this.#pos);
    this.#buf = next;
    this.#entryStart -= this.#start;
    this.#start = 0;
    this.#pos = written;
  }

  /** Starts an entry (after the separator). */
  begin(): void {
    this.offShape = false;
    this.#start = this.#pos;
    this.raw(this.#separator);
    this.#entryStart = this.#pos;
  }

  /** Bytes known in advance (keys, brackets, indentation). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#room(n);
    const buf = this.#buf;
    let p = this.#pos;
    // A key or bracket is a few to ~30 bytes: copied byte by byte it costs less than the
    // call into TypedArray.prototype.set (issue 17, S4: `raw` was ~8 % of a cold read).
    if (n <= SHORT_RAW_BYTES) for (let i = 0; i < n; i++) buf[p++] = bytes[i];
    else {
      buf.set(bytes, p);
      p += n;
    }
    this.#pos = p;
  }

  /** Text JSON.stringify produced (any characters). */
  #text(text: string): void {
    this.#room(text.length * 3);
    this.#pos += this.#buf.write(text, this.#pos, "utf8");
  }

  /** A string value, quoted and escaped as JSON.stringify does. */
  string(s: unknown): void {
    if (typeof s !== "string") {
      this.offShape = true;
      return;
    }
    const n = s.length;
    this.#room(n + 2);
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Controls, quote and backslash are escaped; beyond ASCII the bytes are UTF-8's, and a
      // lone surrogate is escaped: JSON.stringify knows all of that.
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) {
        this.#text(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.#pos = p;
  }

  number(v: unknown): void {
    if (typeof v !== "number") {
      this.offShape = true;
      return;
    }
    if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) return this.#smallInteger(v);
    const text = Number.isFinite(v) ? String(v) : "null";
    this.#room(text.length);
    const buf = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
    this.#pos = p;
  }

  /** A non-negative 31-bit integer (indexes, ports) in decimal, without a string for it. */
  #smallInteger(v: number): void {
    let digits = 1;
    for (let rest = v; rest >= 10; rest = (rest / 10) | 0) digits++;
    this.#room(digits);
    const buf = this.#buf;
    let p = this.#pos + digits;
    this.#pos = p;
    let rest = v;
    do {
      const next = (rest / 10) | 0;
      buf[--p] = 0x30 + rest - next * 10;
      rest = next;
    } while (rest > 0);
  }

  boolean(v: unknown): void {
    if (typeof v !== "boolean") {
      this.offShape = true;
      return;
    }
    this.raw(v ? TRUE : FALSE);
  }

  /**
   * Any value that sits at depth `depth`, as JSON.stringify writes it there. A value it would
   * leave out (undefined) is off shape: the members written by the callers always appear.
   */
  value(v: unknown, depth: number, sp: JsonSpelling): void {
    switch (typeof v) {
      case "string":
        return this.string(v);
      case "number":
        return this.number(v);
      case "boolean":
        return this.raw(v ? TRUE : FALSE);
      case "object":
        if (v === null) return this.raw(NULL);
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) === Array.prototype && !("toJSON" in v)) return this.#array(v, depth, sp);
        } else if (isPlainObject(v)) return this.#object(v, depth, sp);
        break;
      case "undefined":
        this.offShape = true;
        return;
    }
    // Anything else (toJSON, class instances, bigint's TypeError) is JSON.stringify's to write.
    const text = stringifiedAt(v, depth, sp);
    if (text === undefined) this.offShape = true;
    else this.#text(text);
  }

  #array(a: readonly unknown[], depth: number, sp: JsonSpelling): void {
    if (a.length === 0) return this.raw(EMPTY_ARRAY);
    const line = lineBytes(sp, depth + 1);
    for (let i = 0; i < a.length; i++) {
      this.raw(i === 0 ? OPEN_ARRAY : COMMA);
      this.raw(line);
      const item = a[i];
      // JSON.stringify writes null for what it cannot write in an array.
      if (item === undefined || typeof item === "function" || typeof item === "symbol") this.raw(NULL);
      else this.value(item, depth + 1, sp);
    }
    this.raw(lineBytes(sp, depth));
    this.raw(CLOSE_ARRAY);
  }

  #object(o: Record<string, unknown>, depth: number, sp: JsonSpelling): void {
    const line = lineBytes(sp, depth + 1);
    const colon = sp.pretty ? PRETTY_COLON : COMPACT_COLON;
    let first = true;
    // for-in walks own keys in the order Object.keys gives (integer keys first, then insertion
    // order) without allocating their array; a plain object inherits nothing enumerable.
    for (const key in o) {
      if (!Object.hasOwn(o, key)) continue;
      const item = o[key];
      // Members JSON.stringify leaves out.
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      this.raw(first ? OPEN_OBJECT : COMMA);
      first = false;
      this.raw(line);
      this.string(key);
      this.raw(colon);
      this.value(item, depth + 1, sp);
    }
    if (first) return this.raw(EMPTY_OBJECT);
    this.raw(lineBytes(sp, depth));
    this.raw(CLOSE_OBJECT);
  }

  /** An array of strings at depth `depth` (anything else is written as `value` would). */
  strings(a: unknown, depth: number, sp: JsonSpelling): void {
    if (!Array.isArray(a)) return this.value(a, depth, sp);
    if (a.length === 0) return this.raw(EMPTY_ARRAY);
    const line = lineBytes(sp, depth + 1);
    for (let i = 0; i < a.length; i++) {
      const s: unknown = a[i];
      if (typeof s !== "string") {
        this.offShape = true;
        return;
      }
      this.raw(i === 0 ? OPEN_ARRAY : COMMA);
      this.raw(line);
      this.string(s);
    }
    this.raw(lineBytes(sp, depth));
    this.raw(CLOSE_ARRAY);
  }

  /**
   * Where the entry written since `begin` is, into `span` (its slab and offsets, no Buffer of
   * its own); false (and nothing kept) when a value was off shape.
   */
  take(span: ByteSpan): boolean {
    if (this.offShape) {
      this.#pos = this.#start;
      return false;
    }
    span.bytes = this.#buf;
    span.start = this.#entryStart;
    span.end = this.#pos;
    return true;
  }
}

/**
 * Bytes [start, end) of `bytes`. An entry is kept as its slab and offsets, not as a Buffer
 * view of its own: a view is one more object per entry for the collector, and a cold
 * 10,000-instance answer kept 10,000 of them (issue 17, S4).
 */
export interface ByteSpan {
  bytes: Buffer | undefined;
  start: number;
  end: number;
}

/** Constants up to this length are copied byte by byte (see `raw`). */
const SHORT_RAW_BYTES = 16;
const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");
const EMPTY_ARRAY = Buffer.from("[]");
const OPEN_ARRAY = Buffer.from("[");
const CLOSE_ARRAY = Buffer.from("]");
const COMMA = Buffer.from(",");
const EMPTY_OBJECT = Buffer.from("{}");
const OPEN_OBJECT = Buffer.from("{");
const CLOSE_OBJECT = Buffer.from("}");
const PRETTY_COLON = Buffer.from(": ");
const COMPACT_COLON = Buffer.from(":");

const lineCache = new Map<JsonSpelling, Buffer[]>();

/** The line start at `depth` as bytes ("\n" and the indent when pretty, nothing when compact). */
function lineBytes(sp: JsonSpelling, depth: number): Buffer {
  let lines = lineCache.get(sp);
  if (!lines) {
    lines = sp.lines.map((l) => Buffer.from(l));
    lineCache.set(sp, lines);
  }
  return lines[depth] ?? Buffer.from(lineAt(sp, depth));
}
