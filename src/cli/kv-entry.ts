// KV entries as the Go api package sees them: Flags is a full uint64 (the lock and semaphore
// helpers use values above 2^53), so bodies are parsed keeping big integers exact.
import { parseJsonWithBigInts } from "../http/json.ts";

export interface KVEntry {
  readonly Key: string;
  readonly CreateIndex: bigint;
  readonly ModifyIndex: bigint;
  readonly LockIndex: bigint;
  readonly Flags: bigint;
  /** Raw bytes; `undefined` where the API sent `null` (empty value). */
  readonly Value: Buffer | undefined;
  readonly Session: string;
  readonly Namespace: string;
  readonly Partition: string;
}

function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === "string" && /^\d+$/.test(value)) return BigInt(value);
  return 0n;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function toKVEntry(raw: Record<string, unknown>): KVEntry {
  return {
    Key: text(raw.Key),
    CreateIndex: toBigInt(raw.CreateIndex),
    ModifyIndex: toBigInt(raw.ModifyIndex),
    LockIndex: toBigInt(raw.LockIndex),
    Flags: toBigInt(raw.Flags),
    Value: typeof raw.Value === "string" ? Buffer.from(raw.Value, "base64") : undefined,
    Session: text(raw.Session),
    Namespace: text(raw.Namespace),
    Partition: text(raw.Partition),
  };
}

/** Parses a `/v1/kv` JSON body (an array of entries) keeping 64-bit integers exact. */
export function parseKVEntries(body: Buffer): KVEntry[] {
  const source = body.toString("utf8");
  if (source.trim() === "") return [];
  const parsed = parseJsonWithBigInts(source);
  if (!Array.isArray(parsed)) return [];
  return parsed
    .filter((item): item is Record<string, unknown> => item !== null && typeof item === "object")
    .map(toKVEntry);
}

/** The JSON object Go's json.Marshal makes of an api.KVPair, fields in struct order. */
export function kvEntryJson(entry: KVEntry): Record<string, unknown> {
  return {
    Key: entry.Key,
    CreateIndex: entry.CreateIndex,
    ModifyIndex: entry.ModifyIndex,
    LockIndex: entry.LockIndex,
    Flags: entry.Flags,
    Value: entry.Value === undefined ? null : entry.Value.toString("base64"),
    Session: entry.Session,
    ...(entry.Namespace !== "" ? { Namespace: entry.Namespace } : {}),
    ...(entry.Partition !== "" ? { Partition: entry.Partition } : {}),
  };
}
