import type { StateStore } from "../state/store.ts";
import type { ApplyResult, ConnectCaSerialCommand, ConnectCaSetCommand } from "./command.ts";

/** Writes the CA configuration (and roots) when the command's condition holds (see ConnectCaSetCommand). */
export function applyConnectCaSet(state: StateStore, index: number, cmd: ConnectCaSetCommand): ApplyResult {
  const ca = state.connectCa;
  if (cmd.Op === "bootstrap" && ca.config() !== undefined) return { ok: true, value: false };
  if (cmd.Op === "cas" && ca.rootsIndex !== cmd.CasIndex) return { ok: true, value: false };
  if (cmd.Roots && cmd.Roots.filter((r) => r.Active).length !== 1) return { ok: false, error: "exactly one CA root must be active" };
  ca.setConfig(index, cmd.Config);
  if (cmd.Roots) ca.setRoots(index, cmd.Roots);
  return { ok: true, value: true };
}

export function applyConnectCaSerial(state: StateStore, cmd: ConnectCaSerialCommand): ApplyResult {
  const count = cmd.Count ?? 1;
  if (!Number.isSafeInteger(count) || count < 1) return { ok: false, error: `invalid serial number count ${String(count)}` };
  return { ok: true, value: state.connectCa.reserveSerials(count) };
}
