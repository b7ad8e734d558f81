import type { StateStore } from "../state/store.ts";
import type { ApplyResult, ConnectCaSetCommand } from "./command.ts";

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

export function applyConnectCaSerial(state: StateStore): ApplyResult {
  return { ok: true, value: state.connectCa.nextSerial() };
}
