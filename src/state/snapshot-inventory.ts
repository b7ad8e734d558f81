import { Packr } from "msgpackr";
import { decodeDocument } from "./snapshot.ts";

// What a snapshot holds, record by record, named as Consul's snapshot stream names its message
// types (`consul snapshot inspect` prints a Count and Size per type). Our state.bin is one
// msgpack document rather than Consul's record stream, so a record's size is the size of its
// own msgpack encoding — the same measure Consul's counting reader takes of each record.

const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

export interface SnapshotRecord {
  /** Consul's structs.MessageType name: Register, KVS, Tombstone, Session, CoordinateBatchUpdate, Autopilot. */
  type: string;
  size: number;
  /** KVS records: the key (for -kvdetails). */
  key?: string;
}

function sizeOf(value: unknown): number {
  return packr.pack(value).length;
}

export function snapshotRecords(state: Uint8Array): SnapshotRecord[] {
  const doc = decodeDocument(state);
  const out: SnapshotRecord[] = [];
  // Consul writes one Register record per node, per service and per check.
  for (const node of doc.Catalog.nodes) out.push({ type: "Register", size: sizeOf(node) });
  for (const [, services] of doc.Catalog.services) for (const s of services) out.push({ type: "Register", size: sizeOf(s) });
  for (const [, checks] of doc.Catalog.checks) for (const c of checks) out.push({ type: "Register", size: sizeOf(c) });
  for (const row of doc.Kv.rows) out.push({ type: "KVS", size: sizeOf(row), key: row.Key });
  for (const tombstone of doc.Kv.tombstones) out.push({ type: "Tombstone", size: sizeOf(tombstone) });
  for (const session of doc.Sessions.rows) out.push({ type: "Session", size: sizeOf(session) });
  for (const coord of doc.Coordinates.rows) out.push({ type: "CoordinateBatchUpdate", size: sizeOf(coord) });
  for (const q of doc.PreparedQueries?.rows ?? []) out.push({ type: "PreparedQuery", size: sizeOf(q) });
  if (doc.Autopilot?.row) out.push({ type: "Autopilot", size: sizeOf(doc.Autopilot.row) });
  return out;
}
