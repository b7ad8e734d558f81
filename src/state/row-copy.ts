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

function detached(value: unknown, depth: number): unknown {
  if (typeof value === "string") return ownString(value);
  if (depth === 0 || typeof value !== "object" || value === null || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    if (!value.some((v) => needsDetaching(v))) return value;
    return value.map((v: unknown) => detached(v, depth - 1));
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    const v = source[key];
    if (!needsDetaching(v)) continue;
    copy ??= { ...source };
    copy[key] = detached(v, depth - 1);
  }
  return copy ?? value;
}

function needsDetaching(v: unknown): boolean {
  return (typeof v === "string" && v.length >= SLICE_MIN_LENGTH) || (typeof v === "object" && v !== null);
}

/** A string with storage of its own: the flattened concatenation is fresh, the slice drops its first character. */
function flatCopy(s: string): string {
  return (" " + s).slice(1);
}
