import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import type { KVEntry } from "../model/kv.ts";
import type { Session } from "../model/session.ts";
import { sameRow } from "../state/rows-equal.ts";
import type { StateStore } from "../state/store.ts";
import type { CheckFields, NodeFields, ServiceFields } from "./command.ts";
import { MAX_LOCK_DELAY_MS } from "./session.ts";

// A transaction's private view of the state: reads fall through to the store unless an
// earlier operation of the same transaction changed the row; writes land in an overlay and
// an ordered effect list. The store is touched only when `commit` replays the effects, so a
// rolled-back transaction leaves no trace at all (no row, no index, no wake-up).

export type TxnEffect =
  | { kind: "kv-put"; entry: KVEntry }
  | { kind: "kv-delete"; key: string }
  | { kind: "lock-delay"; key: string; untilMs: number }
  | { kind: "node-put"; node: NodeFields }
  | { kind: "node-delete"; name: string }
  | { kind: "service-put"; node: string; service: ServiceFields }
  | { kind: "service-delete"; node: string; id: string }
  | { kind: "check-put"; check: CheckFields }
  | { kind: "check-delete"; node: string; id: string }
  | { kind: "session-delete"; id: string };

const rowKey = (node: string, id: string): string => `${node.toLowerCase()}\0${id}`;

/** The row as stored at `index`: a new row is created here, a changed one keeps CreateIndex. */
function stamped<T extends object>(fields: T, prev: { CreateIndex: number } | undefined, index: number): T & { CreateIndex: number; ModifyIndex: number } {
  return { ...fields, CreateIndex: prev?.CreateIndex ?? index, ModifyIndex: index };
}

export class TxnView {
  readonly state: StateStore;
  readonly index: number;
  readonly nowMs: number;
  readonly effects: TxnEffect[] = [];
  readonly #kv = new Map<string, KVEntry | null>();
  readonly #lockDelays = new Map<string, number>();
  readonly #sessions = new Map<string, null>();
  readonly #nodes = new Map<string, Node | null>();
  readonly #services = new Map<string, NodeService | null>();
  readonly #checks = new Map<string, HealthCheck | null>();

  constructor(state: StateStore, index: number, nowMs: number) {
    this.state = state;
    this.index = index;
    this.nowMs = nowMs;
  }

  // ---- KV ----

  getKv(key: string): KVEntry | undefined {
    const own = this.#kv.get(key);
    if (own !== undefined) return own ?? undefined;
    return this.state.kv.get(key);
  }

  /** Keys under `prefix` in key order, as this transaction sees them. */
  listKv(prefix: string): KVEntry[] {
    const merged = new Map<string, KVEntry>();
    for (const e of this.state.kv.list(prefix)) merged.set(e.Key, e);
    for (const [k, e] of this.#kv) {
      if (!k.startsWith(prefix)) continue;
      if (e) merged.set(k, e);
      else merged.delete(k);
    }
    return [...merged.values()].sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  }

  /** Writes `fields` at this index; an identical row keeps its indexes and records nothing. */
  putKv(fields: Omit<KVEntry, "CreateIndex" | "ModifyIndex">): KVEntry {
    const prev = this.getKv(fields.Key);
    // An identical row keeps its indexes and records nothing (http-core.md §8).
    if (prev && sameRow(prev, fields)) return prev;
    const entry = stamped(fields, prev, this.index);
    this.#kv.set(entry.Key, entry);
    this.effects.push({ kind: "kv-put", entry });
    return entry;
  }

  deleteKv(key: string): void {
    if (!this.getKv(key)) return;
    this.#kv.set(key, null);
    this.effects.push({ kind: "kv-delete", key });
  }

