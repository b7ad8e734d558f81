import { isTemplate, looksLikeUuid, type PreparedQuery } from "../model/prepared-query.ts";
import { CompiledTemplate, type RenderSource } from "./prepared-query-template.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// Prepared queries (Consul's prepared-queries table): by ID, by lower-cased name (unique), by
// template prefix (longest prefix wins, "" the catch-all) and by session (a session's end
// deletes its queries). Templates keep their compiled form next to the row.

interface Row {
  query: PreparedQuery;
  template: CompiledTemplate | undefined;
}

const byId = (a: PreparedQuery, b: PreparedQuery): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

export class PreparedQueryTable {
  readonly #hub: WatchHub;
  #rows = new Map<string, Row>();
  #byName = new Map<string, string>();
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get(id: string, ws?: WatchSet): PreparedQuery | undefined {
    ws?.add(Topics.preparedQueries);
    return this.#rows.get(id.toLowerCase())?.query;
  }

  getByName(name: string): PreparedQuery | undefined {
    const id = this.#byName.get(name.toLowerCase());
    return id === undefined ? undefined : this.#rows.get(id)?.query;
  }

  /** The template with an empty name (the catch-all), if any. */
  catchAllTemplate(): PreparedQuery | undefined {
    for (const r of this.#rows.values()) if (r.template && r.query.Name === "") return r.query;
    return undefined;
  }

  list(ws?: WatchSet): PreparedQuery[] {
    ws?.add(Topics.preparedQueries);
    return [...this.#rows.values()].map((r) => r.query).sort(byId);
  }

  bySession(session: string): PreparedQuery[] {
    return [...this.#rows.values()].filter((r) => r.query.Session === session).map((r) => r.query);
  }

  /**
   * Consul's PreparedQueryResolve: an ID (templates only by name: throws), then an exact name,
   * then the template whose name is the longest prefix of it. Templates come back rendered.
   */
  resolve(idOrName: string, source: RenderSource, ws?: WatchSet): PreparedQuery | undefined {
    ws?.add(Topics.preparedQueries);
    if (looksLikeUuid(idOrName)) {
      const row = this.#rows.get(idOrName.toLowerCase());
      if (row) {
        if (row.template) throw new QueryResolveError("prepared query templates can only be resolved up by name, not by ID");
        return row.query;
      }
    }
    const exactId = this.#byName.get(idOrName.toLowerCase());
    const exact = exactId === undefined ? undefined : this.#rows.get(exactId);
    if (exact) return exact.template ? exact.template.render(idOrName, source) : exact.query;
    let best: Row | undefined;
    for (const r of this.#rows.values()) {
      if (!r.template || !idOrName.startsWith(r.query.Name)) continue;
      if (!best || r.query.Name.length > best.query.Name.length) best = r;
    }
    return best?.template?.render(idOrName, source);
  }

  /** Stores a query already checked by apply (template compiled by the caller). */
  put(index: number, query: PreparedQuery, template: CompiledTemplate | undefined): void {
    const key = query.ID.toLowerCase();
    const prev = this.#rows.get(key);
    if (prev && prev.query.Name !== "") this.#byName.delete(prev.query.Name.toLowerCase());
    this.#rows.set(key, { query, template });
    if (query.Name !== "") this.#byName.set(query.Name.toLowerCase(), key);
    this.#bump(index);
  }

  delete(index: number, id: string): boolean {
    const key = id.toLowerCase();
    const prev = this.#rows.get(key);
    if (!prev) return false;
    this.#rows.delete(key);
    if (prev.query.Name !== "") this.#byName.delete(prev.query.Name.toLowerCase());
    this.#bump(index);
    return true;
  }

  #bump(index: number): void {
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.preparedQueries);
  }

  dump(): { rows: PreparedQuery[]; tableIndex: number } {
    return { rows: [...this.#rows.values()].map((r) => r.query), tableIndex: this.tableIndex };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers); templates are compiled again. */
  load(dump: { rows: PreparedQuery[]; tableIndex: number } | undefined): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE / 8 rows (templates compile), for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(dump: { rows: PreparedQuery[]; tableIndex: number } | undefined): SlicedWork<void> {
    this.clear();
    if (!dump) return;
    let n = 0;
    for (const q of dump.rows) {
      const key = q.ID.toLowerCase();
      this.#rows.set(key, { query: q, template: isTemplate(q) ? new CompiledTemplate(q) : undefined });
      if (q.Name !== "") this.#byName.set(q.Name.toLowerCase(), key);
      if (++n % (ROWS_PER_PAUSE / 8) === 0) yield;
    }
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: PreparedQueryTable): void {
    this.#rows = staged.#rows;
    this.#byName = staged.#byName;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.#byName.clear();
    this.tableIndex = 0;
  }
}

export class QueryResolveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryResolveError";
  }
}
