import type { KVEntry } from "../../model/kv.ts";

/** A KV entry as /v1/kv and /v1/txn render it (kv.md §2; the Go client's KVPair). */
export interface KvEntryJson {
  LockIndex: number;
  Key: string;
  /** A number when exact as one (nearly always), so the answer needs no bigint-aware encoding. */
  Flags: number | bigint;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const MAX_SAFE_FLAGS = BigInt(Number.MAX_SAFE_INTEGER);

export function kvEntryView(e: KVEntry): KvEntryJson {
  // Assigned in Consul's field order; Session is omitempty, so it is only set when held.
  const v = {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags <= MAX_SAFE_FLAGS ? Number(e.Flags) : e.Flags,
    Value: e.Value.length > 0 ? e.Value.toString("base64") : null,
  } as KvEntryJson;
  if (e.Session) v.Session = e.Session;
  v.CreateIndex = e.CreateIndex;
  v.ModifyIndex = e.ModifyIndex;
  return v;
}

/**
 * `[kvEntryView(e), …]` as encodeJson writes it (compact, or pretty with 4-space indents and a
 * final newline), written field by field: the generic encoder walks a fresh view object per
 * entry, and with indentation it was the largest single cost of a small KV read.
 */
export function encodeKvEntries(entries: readonly KVEntry[], pretty: boolean): string {
  if (entries.length === 0) return pretty ? "[]\n" : "[]";
  const [open, sep, colon, close, between] = pretty ? PRETTY : COMPACT;
  let out = pretty ? "[\n" : "[";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (i > 0) out += between;
    out += `${open}"LockIndex"${colon}${e.LockIndex}${sep}"Key"${colon}${JSON.stringify(e.Key)}${sep}"Flags"${colon}${e.Flags.toString()}`;
    out += `${sep}"Value"${colon}${e.Value.length > 0 ? `"${e.Value.toString("base64")}"` : "null"}`;
    if (e.Session) out += `${sep}"Session"${colon}${JSON.stringify(e.Session)}`;
    out += `${sep}"CreateIndex"${colon}${e.CreateIndex}${sep}"ModifyIndex"${colon}${e.ModifyIndex}${close}`;
  }
  return pretty ? `${out}\n]\n` : `${out}]`;
}

/** Object open, field separator, key/value separator, object close, between objects. */
const PRETTY = ["    {\n        ", ",\n        ", ": ", "\n    }", ",\n"] as const;
const COMPACT = ["{", ",", ":", "}", ","] as const;
