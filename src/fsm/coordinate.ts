import type { StateStore } from "../state/store.ts";
import type { ApplyResult, CoordinateUpdateCommand } from "./command.ts";

/**
 * A batch of agents' LAN coordinates (Consul's CoordinateBatchUpdate). Coordinates of nodes
 * not in the catalog are skipped: a node deregistered while its update sat in the batch must
 * not come back as a coordinate without a node.
 */
export function applyCoordinateUpdate(state: StateStore, index: number, cmd: CoordinateUpdateCommand): ApplyResult {
  for (const c of cmd.Coordinates) {
    if (!state.catalog.getNode(c.Node)) continue;
    state.coordinates.put(index, c);
  }
  return { ok: true, value: true };
}
