import { QUOTE, BACKSLASH, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY } from "./json-chars.ts";

/**
 * How deep JSON documents may nest (objects and arrays). Go's decoder, and so Consul, stops at
 * 10,000; our own recursive code cannot go that far: msgpackr (Raft entries, snapshots) and
 * structuredClone overflow the stack near 1,300–1,900 levels, JSON.stringify near 4,100. A
 * document that decodes but cannot be encoded would be acknowledged, then break every read,
 * anti-entropy run, persist and snapshot that touches it. 512 is far beyond any real
 * configuration (Proxy.Config, Meta, check definitions nest a handful of levels) and leaves the
 * encoders a wide margin. Nothing deeper is decoded, so nothing deeper is ever stored.
 */
export const MAX_JSON_NESTING_DEPTH = 512;

export interface JsonTooDeep {
  /** The opening bracket that went past the limit. */
  char: "{" | "[";
  offset: number;
}

/**
 * Finds the first bracket nested deeper than `limit` in JSON text, without building anything
 * (one pass, constant memory), so a hostile body costs no more than reading it. Brackets inside
 * strings do not count. Text that is not valid JSON is left for the parser to refuse.
 */
export function findJsonTooDeep(text: string, limit = MAX_JSON_NESTING_DEPTH): JsonTooDeep | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limit) return { char: c === OPEN_OBJECT ? "{" : "[", offset: i };
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return undefined;
}

/** Go's wording for the same refusal, with our limit. */
export function jsonTooDeepMessage(found: JsonTooDeep, limit = MAX_JSON_NESTING_DEPTH): string {
  return `invalid character '${found.char}' exceeded max depth (${limit} nested objects and arrays)`;
}