  lockDelayUntil(key: string): number {
    return Math.max(this.#lockDelays.get(key) ?? 0, this.state.sessions.lockDelayUntil(key));
  }

  // ---- sessions ----

  getSession(id: string): Session | undefined {
    if (this.#sessions.has(id)) return undefined;
    return this.state.sessions.get(id);
  }

  /** Invalidation as in fsm/session.ts, expressed as effects on this view. */
  invalidateSession(id: string): boolean {
    const session = this.getSession(id);
    if (!session) return false;
    this.#sessions.set(id, null);
    this.effects.push({ kind: "session-delete", id });
    const delayMs = Math.min(session.LockDelay / 1e6, MAX_LOCK_DELAY_MS);
    for (const entry of this.listKv("")) {
      if (entry.Session !== id) continue;
      if (delayMs > 0) {
        this.#lockDelays.set(entry.Key, this.nowMs + delayMs);
        this.effects.push({ kind: "lock-delay", key: entry.Key, untilMs: this.nowMs + delayMs });
      }
      if (session.Behavior === "delete") this.deleteKv(entry.Key);
      else this.putKv({ ...entry, Session: "" });
    }
    return true;
  }

  // ---- catalog ----

  getNode(name: string): Node | undefined {
    const own = this.#nodes.get(name.toLowerCase());
    if (own !== undefined) return own ?? undefined;
    return this.state.catalog.getNode(name);
  }

  findNodeById(id: string): Node | undefined {
    const lower = id.toLowerCase();
    for (const n of this.#nodes.values()) if (n && n.ID.toLowerCase() === lower) return n;
    return this.state.catalog.listNodes().find((n) => n.ID.toLowerCase() === lower && this.getNode(n.Node) === n);
  }

  putNode(fields: NodeFields): Node {
    const prev = this.getNode(fields.Node);
    const named = { ...fields, Node: prev?.Node ?? fields.Node };
    // An identical row keeps its indexes and records nothing (http-core.md §8).
    if (prev && sameRow(prev, named)) return prev;
    const node = stamped(named, prev, this.index);
    this.#nodes.set(node.Node.toLowerCase(), node);
    this.effects.push({ kind: "node-put", node: fields });
    return node;
  }

  deleteNode(name: string): void {
    const node = this.getNode(name);
    if (!node) return;
    for (const s of this.nodeServices(node.Node)) this.#services.set(rowKey(node.Node, s.ID), null);
    for (const c of this.nodeChecks(node.Node)) this.#checks.set(rowKey(node.Node, c.CheckID), null);
    this.#nodes.set(node.Node.toLowerCase(), null);
    this.effects.push({ kind: "node-delete", name: node.Node });
  }

  getService(node: string, id: string): NodeService | undefined {
    const own = this.#services.get(rowKey(node, id));
    if (own !== undefined) return own ?? undefined;
    return this.state.catalog.getService(node, id);
  }

  nodeServices(node: string): NodeService[] {
    const ids = new Set(this.state.catalog.nodeServices(node).map((s) => s.ID));
    const prefix = `${node.toLowerCase()}\0`;
    for (const k of this.#services.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length));
    return [...ids].map((id) => this.getService(node, id)).filter((s): s is NodeService => s !== undefined);
  }

  putService(node: string, fields: ServiceFields): NodeService {
    const prev = this.getService(node, fields.ID);
    // An identical row keeps its indexes and records nothing (http-core.md §8).
    if (prev && sameRow(prev, fields)) return prev;
    const service = stamped(fields, prev, this.index);
    this.#services.set(rowKey(node, fields.ID), service);
    this.effects.push({ kind: "service-put", node, service: fields });
    return service;
  }

  deleteService(node: string, id: string): void {
    if (!this.getService(node, id)) return;
    for (const c of this.nodeChecks(node)) if (c.ServiceID === id) this.#checks.set(rowKey(node, c.CheckID), null);
    this.#services.set(rowKey(node, id), null);
    this.effects.push({ kind: "service-delete", node, id });
  }

  getCheck(node: string, id: string): HealthCheck | undefined {
    const own = this.#checks.get(rowKey(node, id));
    if (own !== undefined) return own ?? undefined;
    return this.state.catalog.getCheck(node, id);
  }

  nodeChecks(node: string): HealthCheck[] {
    const ids = new Set(this.state.catalog.nodeChecks(node).map((c) => c.CheckID));
    const prefix = `${node.toLowerCase()}\0`;
    for (const k of this.#checks.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length));
    return [...ids].map((id) => this.getCheck(node, id)).filter((c): c is HealthCheck => c !== undefined);
  }

  putCheck(fields: CheckFields): HealthCheck {
    const prev = this.getCheck(fields.Node, fields.CheckID);
    // An identical row keeps its indexes and records nothing (http-core.md §8).
    if (prev && sameRow(prev, fields)) return prev;
    const check = stamped(fields, prev, this.index);
    this.#checks.set(rowKey(fields.Node, fields.CheckID), check);
    this.effects.push({ kind: "check-put", check: fields });
    return check;
  }

  deleteCheck(node: string, id: string): void {
    if (!this.getCheck(node, id)) return;
    this.#checks.set(rowKey(node, id), null);
    this.effects.push({ kind: "check-delete", node, id });
  }

  // ---- commit ----

  /** Replays the effects on the store, in order; returns the nodes whose catalog rows changed. */
  commit(): Set<string> {
    const { state, index } = this;
    const touchedNodes = new Set<string>();
    for (const e of this.effects) {
      switch (e.kind) {
        case "kv-put":
          state.kv.put(index, e.entry);
          break;
        case "kv-delete":
          state.kv.delete(index, e.key);
          break;
        case "lock-delay":
          state.sessions.setLockDelay(e.key, e.untilMs, this.nowMs);
          break;
        case "session-delete":
          state.sessions.delete(index, e.id);
          for (const q of state.preparedQueries.bySession(e.id)) state.preparedQueries.delete(index, q.ID);
          break;
        case "node-put":
          state.catalog.upsertNode(index, { ...e.node, Node: state.catalog.getNode(e.node.Node)?.Node ?? e.node.Node });
          touchedNodes.add(e.node.Node);
          break;
        case "node-delete":
          state.catalog.deleteNode(index, e.name);
          state.coordinates.deleteNode(index, e.name);
          touchedNodes.add(e.name);
          break;
        case "service-put":
          state.catalog.upsertService(index, e.node, e.service);
          touchedNodes.add(e.node);
          break;
        case "service-delete":
          state.catalog.deleteService(index, e.node, e.id);
          touchedNodes.add(e.node);
          break;
        case "check-put":
          state.catalog.upsertCheck(index, e.check);
          touchedNodes.add(e.check.Node);
          break;
        case "check-delete":
          state.catalog.deleteCheck(index, e.node, e.id);
          touchedNodes.add(e.node);
          break;
      }
    }
    return touchedNodes;
  }
}
