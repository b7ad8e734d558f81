import type { NodeCoordinate } from "../model/catalog.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

export class CoordinateTable {
  readonly #hub: WatchHub;
  #rows = new Map<string, NodeCoordinate>();
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get(node: string, ws?: WatchSet): NodeCoordinate | undefined {
    ws?.add(Topics.coordinates);
    return this.#rows.get(node.toLowerCase());
  }

  list(ws?: WatchSet): NodeCoordinate[] {
    ws?.add(Topics.coordinates);
    return [...this.#rows.values()].sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
  }

  put(index: number, coord: NodeCoordinate): void {
    this.#rows.set(coord.Node.toLowerCase(), coord);
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.coordinates);
  }

  deleteNode(index: number, node: string): void {
    if (this.#rows.delete(node.toLowerCase())) {
      this.tableIndex = Math.max(this.tableIndex, index);
      this.#hub.notify(Topics.coordinates);
    }
  }

  dump(): { rows: NodeCoordinate[]; tableIndex: number } {
    return { rows: [...this.#rows.values()], tableIndex: this.tableIndex };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers). */
  load(dump: { rows: NodeCoordinate[]; tableIndex: number }): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE rows, for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(dump: { rows: NodeCoordinate[]; tableIndex: number }): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const c of dump.rows) {
      this.#rows.set(c.Node.toLowerCase(), c);
      if (++n % ROWS_PER_PAUSE === 0) yield;
    }
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: CoordinateTable): void {
    this.#rows = staged.#rows;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.tableIndex = 0;
  }
}
