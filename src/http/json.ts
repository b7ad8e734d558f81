// JSON encoding that keeps uint64 values exact: a bigint above 2^53 travels through
// JSON.stringify as a marker string and is spliced back as a bare number.

const MARK = "\u0000u64:";
const MARK_RE = /"\\u0000u64:(\d+)"/g;

export function encodeJson(value: unknown, pretty: boolean): string {
  // Most writes answer a bare true/false: no replacer walk for a value with nothing inside.
  if (typeof value === "boolean" || value === null) return pretty ? `${String(value)}\n` : String(value);
  // Views turn safe uint64s into numbers, so the plain encoder almost always succeeds; it
  // throws a TypeError on the rare bigint, which the exact (slower) path below handles.
  try {
    const plain = JSON.stringify(value, null, pretty ? 4 : undefined);
    const out = plain === undefined ? "null" : plain;
    return pretty ? out + "\n" : out;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  let sawBig = false;
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === "bigint") {
        if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
        sawBig = true;
        return MARK + v.toString();
      }
      return v;
    },
    pretty ? 4 : undefined,
  );
  const out = text === undefined ? "null" : text;
  const spliced = sawBig ? out.replace(MARK_RE, "$1") : out;
  return pretty ? spliced + "\n" : spliced;
}

/**
 * Parses a JSON request body keeping integers beyond 2^53 exact (as bigint). Only called on
 * bodies that may carry uint64 (txn KV Flags); ordinary bodies use JSON.parse.
 */
export function parseJsonWithBigInts(text: string): unknown {
  // Quote long integer literals outside strings, then revive them as bigint. Unchanged text is
  // copied in runs, not character by character: a 512 KiB txn body built a rope of half a
  // million one-character pieces and held the event loop for tens of ms (issue 12 item 6).
  let out = "";
  let copiedTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      continue;
    }
    if (ch >= "0" && ch <= "9") {
      let j = i;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
      const lit = text.slice(i, j);
      if (/^\d{16,}$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        out += text.slice(copiedTo, i) + `"\\u0000u64:${lit}"`;
        copiedTo = j;
      }
      i = j - 1;
    }
  }
  // Without a long literal there is nothing to revive (the reviver alone doubles parse time).
  if (copiedTo === 0) return JSON.parse(text) as unknown;
  out += text.slice(copiedTo);
  return JSON.parse(out, (_k, v: unknown) => (typeof v === "string" && v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v));
}
