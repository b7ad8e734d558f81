import type { SlicedWork } from "../../runtime/sliced-work.ts";
import { encodeJson } from "../json.ts";

// An agent listing (GET /v1/agent/checks, ~5,000 checks per registration at the body cap) is a
// JSON object of entries by ID. Built as one object and stringified whole it held the loop
// ~100 ms per 5,000 checks (issue 12 item 6); here each entry is viewed and encoded on its own,
// a batch per step, and the text is joined at the end — the very bytes encodeJson would write
// for the object the handler used to build (IDs sorted, array-index IDs first as JS orders them).

/** Entries viewed and encoded per step. */
export const ENTRIES_PER_STEP = 32;

/** A key JS objects order before the others, by value: a canonical array index. */
function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9][0-9]*)$/.test(key) && Number(key) < 4294967295;
}

function byObjectKeyOrder(a: string, b: string): number {
  const ai = isArrayIndex(a);
  const bi = isArrayIndex(b);
  if (ai !== bi) return ai ? -1 : 1;
  if (ai) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text is handed on in UTF-8 pieces of about this many characters (a turn never converts all of it). */
const PIECE_CHARS = 64 * 1024;

/**
 * The JSON text of the object {id: view} over `items`, as UTF-8 pieces in order, an item left
 * out when `view` returns undefined. The rows are the caller's snapshot (immutable rows), so
 * the answer is of one moment.
 */
export function* encodedIdMapInSteps<T>(items: readonly T[], idOf: (item: T) => string, view: (item: T) => unknown, pretty: boolean): SlicedWork<Buffer[]> {
  const sorted = items.map((item) => ({ id: idOf(item), item })).sort((a, b) => byObjectKeyOrder(a.id, b.id));
  yield;
  const pieces: Buffer[] = [];
  let chunk: string[] = [];
  let chunkChars = 0;
  let entries = 0;
  for (let i = 0; i < sorted.length; i++) {
    const { id, item } = sorted[i]!;
    const v = view(item);
    if (v !== undefined) {
      const key = JSON.stringify(id);
      const text = pretty ? `${entries === 0 ? "{\n" : ",\n"}    ${key}: ${encodeJson(v, true).slice(0, -1).replace(/\n/g, "\n    ")}` : `${entries === 0 ? "{" : ","}${key}:${encodeJson(v, false)}`;
      entries++;
      chunk.push(text);
      chunkChars += text.length;
      if (chunkChars >= PIECE_CHARS) {
        pieces.push(Buffer.from(chunk.join("")));
        chunk = [];
        chunkChars = 0;
      }
    }
    if ((i + 1) % ENTRIES_PER_STEP === 0) yield;
  }
  chunk.push(entries === 0 ? (pretty ? "{}\n" : "{}") : pretty ? "\n}\n" : "}");
  pieces.push(Buffer.from(chunk.join("")));
  return pieces;
}
