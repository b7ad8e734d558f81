import type { WatchHub, WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// ACL policies and roles: rows with a unique ID and a unique, case-insensitive Name (Consul's
// memdb name index lower-cases). Lists come back ordered by ID, as Consul's id index does.

interface NamedRow {
  ID: string;
  Name: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const byId = (a: NamedRow, b: NamedRow): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

export interface NamedTableDump<T> {
  rows: T[];
  tableIndex: number;
}

export class AclNamedTable<T extends NamedRow> {
  readonly #hub: WatchHub;
  readonly #topic: string;
  #rows = new Map<string, T>();
  #byName = new Map<string, string>();
  tableIndex = 0;

  constructor(hub: WatchHub, topic: string) {
    this.#hub = hub;
    this.#topic = topic;
  }

  get size(): number {
    return this.#rows.size;
  }

  get(id: string, ws?: WatchSet): T | undefined {
    ws?.add(this.#topic);
    return this.#rows.get(id);
  }

  getByName(name: string, ws?: WatchSet): T | undefined {
    ws?.add(this.#topic);
    const id = this.#byName.get(name.toLowerCase());
    return id === undefined ? undefined : this.#rows.get(id);
  }

  list(ws?: WatchSet): T[] {
    ws?.add(this.#topic);
    return [...this.#rows.values()].sort(byId);
  }

  /** Inserts or replaces by ID (keeping CreateIndex). The caller checked name uniqueness. */
  put(index: number, fields: Omit<T, "CreateIndex" | "ModifyIndex">): T {
    const prev = this.#rows.get(fields.ID);
    if (prev) this.#byName.delete(prev.Name.toLowerCase());
    const row = { ...fields, CreateIndex: prev?.CreateIndex ?? index, ModifyIndex: index } as T;
    this.#rows.set(row.ID, row);
    this.#byName.set(row.Name.toLowerCase(), row.ID);
    this.#bump(index);
    return row;
  }

  delete(index: number, id: string): T | undefined {
    const prev = this.#rows.get(id);
    if (!prev) return undefined;
    this.#rows.delete(id);
    this.#byName.delete(prev.Name.toLowerCase());
    this.#bump(index);
    return prev;
  }

  dump(): NamedTableDump<T> {
    return { rows: [...this.#rows.values()], tableIndex: this.tableIndex };
  }

  load(dump: NamedTableDump<T>): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE rows, for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(dump: NamedTableDump<T>): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const row of dump.rows) {
      this.#rows.set(row.ID, row);
      this.#byName.set(row.Name.toLowerCase(), row.ID);
      if (++n % ROWS_PER_PAUSE === 0) yield;
    }
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: AclNamedTable<T>): void {
    this.#rows = staged.#rows;
    this.#byName = staged.#byName;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.#byName.clear();
    this.tableIndex = 0;
  }

  #bump(index: number): void {
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(this.#topic);
  }
}
