import { Packr } from "msgpackr";
import type { NodeCoordinate } from "../model/catalog.ts";
import type { KVEntry } from "../model/kv.ts";
import type { Session } from "../model/session.ts";
import type { AclDump } from "./acl-tables.ts";
import type { AutopilotDump } from "./autopilot-table.ts";
import type { ConnectCaDump } from "./connect-ca-table.ts";
import type { ConfigEntriesDump } from "./config-entries-table.ts";
import type { CatalogDump } from "./catalog-tables.ts";
import type { StateStore } from "./store.ts";

// The whole replicated state as one msgpack document: what a Raft snapshot carries and what
// `/v1/snapshot` will archive as state.bin. Rows travel as stored (Buffers stay binary, 64-bit
// KV flags stay bigint), together with every table index, KV tombstone and lock-delay, so a
// restored store answers every query — indexes included — exactly as the original did.

export const STATE_SNAPSHOT_VERSION = 1;

/** bigints pack as msgpack int64 and come back as bigint; plain numbers stay numbers. */
const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

export interface StateSnapshotDocument {
  Version: number;
  LastIndex: number;
  Kv: { rows: KVEntry[]; tombstones: [string, number][]; tableIndex: number };
  Catalog: CatalogDump;
  Sessions: { rows: Session[]; lockDelays: [string, number][]; tableIndex: number };
  Coordinates: { rows: NodeCoordinate[]; tableIndex: number };
  /** Absent in snapshots taken before autopilot was Raft state: restored as "not seeded yet". */
  Autopilot?: AutopilotDump;
  /** Absent in snapshots taken before ACLs were Raft state: restored as empty, never bootstrapped. */
  Acl?: AclDump;
  /** Absent in snapshots taken before Connect: restored as "CA not initialised yet". */
  ConnectCa?: ConnectCaDump;
  /** Absent in snapshots taken before config entries. */
  ConfigEntries?: ConfigEntriesDump;
}

/** Serializes every table of the store (call between two applies: the result is consistent). */
export function serializeState(state: StateStore): Uint8Array {
  const doc: StateSnapshotDocument = {
    Version: STATE_SNAPSHOT_VERSION,
    LastIndex: state.lastIndex,
    Kv: state.kv.dump(),
    Catalog: state.catalog.dump(),
    Sessions: state.sessions.dump(),
    Coordinates: state.coordinates.dump(),
    Autopilot: state.autopilot.dump(),
    Acl: state.acl.dump(),
    ConnectCa: state.connectCa.dump(),
    ConfigEntries: state.configEntries.dump(),
  };
  return packr.pack(doc);
}

/**
 * Replaces the store's contents with a serialized snapshot and wakes every blocking query
 * (their answers may differ arbitrarily afterwards). Throws on a document it cannot read,
 * leaving the store untouched.
 */
export function restoreState(state: StateStore, data: Uint8Array): void {
  const doc = decodeDocument(data);
  state.reset();
  state.kv.load(doc.Kv);
  state.catalog.load(doc.Catalog);
  state.sessions.load(doc.Sessions);
  state.coordinates.load(doc.Coordinates);
  if (doc.Autopilot) state.autopilot.load(doc.Autopilot);
  if (doc.Acl) state.acl.load(doc.Acl);
  if (doc.ConnectCa) state.connectCa.load(doc.ConnectCa);
  if (doc.ConfigEntries) state.configEntries.load(doc.ConfigEntries);
  state.lastIndex = doc.LastIndex;
  // reset() already woke everyone once; wake again for waiters that re-subscribed in between.
  state.hub.notifyAll();
}

export function decodeDocument(data: Uint8Array): StateSnapshotDocument {
  const raw: unknown = packr.unpack(data);
  if (typeof raw !== "object" || raw === null) throw new Error("state snapshot: not a msgpack map");
  const doc = raw as Partial<StateSnapshotDocument>;
  if (doc.Version !== STATE_SNAPSHOT_VERSION) throw new Error(`state snapshot: unsupported version ${String(doc.Version)}`);
  if (typeof doc.LastIndex !== "number" || !doc.Kv || !doc.Catalog || !doc.Sessions || !doc.Coordinates) {
    throw new Error("state snapshot: missing tables");
  }
  return doc as StateSnapshotDocument;
}
