import type { SlicedWork } from "../runtime/sliced-work.ts";
import { QUOTE, BACKSLASH, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, COMMA, COLON, ZERO, NINE } from "../model/json-chars.ts";

// JSON.parse of a large body over several turns (issue 12 item 6): one JSON.parse of a 512 KiB
// body holds the event loop 3–12 ms, and a streaming tokenizer written in JavaScript costs
// 5–20 times its CPU. Instead the text is cut where JSON.parse can take it in small pieces:
//
//  1. a scan, pausing every few dozen KiB, finds the brackets, strings and top-level commas and
//     remembers every container spanning at least LEAF_CHARS, with the commas between its
//     elements (string contents are skipped with indexOf, so this costs well under the parse);
//  2. the value is built from those large containers, each of their elements parsed by
//     JSON.parse on its own slice of the text (smaller than LEAF_CHARS, or a large container
//     recursed into), pausing every few dozen KiB of parsed text.
//
// Every character of the text is either a bracket or comma the scan matched or inside a slice
// JSON.parse accepted, so valid text gives JSON.parse's result and invalid text is noticed.
// What it cannot tell is JSON.parse's message for invalid text: the caller parses the text
// whole once more for that (it stops at the error, and bodies are capped).

/** Containers shorter than this are parsed whole by one JSON.parse call (well under 0.1 ms). */
const LEAF_CHARS = 8 * 1024;
/** Characters scanned between pauses. */
const SCAN_CHARS_PER_PAUSE = 64 * 1024;
/** Characters parsed between pauses. */
export const PARSE_CHARS_PER_PAUSE = 16 * 1024;

/** A digit run at least this long may be an integer past 2^53 (see SlicedJsonOptions.parseLongIntegers). */
const LONG_INTEGER_DIGITS = 16;

export interface SlicedJsonOptions {
  /** Nesting beyond this fails the sliced parse (the caller's whole-text path says why). */
  maxDepth: number;
  /**
   * Parses a piece of text holding a run of LONG_INTEGER_DIGITS digits outside strings, for
   * callers that keep integers past 2^53 exact; other pieces go to JSON.parse.
   */
  parseLongIntegers?: (text: string) => unknown;
}

/** The value, or `failed` when the text is not JSON the sliced parse accepts. */
export type SlicedJsonResult = { failed: false; value: unknown } | { failed: true };

/** A container spanning at least LEAF_CHARS: where it ends and where its elements are split. */
interface LargeContainer {
  object: boolean;
  /** Offset of the closing bracket. */
  end: number;
  /** Offsets of the commas between its elements. */
  commas: number[];
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Offset of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return at;
  }
}

interface Scan {
  large: Map<number, LargeContainer>;
  /** Start offsets of digit runs of LONG_INTEGER_DIGITS or more outside strings, ascending. */
  longIntegers: number[];
}

function* scan(text: string, options: SlicedJsonOptions): SlicedWork<Scan | undefined> {
  const large = new Map<number, LargeContainer>();
  const longIntegers: number[] = [];
  // Open containers: start offset, kind, and where their commas begin on the shared stack.
  const starts: number[] = [];
  const objects: boolean[] = [];
  const commaBases: number[] = [];
  const commas: number[] = [];
  let nextPause = SCAN_CHARS_PER_PAUSE;
  for (let i = 0; i < text.length; i++) {
    if (i >= nextPause) {
      nextPause = i + SCAN_CHARS_PER_PAUSE;
      yield;
    }
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return undefined;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (starts.length >= options.maxDepth) return undefined;
      starts.push(i);
      objects.push(c === OPEN_OBJECT);
      commaBases.push(commas.length);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      const start = starts.pop();
      const object = objects.pop();
      const base = commaBases.pop();
      if (start === undefined || base === undefined || object !== (c === CLOSE_OBJECT)) return undefined;
      if (i - start >= LEAF_CHARS) large.set(start, { object, end: i, commas: commas.slice(base) });
      commas.length = base;
    } else if (c === COMMA) {
      if (starts.length === 0) return undefined;
      commas.push(i);
    } else if (c >= ZERO && c <= NINE && options.parseLongIntegers !== undefined) {
      let j = i;
      while (j < text.length && text.charCodeAt(j) >= ZERO && text.charCodeAt(j) <= NINE) j++;
      if (j - i >= LONG_INTEGER_DIGITS) longIntegers.push(i);
      i = j - 1;
    }
  }
  return starts.length === 0 ? { large, longIntegers } : undefined;
}

