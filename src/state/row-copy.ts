// Stored rows are built property by property in the source's order, not with object spread.
// V8 gave every `{ ...row, CreateIndex, ModifyIndex }` copy its own hidden class (measured:
// 17,000 instances left ~14,000 one-off maps, a quarter of the heap); properties added one by
// one in the same order follow one shared transition chain, so rows of a table share a shape.
//
// Strings are detached from the buffer they were decoded from: msgpackr reads a command's
// strings as slices of one string holding the whole command, and V8 keeps that parent alive
// for any slice of 13 characters or more ("service:svc-0"), so each stored row pinned its
// whole Raft entry (~500 bytes per instance).

/** Shortest string V8 represents as a slice of its parent (SlicedString::kMinLength). */
const SLICE_MIN_LENGTH = 13;
/** Rows nest shallowly (Tags, Meta, Weights, Definition); deeper values are kept as they are. */
const DETACH_DEPTH = 2;

/** A copy of `fields` with the two Raft indexes set (appended when the fields lack them). */
export function rowWithIndexes<T extends object>(fields: T, createIndex: number, modifyIndex: number): T & { CreateIndex: number; ModifyIndex: number } {
  const row: Record<string, unknown> = {};
  const source = fields as Record<string, unknown>;
  for (const key in source) {
    if (!Object.hasOwn(source, key) || key === "CreateIndex" || key === "ModifyIndex") continue;
    row[key] = detached(source[key], DETACH_DEPTH);
  }
  row.CreateIndex = createIndex;
  row.ModifyIndex = modifyIndex;
  return row as T & { CreateIndex: number; ModifyIndex: number };
}

/** `s` with storage of its own, for strings kept long (row values, table keys). */
export function ownString(s: string): string {
  return s.length >= SLICE_MIN_LENGTH ? flatCopy(s) : s;
}

// Values repeated across many rows are stored once. Short strings ("svc-0", "passing", tags)
// go through a bounded intern table; empty objects and arrays become one frozen instance each
// (rows are never mutated in place; freezing turns a mistake into an error, not shared damage).
/** Longest string interned; longer ones are rarely shared. */
const INTERN_MAX_LENGTH = 64;
/** Distinct strings interned at most; past it new strings are only detached. */
const INTERN_MAX_ENTRIES = 200_000;
/**
 * The table in 256 maps picked by length and three characters: a Map grows by rehashing every
 * entry in one call, and one table of 131,072 strings took ~17 ms to double, the longest turn
 * left in a 4 MB registration (24,000 checks bring 72,000 new strings). Small maps double in
 * well under a millisecond.
 */
const INTERN_SHARDS = 256;
const interned: Map<string, string>[] = Array.from({ length: INTERN_SHARDS }, () => new Map<string, string>());
let internedCount = 0;
const EMPTY_OBJECT: Readonly<Record<string, never>> = Object.freeze({});
const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

function internShard(s: string): Map<string, string> {
  const last = s.length - 1;
  return interned[(s.length * 31 + s.charCodeAt(last) * 7 + s.charCodeAt(last > 0 ? last - 1 : 0) * 131 + s.charCodeAt(s.length >> 1)) & (INTERN_SHARDS - 1)];
}

function internString(s: string): string {
  if (s.length === 0 || s.length > INTERN_MAX_LENGTH) return ownString(s);
  const shard = internShard(s);
  const known = shard.get(s);
  if (known !== undefined) return known;
  const own = ownString(s);
  if (internedCount < INTERN_MAX_ENTRIES) {
    shard.set(own, own);
    internedCount++;
  }
  return own;
}

function detached(value: unknown, depth: number): unknown {
  if (typeof value === "string") return internString(value);
  if (typeof value !== "object" || value === null || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return EMPTY_ARRAY;
    if (depth === 0) return value;
    return value.map((v: unknown) => detached(v, depth - 1));
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const source = value as Record<string, unknown>;
  let keys = 0;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    keys++;
    if (depth === 0) continue;
    const v = source[key];
    if (typeof v !== "string" && (typeof v !== "object" || v === null)) continue;
    const d = detached(v, depth - 1);
    if (d === v) continue;
    copy ??= { ...source };
    copy[key] = d;
  }
  if (keys === 0) return EMPTY_OBJECT;
  return copy ?? value;
}

/** A string with storage of its own: the flattened concatenation is fresh, the slice drops its first character. */
function flatCopy(s: string): string {
  return (" " + s).slice(1);
}
