import type { HealthCheck, Node, NodeService } from "../../model/catalog.ts";
import { allPassing } from "../../model/health-status.ts";
import { inSlab, type ByteSpan } from "./json-bytes.ts";

// A materialised view of one service's list answers (health/service, catalog/service), kept
// per instance: each instance's entry is encoded once and reused until one of the rows it was
// built from is replaced. Rows are immutable (every write stores a new object), so "still
// valid" is an identity check on the node and check rows, and a change to one instance of a
// 10,000-instance service re-encodes one entry; the answer is then a concatenation of bytes.
// Entries live as long as their service row (a WeakMap keyed by it): a deleted or replaced
// instance takes its encoding with it.

/**
 * One instance's entry, encoded in the spellings asked for so far. Each spelling's bytes are
 * kept as where they are (`…In` from `…Start` to `…End`): a slab shared with the entries written
 * next to it (views/json-bytes.ts), or a buffer of the entry's own. Offsets rather than a Buffer
 * view per entry: a cold 10,000-instance answer made (and kept) 10,000 such views, objects the
 * collector copied and marked (issue 17, S4).
 */
export interface InstanceFragment {
  readonly node: Node;
  readonly service: NodeService;
  /** The checks the entry was built from (health answers), undefined for catalog answers. */
  readonly checks: readonly HealthCheck[] | undefined;
  /** Whether every check passes (`?passing`). */
  readonly passing: boolean;
  compactIn: Buffer | undefined;
  compactStart: number;
  compactEnd: number;
  prettyIn: Buffer | undefined;
  prettyStart: number;
  prettyEnd: number;
}

/** Builds the JSON value of one instance's entry. */
export type EntryRenderer = (node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined) => unknown;

/**
 * Writes an entry's bytes directly, exactly as encoding the renderer's value would (pretty: as
 * an element of the answer's array, with its indent), and puts where they are into `into`;
 * false leaves it to the renderer.
 */
export type EntryWriter = (node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined, pretty: boolean, into: ByteSpan) => boolean;

export class InstanceFragments {
  readonly #byRow = new WeakMap<NodeService, InstanceFragment>();
  readonly #render: EntryRenderer;
  readonly #write: EntryWriter | undefined;
  /** Where the writer put the entry it just wrote (copied into the fragment). */
  readonly #written: ByteSpan = { bytes: undefined, start: 0, end: 0 };

  constructor(render: EntryRenderer, write?: EntryWriter) {
    this.#render = render;
    this.#write = write;
  }

  /** The entry for this instance if one was built from exactly these rows. */
  current(node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined): InstanceFragment | undefined {
    const f = this.#byRow.get(service);
    return f && f.node === node && sameRows(f.checks, checks) ? f : undefined;
  }

  /** The current entry, built (unencoded) when missing or stale. */
  fragment(node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined): InstanceFragment {
    const existing = this.current(node, service, checks);
    if (existing) return existing;
    // Both encodings' slots are in the literal: added later they would not fit the object
    // and each fragment would get a second, out-of-object property store, one more object per
    // instance surviving the cold read (issue 17, S4).
    const f: InstanceFragment = {
      node,
      service,
      checks,
      passing: checks === undefined || allPassing(checks),
      compactIn: undefined,
      compactStart: 0,
      compactEnd: 0,
      prettyIn: undefined,
      prettyStart: 0,
      prettyEnd: 0,
    };
    this.#byRow.set(service, f);
    return f;
  }

  /** Encodes the entry in one spelling unless it already is. */
  encode(f: InstanceFragment, pretty: boolean): void {
    if ((pretty ? f.prettyIn : f.compactIn) !== undefined) return;
    const span = this.#written;
    if (!this.#write?.(f.node, f.service, f.checks, pretty, span)) {
      const value = this.#render(f.node, f.service, f.checks);
      const own = Buffer.from(pretty ? prettyElement(value) : JSON.stringify(value));
      span.bytes = own;
      span.start = 0;
      span.end = own.length;
    }
    if (pretty) {
      f.prettyIn = span.bytes;
      f.prettyStart = span.start;
      f.prettyEnd = span.end;
    } else {
      f.compactIn = span.bytes;
      f.compactStart = span.start;
      f.compactEnd = span.end;
    }
    span.bytes = undefined;
  }

  /** The entry's bytes in one spelling (encoded on first use), as a Buffer of their own. */
  encoded(f: InstanceFragment, pretty: boolean): Buffer {
    this.encode(f, pretty);
    const bytes = (pretty ? f.prettyIn : f.compactIn) as Buffer;
    const start = pretty ? f.prettyStart : f.compactStart;
    const end = pretty ? f.prettyEnd : f.compactEnd;
    return start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  }
}

/** The length of an encoded entry in one spelling. */
function encodedLength(f: InstanceFragment, pretty: boolean): number {
  return pretty ? f.prettyEnd - f.prettyStart : f.compactEnd - f.compactStart;
}

/**
 * An array element exactly as JSON.stringify(array, null, 4) writes it (4-space indent, nested
 * one level): the array's own brackets and newlines are cut off the one-element rendering.
 */
function prettyElement(value: unknown): string {
  const one = JSON.stringify([value], null, 4);
  return one.slice(2, one.length - 2);
}

const OPEN_PRETTY = Buffer.from("[\n");
const CLOSE_PRETTY = Buffer.from("\n]\n");
const SEP_PRETTY = Buffer.from(",\n");
const OPEN_COMPACT = Buffer.from("[");
const CLOSE_COMPACT = Buffer.from("]");
const SEP_COMPACT = Buffer.from(",");
const EMPTY_PRETTY = Buffer.from("[]\n");
const EMPTY_COMPACT = Buffer.from("[]");

