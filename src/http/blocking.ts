import type { Rng } from "../runtime/rng.ts";
import type { TimerHandle } from "../runtime/clock.ts";
import type { TimerWheel } from "../runtime/timer-wheel.ts";
import { WatchSet, type WatchHub } from "../state/watch.ts";

/**
 * The one blocking-query engine behind every read endpoint (after Consul's blockingquery).
 * Rules every query obeys:
 *  - the query closure is pure over the state store: it returns {index, value} and records
 *    the topics it read into the WatchSet;
 *  - with minIndex 0 it answers at once; otherwise it answers as soon as index > minIndex,
 *    or at the deadline (wait clamped by the caller, plus up to wait/16 jitter) with the
 *    current result;
 *  - the index is never 0 (0 becomes 1) and never goes backwards for the same query key;
 *  - identical concurrent queries (same key) share one evaluation per change, so 10,000
 *    waiters on one key cost one query run and one subscription per write;
 *  - a snapshot restore fires every topic, so every waiter re-evaluates.
 */

export interface QueryResult<T> {
  index: number;
  value: T;
  /** Lazily memoized encoded body, shared by every waiter that receives this result. */
  encoded?: string | Buffer;
}

export type QueryFn<T> = (ws: WatchSet) => { index: number; value: T };

/** The watch set of an evaluation nobody will wait on: records nothing. */
class UnwatchedSet extends WatchSet {
  override add(): void {}
}
const UNWATCHED: WatchSet = new UnwatchedSet();

interface Waiter<T> {
  minIndex: number;
  resolve: (r: QueryResult<T>) => void;
  timer: TimerHandle;
  /** Removes the abort listener once the waiter is answered. */
  detach?: () => void;
}

interface Group<T> {
  query: QueryFn<T>;
  /** The hub's restore epoch when the group last evaluated. */
  epoch: number;
  last: QueryResult<T>;
  waiters: Set<Waiter<T>>;
  unsubscribe: () => void;
}

export interface BlockingLimits {
  /** Most waiters across all queries; past it new blocking queries answer at once. */
  maxWaiters: number;
}

export class BlockingEngine {
  readonly #hub: WatchHub;
  readonly #wheel: TimerWheel;
  readonly #rng: Rng;
  readonly #limits: BlockingLimits;
  readonly #groups = new Map<string, Group<unknown>>();
  readonly #highWater = new Map<string, number>();
  #waiting = 0;
  limitHits = 0;

  constructor(deps: { hub: WatchHub; wheel: TimerWheel; rng: Rng }, limits: BlockingLimits) {
    this.#hub = deps.hub;
    this.#wheel = deps.wheel;
    this.#rng = deps.rng;
    this.#limits = limits;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /**
   * `signal` aborts the wait (the client went away): the waiter, its deadline and (with the
   * last waiter of its group) the watch subscription are freed at once, and the promise
   * settles with the current result, which nobody reads.
   */
  async run<T>(key: string, minIndex: number, waitMs: number, query: QueryFn<T>, signal?: AbortSignal): Promise<QueryResult<T>> {
    if (minIndex <= 0) return this.current(key, query);
    const group = this.#groups.get(key) as Group<T> | undefined;
    if (group) {
      if (group.last.index > minIndex) return group.last;
      if (signal?.aborted) return group.last;
      return this.#wait(key, group, minIndex, waitMs, signal);
    }
    const { result, ws } = this.#evaluate(key, query);
    if (result.index > minIndex || signal?.aborted) return result;
    if (this.#waiting >= this.#limits.maxWaiters) {
      this.limitHits++;
      return result;
    }
    const fresh: Group<T> = { query, last: result, epoch: this.#hub.restoreEpoch, waiters: new Set(), unsubscribe: () => {} };
    this.#groups.set(key, fresh as Group<unknown>);
    this.#subscribe(key, fresh, ws);
    return this.#wait(key, fresh, minIndex, waitMs, signal);
  }

  /**
   * The answer of a query that does not wait (no index): evaluated now, nothing subscribed, so
   * the topics it reads are not even recorded. Its index still never goes backwards.
   */
  current<T>(key: string, query: QueryFn<T>): QueryResult<T> {
    const raw = query(UNWATCHED);
    return { index: this.#monotonicIndex(key, raw.index), value: raw.value };
  }

  #wait<T>(key: string, group: Group<T>, minIndex: number, waitMs: number, signal: AbortSignal | undefined): Promise<QueryResult<T>> {
    return new Promise((resolve) => {
      // Consul answers within wait + wait/16 (its jitter). The wheel fires up to its
      // granularity for this delay (≤ wait/64) late, and the event loop may add a little, so
      // the jitter keeps both back: the answer comes between wait and wait + wait/16.
      const jitter = this.#rng.float() * (waitMs / 16 - this.#wheel.maxLatenessMs(waitMs) - waitMs / 64);
      const waiter: Waiter<T> = {
        minIndex,
        resolve,
        timer: this.#wheel.schedule(waitMs + Math.max(0, jitter), () => {
          // No wake since the last evaluation means the cached result is still current.
          this.#finish(key, group, waiter, group.last);
        }),
      };
      group.waiters.add(waiter);
      this.#waiting++;
      if (signal) {
        const onAbort = (): void => this.#finish(key, group, waiter, group.last);
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener("abort", onAbort);
      }
    });
  }

  #finish<T>(key: string, group: Group<T>, waiter: Waiter<T>, result: QueryResult<T>): void {
    if (!group.waiters.delete(waiter)) return;
    this.#waiting--;
    waiter.timer.cancel();
    waiter.detach?.();
    waiter.resolve(result);
    if (group.waiters.size === 0) {
      group.unsubscribe();
      if (this.#groups.get(key) === group) this.#groups.delete(key);
    }
  }

  #subscribe<T>(key: string, group: Group<T>, ws: WatchSet): void {
    group.unsubscribe = this.#hub.subscribe(ws.topics, () => {
      group.unsubscribe();
      // Re-run on a microtask so one write that fires several topics costs one evaluation.
      queueMicrotask(() => this.#onWake(key, group));
    });
  }

  #onWake<T>(key: string, group: Group<T>): void {
    if (group.waiters.size === 0) return;
    // After a snapshot restore indexes may legitimately restart lower: every waiter answers
    // with the restored state, and the "never backwards" memory starts over.
    const restored = group.epoch !== this.#hub.restoreEpoch;
    if (restored) {
      this.#highWater.clear();
      group.epoch = this.#hub.restoreEpoch;
    }
    const { result, ws } = this.#evaluate(key, group.query);
    group.last = result;
    for (const w of [...group.waiters]) if (restored || result.index > w.minIndex) this.#finish(key, group, w, result);
    if (group.waiters.size > 0) this.#subscribe(key, group, ws);
  }

  #evaluate<T>(key: string, query: QueryFn<T>): { result: QueryResult<T>; ws: WatchSet } {
    const ws = new WatchSet();
    const raw = query(ws);
    return { result: { index: this.#monotonicIndex(key, raw.index), value: raw.value }, ws };
  }

  /** Never 0, never below what this key answered before. */
  #monotonicIndex(key: string, rawIndex: number): number {
    const index = rawIndex > 0 ? rawIndex : 1;
    const prev = this.#highWater.get(key) ?? 0;
    if (index < prev) return prev;
    if (index > prev && this.#highWater.size < 100_000) this.#highWater.set(key, index);
    return index;
  }

  /** After a snapshot restore, indexes may legitimately restart. */
  resetHighWater(): void {
    this.#highWater.clear();
  }
}
