import { autopilotConfigFields } from "../model/autopilot.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, AutopilotSetConfigCommand } from "./command.ts";

/** Writes the autopilot configuration when the command's condition holds (see AutopilotSetOp). */
export function applyAutopilotSetConfig(state: StateStore, index: number, cmd: AutopilotSetConfigCommand): ApplyResult {
  const stored = state.autopilot.get();
  if (cmd.Op === "cas" && (stored === undefined || stored.ModifyIndex !== cmd.CasIndex)) return { ok: true, value: false };
  if (cmd.Op === "seed" && stored !== undefined) return { ok: true, value: false };
  // Only the known fields: a command carrying extra keys must not store them.
  state.autopilot.set(index, autopilotConfigFields(cmd.Config));
  return { ok: true, value: true };
}

