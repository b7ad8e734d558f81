// Hot read endpoints (health/service with ?passing is polled by every go-kit/Prometheus
// client) answer the same body until their index moves. The memo keeps the built items and
// their compact JSON per (query, index, table generation) so a repeat costs a lookup and a
// socket write. Both spellings are memoized: dev-mode agents pretty-print every answer.

export interface MemoEntry<T> {
  readonly version: string;
  readonly items: T;
  compact?: Buffer;
  pretty?: Buffer;
  /** Byte length of each spelling, once known (list answers sent in pieces). */
  compactLength?: number;
  prettyLength?: number;
}

/** Most distinct queries remembered per table set; past it the memo starts over. */
const MEMO_MAX_ENTRIES = 2048;

export class EncodedMemo<T> {
  readonly #entries = new Map<string, MemoEntry<T>>();

  /** The entry for `key` if it was built at exactly `version` (index, generation…). */
  get(key: string, version: string): MemoEntry<T> | undefined {
    const e = this.#entries.get(key);
    return e && e.version === version ? e : undefined;
  }

  set(key: string, version: string, items: T): MemoEntry<T> {
    if (this.#entries.size >= MEMO_MAX_ENTRIES && !this.#entries.has(key)) this.#entries.clear();
    const e: MemoEntry<T> = { version, items };
    this.#entries.set(key, e);
    return e;
  }
}

/**
 * The JSON body of an entry, encoded once per spelling. Views hold no bigints, so plain JSON is
 * exact; the pretty form matches http/json.ts (4-space indent plus a trailing newline).
 */
export function encodedBody<T>(entry: MemoEntry<T>, pretty: boolean): Buffer {
  if (pretty) return (entry.pretty ??= Buffer.from(JSON.stringify(entry.items, null, 4) + "\n"));
  return (entry.compact ??= Buffer.from(JSON.stringify(entry.items)));
}

/** One memo per owner (the state tables of one agent), so agents sharing a process never mix. */
export function memoFor<T>(registry: WeakMap<object, EncodedMemo<T>>, owner: object): EncodedMemo<T> {
  let m = registry.get(owner);
  if (!m) {
    m = new EncodedMemo<T>();
    registry.set(owner, m);
  }
  return m;
}
