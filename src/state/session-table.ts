import type { Session } from "../model/session.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";

/** Sessions and KV lock-delays (key → unix ms until which `acquire` is refused). */
export class SessionTable {
  readonly #hub: WatchHub;
  readonly #rows = new Map<string, Session>();
  readonly #lockDelays = new Map<string, number>();
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get(id: string, ws?: WatchSet): Session | undefined {
    ws?.add(Topics.sessions);
    return this.#rows.get(id);
  }

  list(ws?: WatchSet): Session[] {
    ws?.add(Topics.sessions);
    return [...this.#rows.values()].sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  lockDelayUntil(key: string): number {
    return this.#lockDelays.get(key) ?? 0;
  }

  put(index: number, session: Session): void {
    this.#rows.set(session.ID, session);
    this.#bump(index);
  }

  delete(index: number, id: string): Session | undefined {
    const prev = this.#rows.get(id);
    if (!prev) return undefined;
    this.#rows.delete(id);
    this.#bump(index);
    return prev;
  }

  setLockDelay(key: string, untilMs: number): void {
    this.#lockDelays.set(key, untilMs);
  }

  clear(): void {
    this.#rows.clear();
    this.#lockDelays.clear();
    this.tableIndex = 0;
  }

  #bump(index: number): void {
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.sessions);
  }
}
