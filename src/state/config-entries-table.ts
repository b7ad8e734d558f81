import type { ConfigEntry, ConfigEntryFields } from "../model/config-entry.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// Config entries (service-intentions, service-defaults, proxy-defaults, …), one row per
// (kind, name). Watches are per kind: intentions readers wake on intention changes only.

export interface ConfigEntriesDump {
  rows: ConfigEntry[];
  tableIndex: number;
  kindIndexes: [string, number][];
}

function keyOf(kind: string, name: string): string {
  return `${kind}\u0000${name}`;
}

export class ConfigEntriesTable {
  readonly #hub: WatchHub;
  #rows = new Map<string, ConfigEntry>();
  #kindIndex = new Map<string, number>();
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get(kind: string, name: string, ws?: WatchSet): ConfigEntry | undefined {
    ws?.add(Topics.configEntryKind(kind));
    return this.#rows.get(keyOf(kind, name));
  }

  /** Entries of one kind, sorted by name. */
  list(kind: string, ws?: WatchSet): ConfigEntry[] {
    ws?.add(Topics.configEntryKind(kind));
    const out: ConfigEntry[] = [];
    for (const row of this.#rows.values()) if (row.Kind === kind) out.push(row);
    return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  }

  /** The index of the last change to entries of `kind` (what a blocking read of the kind reports). */
  kindIndex(kind: string): number {
    return this.#kindIndex.get(kind) ?? 0;
  }

  put(index: number, entry: ConfigEntryFields): void {
    const key = keyOf(entry.Kind, entry.Name);
    const before = this.#rows.get(key);
    this.#rows.set(key, { ...entry, CreateIndex: before?.CreateIndex ?? index, ModifyIndex: index });
    this.#touch(index, entry.Kind);
  }

  delete(index: number, kind: string, name: string): boolean {
    const gone = this.#rows.delete(keyOf(kind, name));
    // Deleting what is not there still moves the index (as Consul's table index does), so a blocking reader sees progress.
    this.#touch(index, kind);
    return gone;
  }

  #touch(index: number, kind: string): void {
    this.#kindIndex.set(kind, index);
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.configEntryKind(kind));
  }

  dump(): ConfigEntriesDump {
    return { rows: [...this.#rows.values()].map((r) => structuredClone(r)), tableIndex: this.tableIndex, kindIndexes: [...this.#kindIndex] };
  }

  load(d: ConfigEntriesDump): void {
    runWhole(this.loadSlices(d));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE / 8 rows (each is cloned), for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(d: ConfigEntriesDump): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const r of d.rows) {
      this.#rows.set(keyOf(r.Kind, r.Name), structuredClone(r));
      if (++n % (ROWS_PER_PAUSE / 8) === 0) yield;
    }
    for (const [k, v] of d.kindIndexes) this.#kindIndex.set(k, v);
    this.tableIndex = d.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: ConfigEntriesTable): void {
    this.#rows = staged.#rows;
    this.#kindIndex = staged.#kindIndex;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.#kindIndex.clear();
    this.tableIndex = 0;
  }
}
