import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import type { KVEntry } from "../model/kv.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, TxnCheckOp, TxnCommand, TxnKvOp, TxnNodeOp, TxnOp, TxnServiceOp, TxnSessionOp } from "./command.ts";
import { invalidateSessionsOnNode } from "./session.ts";
import { TxnView } from "./txn-view.ts";

// Transactions (spec/txn.md): operations run in order against a private view, each seeing
// the earlier ones; every failing operation is reported with its position; only when none
// failed are the effects committed, all at the command's index.

export type TxnResult = { KV: KVEntry } | { Node: Node } | { Service: NodeService } | { Check: HealthCheck };

export interface TxnError {
  OpIndex: number;
  What: string;
}

/** Exactly one of the two is non-null: 200 with Results, or 409 with Errors. */
export interface TxnOutcome {
  Results: TxnResult[] | null;
  Errors: TxnError[] | null;
}

const KV_READ_VERBS = new Set(["get", "get-or-empty", "get-tree", "check-index", "check-session", "check-not-exists"]);

/** A transaction without writes is served like a read (no Raft, consistency flags apply). */
export function isReadOnlyTxn(ops: readonly TxnOp[]): boolean {
  return ops.every((op) => (op.Kind === "kv" ? KV_READ_VERBS.has(op.Verb) : op.Kind !== "session" && op.Verb === "get"));
}

class OpFailed extends Error {}
function fail(what: string): never {
  throw new OpFailed(what);
}

/** A result row with the value dropped: only reads return values. */
const withoutValue = (e: KVEntry): KVEntry => ({ ...e, Value: Buffer.alloc(0) });

function runKv(view: TxnView, op: TxnKvOp): TxnResult[] {
  const key = op.Key;
  if (key === "" && op.Verb !== "delete-tree") fail("Must provide key");
  const current = view.getKv(key);
  const fields = {
    Key: key,
    Value: op.Value,
    Flags: op.Flags,
    LockIndex: current?.LockIndex ?? 0,
    Session: current?.Session ?? "",
  };
  switch (op.Verb) {
    case "set":
      return [{ KV: withoutValue(view.putKv(fields)) }];
    case "cas": {
      const ok = op.Index === 0 ? current === undefined : current !== undefined && current.ModifyIndex === op.Index;
      if (!ok) fail(`failed to set key "${key}", index is stale`);
      return [{ KV: withoutValue(view.putKv(fields)) }];
    }
    case "lock": {
      if (op.Session === "") fail("missing session");
      if (!view.getSession(op.Session)) fail(`invalid session "${op.Session}"`);
      if (view.lockDelayUntil(key) > view.nowMs) fail(`failed to lock key "${key}" due to lock delay`);
      if (current?.Session && current.Session !== op.Session) fail(`failed to lock key "${key}", lock is already held`);
      const acquiring = current?.Session !== op.Session;
      const entry = view.putKv({ ...fields, Session: op.Session, LockIndex: fields.LockIndex + (acquiring ? 1 : 0) });
      return [{ KV: withoutValue(entry) }];
    }
    case "unlock": {
      if (op.Session === "") fail("missing session");
      if (!current || current.Session !== op.Session) fail(`failed to unlock key "${key}", lock isn't held, or is held by another session`);
      return [{ KV: withoutValue(view.putKv({ ...fields, Session: "" })) }];
    }
    case "get":
      if (!current) fail(`key "${key}" doesn't exist`);
      return [{ KV: current }];
    case "get-or-empty":
      return [{ KV: current ?? { Key: key, Value: Buffer.alloc(0), Flags: 0n, LockIndex: 0, Session: "", CreateIndex: 0, ModifyIndex: 0 } }];
    case "get-tree":
      return view.listKv(key).map((e) => ({ KV: e }));
    case "check-index":
      if (!current) fail(`failed to check index, key "${key}" doesn't exist`);
      if (current.ModifyIndex !== op.Index) fail(`failed index check for key "${key}", current modify index ${current.ModifyIndex} != ${op.Index}`);
      return [{ KV: withoutValue(current) }];
    case "check-session":
      if (!current) fail(`failed to check session, key "${key}" doesn't exist`);
      if (current.Session !== op.Session) fail(`failed session check for key "${key}", current session "${current.Session}" != "${op.Session}"`);
      return [{ KV: withoutValue(current) }];
    case "check-not-exists":
      if (current) fail(`key "${key}" exists`);
      return [];
    case "delete":
      view.deleteKv(key);
      return [];
    case "delete-tree":
      for (const e of view.listKv(key)) view.deleteKv(e.Key);
      return [];
    case "delete-cas":
      if (current && current.ModifyIndex !== op.Index) fail(`failed to delete key "${key}", index is stale`);
      view.deleteKv(key);
      return [];
    default:
      return fail(`unknown KV verb "${op.Verb}"`);
  }
}

/** CAS rule shared by every catalog object: 0 = create only, N = must match ModifyIndex N. */
function casMatches(current: { ModifyIndex: number } | undefined, modifyIndex: number): boolean {
  if (modifyIndex === 0) return current === undefined;
  return current !== undefined && current.ModifyIndex === modifyIndex;
}

