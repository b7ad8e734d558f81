import { proposedGraphError } from "../connect/config-entry-graph.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, ConfigEntryDeleteCommand, ConfigEntrySetCommand } from "./command.ts";

export function applyConfigEntrySet(state: StateStore, index: number, cmd: ConfigEntrySetCommand): ApplyResult {
  const table = state.configEntries;
  if (cmd.Op === "cas") {
    const stored = table.get(cmd.Entry.Kind, cmd.Entry.Name);
    if ((stored?.ModifyIndex ?? 0) !== cmd.CasIndex) return { ok: true, value: false };
  }
  // Checked here, against the entries as they are at this index, not when the request came in:
  // two writes each valid alone must not both land when together they break a chain.
  const graphError = proposedGraphError(table, { put: cmd.Entry });
  if (graphError !== undefined) return { ok: false, error: graphError, code: "config-entry-graph" };
  table.put(index, cmd.Entry);
  return { ok: true, value: true };
}

export function applyConfigEntryDelete(state: StateStore, index: number, cmd: ConfigEntryDeleteCommand): ApplyResult {
  const table = state.configEntries;
  if (cmd.Op === "cas") {
    const stored = table.get(cmd.Kind, cmd.Name);
    if (!stored || stored.ModifyIndex !== cmd.CasIndex) return { ok: true, value: false };
  }
  if (table.get(cmd.Kind, cmd.Name)) {
    const graphError = proposedGraphError(table, { drop: { kind: cmd.Kind, name: cmd.Name } });
    if (graphError !== undefined) return { ok: false, error: graphError, code: "config-entry-graph" };
  }
  table.delete(index, cmd.Kind, cmd.Name);
  return { ok: true, value: true };
}
