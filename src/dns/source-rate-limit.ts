// A token bucket per source address: each source may send `ratePerSecond` DNS requests a
// second on average, in bursts of up to one second's worth. What is over the bound is not
// answered (UDP: dropped, so it cannot be reflected; TCP: REFUSED), so one noisy or hostile
// client costs the agent at most its share, and every other source is still answered.
//
// The table is bounded: a source whose bucket has refilled is the same as an absent one and
// is forgotten when the table is full; if every entry is still draining, the oldest goes.

export const DEFAULT_SOURCE_TABLE_SIZE = 16_384;

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class SourceRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxSources: number;
  #limited = 0;
  #lastSweepMs = -Infinity;

  constructor(maxSources = DEFAULT_SOURCE_TABLE_SIZE) {
    this.#maxSources = Math.max(1, maxSources);
  }

  /** Requests refused since start, for logs and tests. */
  get limited(): number {
    return this.#limited;
  }

  get trackedSources(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for `source` at monotonic time `nowMs`; false when its bucket is empty.
   * A rate of 0 (or less) means unlimited.
   */
  admit(source: string, ratePerSecond: number, nowMs: number): boolean {
    if (!(ratePerSecond > 0)) return true;
    const capacity = Math.max(1, ratePerSecond);
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxSources) this.#makeRoom(ratePerSecond, capacity, nowMs);
      bucket = { tokens: capacity, lastMs: nowMs };
      this.#buckets.set(source, bucket);
    } else {
      const refill = ((nowMs - bucket.lastMs) * ratePerSecond) / 1000;
      bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, refill));
      bucket.lastMs = nowMs;
    }
    if (bucket.tokens < 1) {
      this.#limited++;
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  #makeRoom(ratePerSecond: number, capacity: number, nowMs: number): void {
    const fullAfterMs = (capacity * 1000) / ratePerSecond;
    // One sweep per refill period at most: a flood of new (spoofed) sources must not make
    // every request walk the whole table.
    if (nowMs - this.#lastSweepMs >= fullAfterMs) {
      this.#lastSweepMs = nowMs;
      for (const [source, bucket] of this.#buckets) {
        if (nowMs - bucket.lastMs >= fullAfterMs) this.#buckets.delete(source);
      }
      if (this.#buckets.size < this.#maxSources) return;
    }
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