function runNode(view: TxnView, op: TxnNodeOp): TxnResult[] {
  const name = op.Node.Node;
  const current = op.Node.ID ? view.findNodeById(op.Node.ID) : view.getNode(name);
  switch (op.Verb) {
    case "get":
      if (!current) fail(`node "${op.Node.ID || name}" doesn't exist`);
      return [{ Node: current }];
    case "set":
    case "cas": {
      if (op.Verb === "cas" && !casMatches(current, op.ModifyIndex)) fail(`failed to set node "${name}", index is stale`);
      if (name === "") fail("Must provide node");
      const byName = view.getNode(name);
      if (byName && byName.ID && op.Node.ID && byName.ID.toLowerCase() !== op.Node.ID.toLowerCase()) {
        fail(`Failed to set node ${name}: node ID ${op.Node.ID} conflicts with existing node ID ${byName.ID}`);
      }
      if (current && current.Node.toLowerCase() !== name.toLowerCase()) view.deleteNode(current.Node);
      return [{ Node: view.putNode(op.Node) }];
    }
    case "delete":
      if (current) view.deleteNode(current.Node);
      return [];
    case "delete-cas":
      if (!current || current.ModifyIndex !== op.ModifyIndex) fail(`failed to delete node "${op.Node.ID || name}", index is stale`);
      view.deleteNode(current.Node);
      return [];
    default:
      return fail(`unknown node verb "${op.Verb}"`);
  }
}

function runService(view: TxnView, op: TxnServiceOp): TxnResult[] {
  const id = op.Service.ID;
  const current = view.getService(op.Node, id);
  switch (op.Verb) {
    case "get":
      if (!current) fail(`service "${id}" on node "${op.Node}" doesn't exist`);
      return [{ Service: current }];
    case "set":
    case "cas": {
      if (op.Verb === "cas" && !casMatches(current, op.ModifyIndex)) fail(`failed to set service "${id}" on node "${op.Node}", index is stale`);
      const owner = view.getNode(op.Node);
      if (!owner) fail("Missing node registration");
      return [{ Service: view.putService(owner.Node, op.Service) }];
    }
    case "delete":
      view.deleteService(op.Node, id);
      return [];
    case "delete-cas":
      if (!current || current.ModifyIndex !== op.ModifyIndex) fail(`failed to delete service "${id}" on node "${op.Node}", index is stale`);
      view.deleteService(op.Node, id);
      return [];
    default:
      return fail(`unknown service verb "${op.Verb}"`);
  }
}

function runCheck(view: TxnView, op: TxnCheckOp): TxnResult[] {
  const { Node: node, CheckID: id } = op.Check;
  const current = view.getCheck(node, id);
  switch (op.Verb) {
    case "get":
      if (!current) fail(`check "${id}" on node "${node}" doesn't exist`);
      return [{ Check: current }];
    case "set":
    case "cas": {
      if (op.Verb === "cas" && !casMatches(current, op.ModifyIndex)) fail(`failed to set check "${id}" on node "${node}", index is stale`);
      const owner = view.getNode(node);
      if (!owner) fail("Missing node registration");
      const service = op.Check.ServiceID ? view.getService(node, op.Check.ServiceID) : undefined;
      if (op.Check.ServiceID && !service) fail("Missing service registration");
      const check = { ...op.Check, Node: owner.Node, ServiceName: service?.Service ?? "", ServiceTags: service ? [...service.Tags] : [] };
      return [{ Check: view.putCheck(check) }];
    }
    case "delete":
      view.deleteCheck(node, id);
      return [];
    case "delete-cas":
      if (!current || current.ModifyIndex !== op.ModifyIndex) fail(`failed to delete check "${id}" on node "${node}", index is stale`);
      view.deleteCheck(node, id);
      return [];
    default:
      return fail(`unknown check verb "${op.Verb}"`);
  }
}

function runSession(view: TxnView, op: TxnSessionOp): TxnResult[] {
  if (op.Verb !== "delete") fail(`unknown session verb "${op.Verb}"`);
  view.invalidateSession(op.ID);
  return [];
}

function runOp(view: TxnView, op: TxnOp): TxnResult[] {
  switch (op.Kind) {
    case "kv":
      return runKv(view, op);
    case "node":
      return runNode(view, op);
    case "service":
      return runService(view, op);
    case "check":
      return runCheck(view, op);
    case "session":
      return runSession(view, op);
  }
}

function evaluate(view: TxnView, ops: readonly TxnOp[]): TxnOutcome {
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  ops.forEach((op, i) => {
    try {
      results.push(...runOp(view, op));
    } catch (e) {
      if (!(e instanceof OpFailed)) throw e;
      errors.push({ OpIndex: i, What: e.message });
    }
  });
  if (errors.length > 0) return { Results: null, Errors: errors };
  return { Results: results.length > 0 ? results : null, Errors: null };
}

/**
 * Applies a transaction as one command. A rolled-back transaction is still a successful
 * apply (the entry is committed, it just changes nothing); its outcome carries the Errors.
 */
export function applyTxn(state: StateStore, index: number, cmd: TxnCommand): ApplyResult {
  const view = new TxnView(state, index, cmd.NowMs);
  const outcome = evaluate(view, cmd.Ops);
  if (outcome.Errors) return { ok: true, value: outcome };
  const touchedNodes = view.commit();
  for (const node of touchedNodes) invalidateSessionsOnNode(state, index, cmd.NowMs, node);
  return { ok: true, value: outcome };
}

/** Evaluates a read-only transaction against the current state without changing it. */
export function readTxn(state: StateStore, ops: readonly TxnOp[], nowMs: number): TxnOutcome {
  return evaluate(new TxnView(state, state.lastIndex, nowMs), ops);
}
