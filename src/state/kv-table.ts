import type { KVEntry } from "../model/kv.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { SortedKeys } from "./sorted-keys.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";

export interface KvDump {
  rows: KVEntry[];
  tombstones: [string, number][];
  tableIndex: number;
}

/**
 * The KV table. Deletions leave tombstones (key → delete index) so a prefix listing's index
 * never goes backwards when its newest key is removed.
 */
export class KvTable {
  #rows = new Map<string, KVEntry>();
  #order = new SortedKeys();
  #tombstones = new Map<string, number>();
  readonly #hub: WatchHub;
  /** Highest index of any KV write, including deletions. */
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get size(): number {
    return this.#rows.size;
  }

  // ---- queries ----

  get(key: string, ws?: WatchSet): KVEntry | undefined {
    ws?.add(Topics.kvKey(key));
    return this.#rows.get(key);
  }

  list(prefix: string, ws?: WatchSet): KVEntry[] {
    ws?.add(Topics.kvTable);
    const out: KVEntry[] = [];
    for (const k of this.#order.withPrefix(prefix)) out.push(this.#rows.get(k)!);
    return out;
  }

  /** Key names under `prefix`, rolled up at the first `separator` after it (Consul's semantics). */
  keys(prefix: string, separator: string, ws?: WatchSet): string[] {
    ws?.add(Topics.kvTable);
    const out: string[] = [];
    let last = "";
    for (const k of this.#order.withPrefix(prefix)) {
      if (separator) {
        const at = k.indexOf(separator, prefix.length);
        if (at >= 0) {
          const rolled = k.slice(0, at + separator.length);
          if (rolled !== last) out.push(rolled);
          last = rolled;
          continue;
        }
      }
      out.push(k);
      last = k;
    }
    return out;
  }

  /** Max of ModifyIndex and tombstone indexes under `prefix`; whole-table index for "" or 0. */
  prefixIndex(prefix: string): number {
    if (prefix === "") return this.tableIndex;
    let max = 0;
    for (const k of this.#order.withPrefix(prefix)) max = Math.max(max, this.#rows.get(k)!.ModifyIndex);
    for (const [k, idx] of this.#tombstones) if (idx > max && k.startsWith(prefix)) max = idx;
    return max || this.tableIndex;
  }

  *entries(): Generator<KVEntry> {
    for (const k of this.#order.withPrefix("")) yield this.#rows.get(k)!;
  }

  // ---- mutations (called only from fsm apply) ----

  put(index: number, entry: KVEntry): void {
    if (!this.#rows.has(entry.Key)) this.#order.insert(entry.Key);
    this.#rows.set(entry.Key, entry);
    this.#tombstones.delete(entry.Key);
    this.#bump(index, entry.Key);
  }

  delete(index: number, key: string): boolean {
    if (!this.#rows.delete(key)) return false;
    this.#order.delete(key);
    this.#tombstones.set(key, index);
    this.#bump(index, key);
    return true;
  }

  deleteTree(index: number, prefix: string): number {
    const doomed = [...this.#order.withPrefix(prefix)];
    for (const k of doomed) this.delete(index, k);
    return doomed.length;
  }

  /** Every row and tombstone, for a snapshot (rows in key order). */
  dump(): KvDump {
    return { rows: [...this.entries()], tombstones: [...this.#tombstones], tableIndex: this.tableIndex };
  }

  /** Replaces the contents with a snapshot's (after clear(); the caller wakes watchers). */
  load(dump: KvDump): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every few hundred rows. Only for a table nobody reads yet (a
   * restore stages a fresh KvTable this way, then the live one adopts it at once).
   */
  *loadSlices(dump: KvDump): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const row of dump.rows) {
      this.#rows.set(row.Key, row);
      this.#order.insert(row.Key);
      if (++n % 512 === 0) yield;
    }
    for (const [k, idx] of dump.tombstones) {
      this.#tombstones.set(k, idx);
      if (++n % 512 === 0) yield;
    }
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: KvTable): void {
    this.#rows = staged.#rows;
    this.#order = staged.#order;
    this.#tombstones = staged.#tombstones;
    this.tableIndex = staged.tableIndex;
  }

  /** Empties the table at once, however large (fresh containers; iterations under way keep the old ones). */
  clear(): void {
    this.#rows = new Map();
    this.#order = new SortedKeys();
    this.#tombstones = new Map();
    this.tableIndex = 0;
  }

  #bump(index: number, key: string): void {
    if (index > this.tableIndex) this.tableIndex = index;
    this.#hub.notify(Topics.kvKey(key));
    this.#hub.notify(Topics.kvTable);
  }
}
