import type { StateStore } from "../state/store.ts";
import type { ApplyResult, ConfigEntryDeleteCommand, ConfigEntrySetCommand } from "./command.ts";

export function applyConfigEntrySet(state: StateStore, index: number, cmd: ConfigEntrySetCommand): ApplyResult {
  const table = state.configEntries;
  if (cmd.Op === "cas") {
    const stored = table.get(cmd.Entry.Kind, cmd.Entry.Name);
    if ((stored?.ModifyIndex ?? 0) !== cmd.CasIndex) return { ok: true, value: false };
  }
  table.put(index, cmd.Entry);
  return { ok: true, value: true };
}

export function applyConfigEntryDelete(state: StateStore, index: number, cmd: ConfigEntryDeleteCommand): ApplyResult {
  const table = state.configEntries;
  if (cmd.Op === "cas") {
    const stored = table.get(cmd.Kind, cmd.Name);
    if (!stored || stored.ModifyIndex !== cmd.CasIndex) return { ok: true, value: false };
  }
  table.delete(index, cmd.Kind, cmd.Name);
  return { ok: true, value: true };
}
