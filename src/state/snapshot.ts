import type { PreparedQuery } from "../model/prepared-query.ts";
import { Packr } from "msgpackr";
import type { NodeCoordinate } from "../model/catalog.ts";
import type { KVEntry } from "../model/kv.ts";
import type { Session } from "../model/session.ts";
import type { AclDump } from "./acl-tables.ts";
import type { AutopilotDump } from "./autopilot-table.ts";
import type { ConnectCaDump } from "./connect-ca-table.ts";
import type { ConfigEntriesDump } from "./config-entries-table.ts";
import type { CatalogDump } from "./catalog-tables.ts";
import { StateStore } from "./store.ts";
import type { SlicedWork } from "../runtime/sliced-work.ts";
import { packSlices, unpackSlices } from "./msgpack-slices.ts";

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
  /** Absent in snapshots taken before prepared queries. */
  PreparedQueries?: { rows: PreparedQuery[]; tableIndex: number };
}

/**
 * Containers of a snapshot document walked by the sliced reader and writer: the document, its
 * tables, and their row lists (read in batches of rows; a node's services are one element).
 */
const SNAPSHOT_WALK_DEPTH = 2;

/** Serializes every table of the store (call between two applies: the result is consistent). */
export function serializeState(state: StateStore): Uint8Array {
  return packr.pack(stateDocument(state));
}

/**
 * serializeState's bytes, written in slices: the tables are listed at once (consistent as of
 * the call), then encoded over several turns. Rows are never changed in place, so applies in
 * between cannot alter what is being written.
 */
export function* serializeStateSlices(state: StateStore): SlicedWork<Uint8Array> {
  const doc = stateDocument(state);
  yield;
  return yield* packSlices(packr, doc, SNAPSHOT_WALK_DEPTH);
}

function stateDocument(state: StateStore): StateSnapshotDocument {
  return {
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
    PreparedQueries: state.preparedQueries.dump(),
  };
}

/**
 * Replaces the store's contents with a serialized snapshot and wakes every blocking query
 * (their answers may differ arbitrarily afterwards). Throws on a document it cannot read,
 * leaving the store untouched.
 */
export function restoreState(state: StateStore, data: Uint8Array): void {
  restoreDocument(state, decodeDocument(data));
}

/**
 * A snapshot read ahead of its restore: every table already loaded into a store nobody reads
 * (its own watch hub, no watchers), for the live store to adopt.
 */
export interface PreparedRestore {
  staged: StateStore;
  lastIndex: number;
}

/**
 * The costly part of restoreState as work that pauses between batches of rows: decoding the
 * document and loading every table into a staged store, a few hundred rows per step (issue 12
 * item 6: sessions, ACLs, config entries... were loaded in the restore's own turn, tens of ms
 * for tens of thousands of rows). restorePrepared then swaps them in, O(1) per table. Throws
 * what restoreState would throw for an unreadable document, before anything changed.
 */
export function* prepareRestore(data: Uint8Array): SlicedWork<PreparedRestore> {
  const doc = yield* decodeDocumentSlices(data);
  const staged = new StateStore();
  yield* staged.catalog.loadSlices(doc.Catalog);
  yield* staged.kv.loadSlices(doc.Kv);
  yield* staged.sessions.loadSlices(doc.Sessions);
  yield* staged.coordinates.loadSlices(doc.Coordinates);
  if (doc.Acl) yield* staged.acl.loadSlices(doc.Acl);
  if (doc.ConfigEntries) yield* staged.configEntries.loadSlices(doc.ConfigEntries);
  yield* staged.preparedQueries.loadSlices(doc.PreparedQueries);
  // One row and a few roots: loaded whole.
  if (doc.Autopilot) staged.autopilot.load(doc.Autopilot);
  if (doc.ConnectCa) staged.connectCa.load(doc.ConnectCa);
  return { staged, lastIndex: doc.LastIndex };
}

/** restoreState for a snapshot prepareRestore read (use it once): every table is swapped in. */
export function restorePrepared(state: StateStore, prepared: PreparedRestore): void {
  const { staged } = prepared;
  state.reset();
  state.kv.adopt(staged.kv);
  state.catalog.adopt(staged.catalog);
  state.sessions.adopt(staged.sessions);
  state.coordinates.adopt(staged.coordinates);
  state.acl.adopt(staged.acl);
  state.configEntries.adopt(staged.configEntries);
  state.preparedQueries.adopt(staged.preparedQueries);
  state.autopilot.load(staged.autopilot.dump());
  state.connectCa.load(staged.connectCa.dump());
  state.lastIndex = prepared.lastIndex;
  // reset() already woke everyone once; wake again for waiters that re-subscribed in between.
  state.hub.notifyAll();
}

function restoreDocument(state: StateStore, doc: StateSnapshotDocument): void {
  state.reset();
  state.kv.load(doc.Kv);
  state.catalog.load(doc.Catalog);
  state.sessions.load(doc.Sessions);
  state.coordinates.load(doc.Coordinates);
  if (doc.Autopilot) state.autopilot.load(doc.Autopilot);
  if (doc.Acl) state.acl.load(doc.Acl);
  if (doc.ConnectCa) state.connectCa.load(doc.ConnectCa);
  if (doc.ConfigEntries) state.configEntries.load(doc.ConfigEntries);
  state.preparedQueries.load(doc.PreparedQueries);
  state.lastIndex = doc.LastIndex;
  // reset() already woke everyone once; wake again for waiters that re-subscribed in between.
  state.hub.notifyAll();
}

export function decodeDocument(data: Uint8Array): StateSnapshotDocument {
  return checkedDocument(packr.unpack(asBuffer(data)));
}

/** decodeDocument in slices: pauses between batches of rows. */
export function* decodeDocumentSlices(data: Uint8Array): SlicedWork<StateSnapshotDocument> {
  return checkedDocument(yield* unpackSlices(packr, asBuffer(data), SNAPSHOT_WALK_DEPTH));
}

/** Byte fields (KV values) come back as Buffers, as the tables store them, whatever held the bytes. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function checkedDocument(raw: unknown): StateSnapshotDocument {
  if (typeof raw !== "object" || raw === null) throw new Error("state snapshot: not a msgpack map");
  const doc = raw as Partial<StateSnapshotDocument>;
  if (doc.Version !== STATE_SNAPSHOT_VERSION) throw new Error(`state snapshot: unsupported version ${String(doc.Version)}`);
  if (typeof doc.LastIndex !== "number" || !doc.Kv || !doc.Catalog || !doc.Sessions || !doc.Coordinates) {
    throw new Error("state snapshot: missing tables");
  }
  return doc as StateSnapshotDocument;
}
