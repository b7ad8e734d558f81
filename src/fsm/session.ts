import type { StateStore } from "../state/store.ts";
import type { ApplyResult, SessionCreateCommand, SessionDestroyCommand } from "./command.ts";

export function applySessionCreate(state: StateStore, index: number, cmd: SessionCreateCommand): ApplyResult {
  if (!state.catalog.getNode(cmd.Session.Node)) return { ok: false, error: `Missing node registration` };
  state.sessions.put(index, { ...cmd.Session, CreateIndex: index, ModifyIndex: index });
  return { ok: true, value: cmd.Session.ID };
}

/** Destroying a session releases (or deletes) its locks and starts their lock-delay. */
export function applySessionDestroy(state: StateStore, index: number, cmd: SessionDestroyCommand): ApplyResult {
  const session = state.sessions.delete(index, cmd.ID);
  if (!session) return { ok: true, value: true };
  const delayUntil = cmd.NowMs + session.LockDelay / 1e6;
  for (const entry of [...state.kv.entries()]) {
    if (entry.Session !== session.ID) continue;
    if (session.LockDelay > 0) state.sessions.setLockDelay(entry.Key, delayUntil);
    if (session.Behavior === "delete") state.kv.delete(index, entry.Key);
    else state.kv.put(index, { ...entry, Session: "", ModifyIndex: index });
  }
  return { ok: true, value: true };
}
