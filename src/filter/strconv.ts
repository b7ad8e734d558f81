// Go's strconv rules as go-bexpr applies them to filter literals: Unquote for string literals,
// ParseBool / ParseInt(s, 0, 64) / ParseUint / ParseFloat for coercion to a field's type.
// Error texts mirror Go's (`strconv.ParseInt: parsing "x": invalid syntax`) because Consul
// shows them to the user inside the filter error.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const INVALID = "invalid syntax";
const RANGE = "value out of range";

function goQuote(text: string): string {
  return JSON.stringify(text);
}

function fail(fn: string, text: string, reason: string): { ok: false; error: string } {
  return { ok: false, error: `strconv.${fn}: parsing ${goQuote(text)}: ${reason}` };
}

export function parseGoBool(text: string): Parsed<boolean> {
  switch (text) {
    case "1": case "t": case "T": case "TRUE": case "true": case "True":
      return { ok: true, value: true };
    case "0": case "f": case "F": case "FALSE": case "false": case "False":
      return { ok: true, value: false };
    default:
      return fail("ParseBool", text, INVALID);
  }
}

const INT_BODY: Readonly<Record<string, RegExp>> = {
  // Go base-0 literals: 0x / 0b / 0o prefixes, a bare leading 0 means octal, `_` between digits.
  hex: /^0[xX](_?[0-9a-fA-F])+$/,
  bin: /^0[bB](_?[01])+$/,
  oct: /^0[oO](_?[0-7])+$/,
  legacyOct: /^0(_?[0-7])*$/,
  dec: /^[1-9](_?[0-9])*$/,
};

function parseUnsignedBody(body: string): bigint | undefined {
  if (INT_BODY.hex.test(body) || INT_BODY.bin.test(body) || INT_BODY.oct.test(body)) {
    return BigInt(body.replaceAll("_", "").toLowerCase());
  }
  if (INT_BODY.legacyOct.test(body)) return BigInt("0o" + (body.replaceAll("_", "").slice(1) || "0"));
  if (INT_BODY.dec.test(body)) return BigInt(body.replaceAll("_", ""));
  return undefined;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

export function parseGoInt(text: string): Parsed<bigint> {
  const negative = text.startsWith("-");
  const body = negative || text.startsWith("+") ? text.slice(1) : text;
  const magnitude = parseUnsignedBody(body);
  if (magnitude === undefined) return fail("ParseInt", text, INVALID);
  const value = negative ? -magnitude : magnitude;
  if (value < INT64_MIN || value > INT64_MAX) return fail("ParseInt", text, RANGE);
  return { ok: true, value };
}

export function parseGoUint(text: string): Parsed<bigint> {
  const value = parseUnsignedBody(text);
  if (value === undefined) return fail("ParseUint", text, INVALID);
  if (value > UINT64_MAX) return fail("ParseUint", text, RANGE);
  return { ok: true, value };
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9]+)?$/;
const SPECIAL_FLOAT = /^[+-]?(?:inf|infinity|nan)$/i;

export function parseGoFloat(text: string): Parsed<number> {
  if (SPECIAL_FLOAT.test(text)) {
    const lower = text.toLowerCase();
    if (lower.endsWith("nan")) return lower === "nan" ? { ok: true, value: Number.NaN } : fail("ParseFloat", text, INVALID);
    return { ok: true, value: lower.startsWith("-") ? -Infinity : Infinity };
  }
  if (!DECIMAL_FLOAT.test(text)) return fail("ParseFloat", text, INVALID);
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isFinite(value)) return fail("ParseFloat", text, RANGE);
  return { ok: true, value };
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, "\\": 0x5c, '"': 0x22,
};

const HEX_DIGITS: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

/**
 * strconv.Unquote for a complete literal including its quotes: `"…"` with Go escapes, or
 * `` `…` `` raw (carriage returns dropped). Returns undefined where Go reports invalid syntax.
 */
export function unquoteGo(literal: string): string | undefined {
  if (literal.length < 2) return undefined;
  const quote = literal[0];
  if (literal[literal.length - 1] !== quote) return undefined;
  const inner = literal.slice(1, -1);
  if (quote === "`") return inner.includes("`") ? undefined : inner.replaceAll("\r", "");
  if (quote !== '"' || inner.includes("\n")) return undefined;
  if (!inner.includes("\\")) return inner.includes('"') ? undefined : inner;

  // \x and octal escapes produce raw bytes, so build UTF-8 bytes and decode once at the end.
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  let i = 0;
  while (i < inner.length) {
    const ch = inner[i];
    if (ch === '"') return undefined;
    if (ch !== "\\") {
      const codePoint = inner.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...encoder.encode(char));
      i += char.length;
      continue;
    }
    const esc = inner[i + 1];
    if (esc === undefined) return undefined;
    if (esc in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[esc]);
      i += 2;
    } else if (esc in HEX_DIGITS) {
      const width = HEX_DIGITS[esc];
      const digits = inner.slice(i + 2, i + 2 + width);
      if (digits.length !== width || !/^[0-9a-fA-F]+$/.test(digits)) return undefined;
      const value = Number.parseInt(digits, 16);
      if (esc === "x") {
        bytes.push(value);
      } else {
        if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return undefined;
        bytes.push(...encoder.encode(String.fromCodePoint(value)));
      }
      i += 2 + width;
    } else if (esc >= "0" && esc <= "7") {
      const digits = inner.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits)) return undefined;
      const value = Number.parseInt(digits, 8);
      if (value > 0xff) return undefined;
      bytes.push(value);
      i += 4;
    } else {
      return undefined;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
