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