class Builder {
  readonly #text: string;
  readonly #scan: Scan;
  readonly #parseLongIntegers: ((text: string) => unknown) | undefined;
  /** longIntegers below this index lie before the piece being parsed (pieces come in text order). */
  #nextLongInteger = 0;
  #parsedSincePause = 0;

  constructor(text: string, found: Scan, options: SlicedJsonOptions) {
    this.#text = text;
    this.#scan = found;
    this.#parseLongIntegers = options.parseLongIntegers;
  }

  /** The value in text[from, to), whitespace around it allowed; throws when it is not one. */
  *value(from: number, to: number): SlicedWork<unknown> {
    const text = this.#text;
    while (from < to && isJsonSpace(text.charCodeAt(from))) from++;
    while (to > from && isJsonSpace(text.charCodeAt(to - 1))) to--;
    const container = this.#scan.large.get(from);
    if (container === undefined || container.end !== to - 1) return yield* this.#piece(from, to);
    return container.object ? yield* this.#object(from, container) : yield* this.#array(from, container);
  }

  *#piece(from: number, to: number): SlicedWork<unknown> {
    const longIntegers = this.#scan.longIntegers;
    while (this.#nextLongInteger < longIntegers.length && longIntegers[this.#nextLongInteger] < from) this.#nextLongInteger++;
    const hasLongInteger = this.#nextLongInteger < longIntegers.length && longIntegers[this.#nextLongInteger] < to;
    const piece = this.#text.slice(from, to);
    const value = hasLongInteger && this.#parseLongIntegers ? this.#parseLongIntegers(piece) : (JSON.parse(piece) as unknown);
    this.#parsedSincePause += to - from;
    if (this.#parsedSincePause >= PARSE_CHARS_PER_PAUSE) {
      this.#parsedSincePause = 0;
      yield;
    }
    return value;
  }

  /** Whether text[from, to) is only whitespace. */
  #blank(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (!isJsonSpace(this.#text.charCodeAt(i))) return false;
    return true;
  }

  *#array(start: number, container: LargeContainer): SlicedWork<unknown[]> {
    const out: unknown[] = [];
    if (container.commas.length === 0 && this.#blank(start + 1, container.end)) return out;
    let from = start + 1;
    for (const to of [...container.commas, container.end]) {
      out.push(yield* this.value(from, to));
      from = to + 1;
    }
    return out;
  }

  *#object(start: number, container: LargeContainer): SlicedWork<Record<string, unknown>> {
    const text = this.#text;
    const out: Record<string, unknown> = {};
    if (container.commas.length === 0 && this.#blank(start + 1, container.end)) return out;
    let from = start + 1;
    for (const to of [...container.commas, container.end]) {
      let keyStart = from;
      while (keyStart < to && isJsonSpace(text.charCodeAt(keyStart))) keyStart++;
      if (text.charCodeAt(keyStart) !== QUOTE) throw new SyntaxError("expected a member name");
      const keyEnd = closingQuote(text, keyStart);
      if (keyEnd < 0 || keyEnd >= to) throw new SyntaxError("unterminated member name");
      const key = JSON.parse(text.slice(keyStart, keyEnd + 1)) as string;
      let colon = keyEnd + 1;
      while (colon < to && isJsonSpace(text.charCodeAt(colon))) colon++;
      if (text.charCodeAt(colon) !== COLON) throw new SyntaxError("expected ':'");
      const value = yield* this.value(colon + 1, to);
      // As JSON.parse: an own property, even "__proto__" (assignment would set the prototype).
      if (key === "__proto__") Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      from = to + 1;
    }
    return out;
  }
}

/**
 * Parses JSON text in pieces, pausing between them: JSON.parse's result for any text it
 * accepts; `failed` for text that is not JSON, nested deeper than options.maxDepth, or that it
 * cannot split safely (parse such text whole for the error).
 */
export function* parseJsonInSlices(text: string, options: SlicedJsonOptions): SlicedWork<SlicedJsonResult> {
  const found = yield* scan(text, options);
  if (found === undefined) return { failed: true };
  try {
    return { failed: false, value: yield* new Builder(text, found, options).value(0, text.length) };
  } catch {
    return { failed: true };
  }
}
