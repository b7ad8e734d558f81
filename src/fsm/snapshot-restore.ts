import { restorePrepared, restoreState, type PreparedRestore } from "../state/snapshot.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, SnapshotRestoreCommand } from "./command.ts";

/**
 * Replaces the whole state with an operator snapshot, then raises every table index to this
 * command's index: the restore is a change to every table, so lists, catalog and health
 * queries blocked on an index from before it answer (their index moves past theirs) instead
 * of waiting out their timeout on indexes the snapshot rolled back. Rows keep the indexes
 * they were saved with, as Consul's restore does (CAS clients see the saved ModifyIndex).
 */
export function applySnapshotRestore(state: StateStore, index: number, cmd: SnapshotRestoreCommand, prepared?: PreparedRestore): ApplyResult {
  try {
    if (prepared !== undefined) restorePrepared(state, prepared);
    else restoreState(state, cmd.Data);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  state.lastIndex = index;
  state.kv.tableIndex = index;
  state.sessions.tableIndex = index;
  state.coordinates.tableIndex = index;
  state.autopilot.tableIndex = index;
  state.acl.touchAll(index);
  state.catalog.raiseIndexes(index);
  state.hub.notifyAll();
  return { ok: true, value: true };
}
