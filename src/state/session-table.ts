import type { Session } from "../model/session.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

const byId = (a: Session, b: Session): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

/**
 * Sessions and KV lock-delays (key → unix ms until which `acquire` is refused). Lists come
 * back ordered by ID, as Consul's id index returns them. Lock-delays are not replicated
 * state upstream either; they are set by apply so every server refuses the same acquires.
 */
export class SessionTable {
  readonly #hub: WatchHub;
  #rows = new Map<string, Session>();
  /** lower(node name) → session IDs, so catalog changes find a node's sessions at once. */
  #byNode = new Map<string, Set<string>>();
  #lockDelays = new Map<string, number>();
  #sweepLockDelaysAt = 64;
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get size(): number {
    return this.#rows.size;
  }

  get(id: string, ws?: WatchSet): Session | undefined {
    ws?.add(Topics.sessions);
    return this.#rows.get(id);
  }

  list(ws?: WatchSet): Session[] {
    ws?.add(Topics.sessions);
    return [...this.#rows.values()].sort(byId);
  }

  listByNode(node: string, ws?: WatchSet): Session[] {
    ws?.add(Topics.sessions);
    const ids = this.#byNode.get(node.toLowerCase());
    if (!ids) return [];
    const out: Session[] = [];
    for (const id of ids) {
      const s = this.#rows.get(id);
      if (s) out.push(s);
    }
    return out.sort(byId);
  }

  lockDelayUntil(key: string): number {
    return this.#lockDelays.get(key) ?? 0;
  }

  put(index: number, session: Session): void {
    const prev = this.#rows.get(session.ID);
    if (prev) this.#unindexNode(prev);
    this.#rows.set(session.ID, session);
    const nodeKey = session.Node.toLowerCase();
    let ids = this.#byNode.get(nodeKey);
    if (!ids) {
      ids = new Set();
      this.#byNode.set(nodeKey, ids);
    }
    ids.add(session.ID);
    this.#bump(index);
  }

  delete(index: number, id: string): Session | undefined {
    const prev = this.#rows.get(id);
    if (!prev) return undefined;
    this.#rows.delete(id);
    this.#unindexNode(prev);
    this.#bump(index);
    return prev;
  }

  /**
   * Starts a lock-delay. Expired delays are swept whenever the map doubles, so it stays
   * bounded by the delays still running at amortized O(1) per call.
   */
  setLockDelay(key: string, untilMs: number, nowMs: number): void {
    if (untilMs > nowMs) this.#lockDelays.set(key, Math.max(untilMs, this.lockDelayUntil(key)));
    if (this.#lockDelays.size < this.#sweepLockDelaysAt) return;
    for (const [k, until] of this.#lockDelays) if (until <= nowMs) this.#lockDelays.delete(k);
    this.#sweepLockDelaysAt = Math.max(64, this.#lockDelays.size * 2);
  }

  get lockDelayCount(): number {
    return this.#lockDelays.size;
  }

  /** Sessions and running lock-delays, for a snapshot. */
  dump(): { rows: Session[]; lockDelays: [string, number][]; tableIndex: number } {
    return { rows: [...this.#rows.values()], lockDelays: [...this.#lockDelays], tableIndex: this.tableIndex };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers). */
  load(dump: { rows: Session[]; lockDelays: [string, number][]; tableIndex: number }): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE rows, for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(dump: { rows: Session[]; lockDelays: [string, number][]; tableIndex: number }): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const s of dump.rows) {
      if (++n % ROWS_PER_PAUSE === 0) yield;
      this.#rows.set(s.ID, s);
      const nodeKey = s.Node.toLowerCase();
      let ids = this.#byNode.get(nodeKey);
      if (!ids) {
        ids = new Set();
        this.#byNode.set(nodeKey, ids);
      }
      ids.add(s.ID);
    }
    for (const [k, until] of dump.lockDelays) this.#lockDelays.set(k, until);
    this.#sweepLockDelaysAt = Math.max(64, this.#lockDelays.size * 2);
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: SessionTable): void {
    this.#rows = staged.#rows;
    this.#byNode = staged.#byNode;
    this.#lockDelays = staged.#lockDelays;
    this.#sweepLockDelaysAt = staged.#sweepLockDelaysAt;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.#byNode.clear();
    this.#lockDelays.clear();
    this.tableIndex = 0;
  }

  #unindexNode(session: Session): void {
    const nodeKey = session.Node.toLowerCase();
    const ids = this.#byNode.get(nodeKey);
    ids?.delete(session.ID);
    if (ids && ids.size === 0) this.#byNode.delete(nodeKey);
  }

  #bump(index: number): void {
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.sessions);
  }
}
