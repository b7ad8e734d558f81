import type { Session } from "../model/session.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, SessionCreateCommand, SessionDestroyCommand } from "./command.ts";

// Session lifecycle inside apply (spec/session.md §3, §6). Invalidation (destroy, TTL expiry,
// a bound check going critical or away, the node going away) always takes the same path:
// drop the row, then release or delete every key it held and start their lock-delay.

/** Consul caps the effective lock-delay at 60 s whatever the session asked for. */
export const MAX_LOCK_DELAY_MS = 60_000;

/** The check IDs a session is bound to, all on the session's node. */
export function boundCheckIds(session: Pick<Session, "NodeChecks" | "ServiceChecks">): string[] {
  const ids = [...(session.NodeChecks ?? [])];
  for (const c of session.ServiceChecks ?? []) ids.push(c.ID);
  return ids;
}

export function applySessionCreate(state: StateStore, index: number, cmd: SessionCreateCommand): ApplyResult {
  const session = cmd.Session;
  if (!state.catalog.getNode(session.Node)) return { ok: false, error: "Missing node registration" };
  for (const checkId of boundCheckIds(session)) {
    const check = state.catalog.getCheck(session.Node, checkId);
    if (!check) return { ok: false, error: `Missing check '${checkId}' registration` };
    if (check.Status === "critical") return { ok: false, error: `Check '${checkId}' is in critical state` };
  }
  if (state.sessions.get(session.ID)) return { ok: false, error: "Session ID must be unique" };
  state.sessions.put(index, { ...session, CreateIndex: index, ModifyIndex: index });
  return { ok: true, value: session.ID };
}

/** Destroy is idempotent: an unknown session still answers true. */
export function applySessionDestroy(state: StateStore, index: number, cmd: SessionDestroyCommand): ApplyResult {
  invalidateSession(state, index, cmd.NowMs, cmd.ID);
  return { ok: true, value: true };
}

/**
 * Deletes the session and applies its behavior to every key it holds: `release` clears the
 * key's Session (value, flags and LockIndex stay), `delete` removes the key. Each key then
 * refuses acquires for min(LockDelay, 60 s) from `nowMs`. Returns whether the session existed.
 */
export function invalidateSession(state: StateStore, index: number, nowMs: number, id: string): boolean {
  const session = state.sessions.delete(index, id);
  if (!session) return false;
  // A query bound to the session goes with it (Consul's deleteSessionTxn).
  for (const q of state.preparedQueries.bySession(session.ID)) state.preparedQueries.delete(index, q.ID);
  const delayMs = Math.min(session.LockDelay / 1e6, MAX_LOCK_DELAY_MS);
  const held = [...state.kv.entries()].filter((e) => e.Session === session.ID);
  for (const entry of held) {
    if (delayMs > 0) state.sessions.setLockDelay(entry.Key, nowMs + delayMs, nowMs);
    if (session.Behavior === "delete") state.kv.delete(index, entry.Key);
    else state.kv.put(index, { ...entry, Session: "", ModifyIndex: index });
  }
  return true;
}

/**
 * The catalog hook: after any change on `nodeName`, invalidates its sessions whose node is
 * gone or whose bound checks are missing or critical (warning does not count). Idempotent,
 * so catalog apply calls it after every register/deregister without tracking what changed.
 */
export function invalidateSessionsOnNode(state: StateStore, index: number, nowMs: number, nodeName: string): string[] {
  const sessions = state.sessions.listByNode(nodeName);
  if (sessions.length === 0) return [];
  const nodeGone = !state.catalog.getNode(nodeName);
  const doomed = sessions.filter(
    (s) =>
      nodeGone ||
      boundCheckIds(s).some((checkId) => {
        const check = state.catalog.getCheck(s.Node, checkId);
        return !check || check.Status === "critical";
      }),
  );
  for (const s of doomed) invalidateSession(state, index, nowMs, s.ID);
  return doomed.map((s) => s.ID);
}
