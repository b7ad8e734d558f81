import type { KVEntry } from "../model/kv.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, KvDeleteCommand, KvSetCommand } from "./command.ts";

const ok = (value: boolean): ApplyResult => ({ ok: true, value });

export function applyKvSet(state: StateStore, index: number, cmd: KvSetCommand): ApplyResult {
  const prev = state.kv.get(cmd.Key);
  const next: KVEntry = {
    Key: cmd.Key,
    Value: cmd.Value,
    Flags: cmd.Flags,
    LockIndex: prev?.LockIndex ?? 0,
    Session: prev?.Session ?? "",
    CreateIndex: prev?.CreateIndex ?? index,
    ModifyIndex: index,
  };
  switch (cmd.Op) {
    case "set":
      break;
    case "cas":
      if (cmd.CasIndex === 0 ? prev !== undefined : prev?.ModifyIndex !== cmd.CasIndex) return ok(false);
      break;
    case "lock": {
      const session = cmd.Session ?? "";
      if (!session) return { ok: false, error: "missing session" };
      if (!state.sessions.get(session)) return { ok: false, error: `invalid session "${session}"` };
      if (state.sessions.lockDelayUntil(cmd.Key) > cmd.NowMs) return ok(false);
      if (prev?.Session && prev.Session !== session) return ok(false);
      if (prev?.Session !== session) {
        next.LockIndex = (prev?.LockIndex ?? 0) + 1;
        next.Session = session;
      }
      break;
    }
    case "unlock": {
      const session = cmd.Session ?? "";
      if (!session) return { ok: false, error: "missing session" };
      if (!prev || prev.Session !== session) return ok(false);
      next.Session = "";
      break;
    }
  }
  // An identical write changes nothing, so the index does not move (see http-core.md §8).
  if (prev && sameKvRow(prev, next)) return ok(true);
  state.kv.put(index, next);
  return ok(true);
}

/** Every field but the indexes: what makes a KV write observable. Typed, so no generic walk. */
function sameKvRow(a: KVEntry, b: KVEntry): boolean {
  return (
    a.Key === b.Key &&
    // A snapshot or an older log may carry Flags as a plain number.
    (a.Flags === b.Flags || String(a.Flags) === String(b.Flags)) &&
    a.LockIndex === b.LockIndex &&
    a.Session === b.Session &&
    a.Value.length === b.Value.length &&
    Buffer.compare(a.Value, b.Value) === 0
  );
}

export function applyKvDelete(state: StateStore, index: number, cmd: KvDeleteCommand): ApplyResult {
  switch (cmd.Op) {
    case "delete":
      state.kv.delete(index, cmd.Key);
      return ok(true);
    case "delete-tree":
      state.kv.deleteTree(index, cmd.Key);
      return ok(true);
    case "delete-cas": {
      const prev = state.kv.get(cmd.Key);
      if (!prev) return ok(true);
      if (prev.ModifyIndex !== cmd.CasIndex) return ok(false);
      state.kv.delete(index, cmd.Key);
      return ok(true);
    }
  }
}
