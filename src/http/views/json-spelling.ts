// The two spellings of JSON text the API writes: compact, and indented by four spaces per level
// (`?pretty` and -dev, Go's json.MarshalIndent with prefix "" and indent "    ", which is also
// JSON.stringify(value, null, 4)). Writers of known shapes (views/json-bytes.ts) compute their
// keys, indentation and separators from these once, not per entry.

export interface JsonSpelling {
  readonly pretty: boolean;
  /** Before a member or element at depth d: "\n" plus d indents when pretty, "" when compact. */
  readonly lines: readonly string[];
  /** Between a key and its value. */
  readonly colon: string;
}

/** Depths precomputed; deeper lines (only in unusually nested user data) are built when asked. */
const PRECOMPUTED_DEPTHS = 32;

function spelling(pretty: boolean): JsonSpelling {
  const lines: string[] = [];
  for (let d = 0; d < PRECOMPUTED_DEPTHS; d++) lines.push(pretty ? `\n${"    ".repeat(d)}` : "");
  return { pretty, lines, colon: pretty ? ": " : ":" };
}

export const PRETTY: JsonSpelling = spelling(true);
export const COMPACT: JsonSpelling = spelling(false);

/** Between two elements of a top-level array (the next element's indent is part of it). */
export function listSeparator(sp: JsonSpelling): string {
  return sp.pretty ? ",\n" : ",";
}

/** The line start at depth d. */
export function lineAt(sp: JsonSpelling, d: number): string {
  return sp.lines[d] ?? (sp.pretty ? `\n${"    ".repeat(d)}` : "");
}

/** One member's key on its own line at depth d: the line start, the quoted key and the colon. */
export function memberKey(sp: JsonSpelling, d: number, key: string): string {
  return `${lineAt(sp, d)}${JSON.stringify(key)}${sp.colon}`;
}

/** The closing bracket of an object or array whose opening bracket sits at depth d. */
export function closeAt(sp: JsonSpelling, d: number, bracket: "}" | "]"): string {
  return `${lineAt(sp, d)}${bracket}`;
}

/** An object JSON.stringify walks member by member: no toJSON, Object's prototype or none. */
export function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== "function";
}

/**
 * What JSON.stringify writes for `v` nested at depth d (undefined where it writes nothing).
 * JSON strings hold no raw newline, so every newline in its output starts a line, and nesting
 * the text d levels deep is adding d indents after each one.
 */
export function stringifiedAt(v: unknown, d: number, sp: JsonSpelling): string | undefined {
  const text = JSON.stringify(v, null, sp.pretty ? 4 : undefined) as string | undefined;
  if (text === undefined || !sp.pretty || d === 0) return text;
  return text.replaceAll("\n", lineAt(sp, d));
}