/** How many of these entries are not yet encoded in this spelling. */
export function unencodedCount(fragments: readonly InstanceFragment[], pretty: boolean): number {
  let n = 0;
  for (const f of fragments) if ((pretty ? f.prettyIn : f.compactIn) === undefined) n++;
  return n;
}

/** Bytes of the list answer for these entries (encoding any entry not yet encoded). */
export function encodedListLength(cache: InstanceFragments, fragments: readonly InstanceFragment[], pretty: boolean): number {
  if (fragments.length === 0) return (pretty ? EMPTY_PRETTY : EMPTY_COMPACT).length;
  let length = (pretty ? OPEN_PRETTY.length + CLOSE_PRETTY.length : OPEN_COMPACT.length + CLOSE_COMPACT.length) + (fragments.length - 1) * (pretty ? SEP_PRETTY : SEP_COMPACT).length;
  for (const f of fragments) {
    cache.encode(f, pretty);
    length += encodedLength(f, pretty);
  }
  return length;
}

/**
 * The list answer in pieces of about `pieceBytes`, produced as they are pulled, so a 16 MB
 * answer is never copied in one go: byte for byte what encodeJson gives for the array of the
 * entries' values (pretty: 4-space indent and a trailing newline, as dev mode and ?pretty).
 * A piece is a list of buffers written one after another. Entries an EntryWriter wrote in a
 * row sit in one slab, each right after the separator (views/json-bytes.ts), so such a run,
 * with its leading separator, is one buffer of the piece as it is, a view of the slab: a cold
 * 16 MB answer copies nothing and allocates no 16 MB of pieces besides its slabs (that copy and
 * its garbage were ~15 % of a cold read's main-thread time; issue 17, S4). Only the small
 * parts between runs (brackets, separators, entries written by the renderer) are joined.
 *
 * With `pauseEvery`, entries not yet encoded are encoded here, as the pieces are pulled, and
 * an empty piece is yielded after every `pauseEvery` of them: a point where the caller may
 * stop for the turn with nothing to send yet (a cold answer streamed while it is encoded).
 */
export function* listPieces(cache: InstanceFragments, fragments: readonly InstanceFragment[], pretty: boolean, pieceBytes: number, pauseEvery = 0): Generator<Buffer[]> {
  if (fragments.length === 0) {
    yield [pretty ? EMPTY_PRETTY : EMPTY_COMPACT];
    return;
  }
  const sep = pretty ? SEP_PRETTY : SEP_COMPACT;
  /** The piece being filled, and its bytes (joined loose parts and runs). */
  let piece: Buffer[] = [];
  let pieceSize = 0;
  /** Parts outside slabs since the last run, joined into one buffer before the next run. */
  let loose: Buffer[] = [pretty ? OPEN_PRETTY : OPEN_COMPACT];
  let looseSize = loose[0].length;
  /** The pending run of slab entries: [runStart, runEnd) of `runSlab`, separators included. */
  let runSlab: Buffer | undefined;
  let runStart = 0;
  let runEnd = 0;
  function joinLoose(): void {
    if (looseSize === 0) return;
    piece.push(loose.length === 1 ? loose[0] : Buffer.concat(loose, looseSize));
    pieceSize += looseSize;
    loose = [];
    looseSize = 0;
  }
  function passRun(): void {
    if (!runSlab) return;
    joinLoose();
    piece.push(runSlab.subarray(runStart, runEnd));
    pieceSize += runEnd - runStart;
    runSlab = undefined;
  }
  function* full(): Generator<Buffer[]> {
    if (pieceSize + looseSize < pieceBytes) return;
    joinLoose();
    yield piece;
    piece = [];
    pieceSize = 0;
  }
  let encodedSincePause = 0;
  for (let i = 0; i < fragments.length; i++) {
    const f = fragments[i];
    if (pauseEvery > 0 && (pretty ? f.prettyIn : f.compactIn) === undefined && ++encodedSincePause > pauseEvery) {
      encodedSincePause = 1;
      yield [];
    }
    cache.encode(f, pretty);
    const bytes = (pretty ? f.prettyIn : f.compactIn) as Buffer;
    const start = pretty ? f.prettyStart : f.compactStart;
    const end = pretty ? f.prettyEnd : f.compactEnd;
    if (bytes === runSlab && start === runEnd + sep.length && runEnd - runStart < pieceBytes) {
      runEnd = end;
      continue;
    }
    passRun();
    yield* full();
    if (inSlab(bytes)) {
      runSlab = bytes;
      runStart = i === 0 ? start : start - sep.length;
      runEnd = end;
    } else {
      if (i > 0) loose.push(sep);
      loose.push(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
      looseSize += (i > 0 ? sep.length : 0) + end - start;
      yield* full();
    }
  }
  passRun();
  loose.push(pretty ? CLOSE_PRETTY : CLOSE_COMPACT);
  looseSize += loose[loose.length - 1].length;
  joinLoose();
  yield piece;
}

/** The whole list answer in one buffer (see listPieces). */
export function assembleList(cache: InstanceFragments, fragments: readonly InstanceFragment[], pretty: boolean): Buffer {
  const parts = [...listPieces(cache, fragments, pretty, Number.POSITIVE_INFINITY)].flat();
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function sameRows(a: readonly HealthCheck[] | undefined, b: readonly HealthCheck[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
