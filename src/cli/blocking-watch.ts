// A blocking-query loop with the client rules Consul documents and its watch.Plan applies:
// the first answer always counts; an unchanged index (a wait that timed out) never fires;
// a changed index fires only if the data really differs; an index that goes backwards resets
// to 0 (a non-blocking re-read); an index of 0 is never sent as a blocking index; tight loops
// are rate-limited; errors back off quadratically (5 s × failures², at most 180 s).
import { isDeepStrictEqual } from "node:util";
import { sleep } from "./abortable-sleep.ts";

export interface WatchFetchResult<T> {
  readonly index: bigint;
  readonly value: T;
}

export interface BlockingWatchOptions<T> {
  /** One blocking read at `index` (0 = return at once). Must honour `signal`. */
  fetch(index: bigint, signal: AbortSignal): Promise<WatchFetchResult<T>>;
  /** Called once per real change; a thrown error ends the watch with that error. */
  onChange(index: bigint, value: T): Promise<void> | void;
  readonly signal: AbortSignal;
  /**
   * Raft indexes only grow, so a smaller one means a reset. Event-list indexes are hashes of
   * event IDs with no order; pass false for them.
   */
  readonly ordered?: boolean;
  /** Minimum time between the starts of two reads. */
  readonly minIntervalMs?: number;
  readonly retryBaseMs?: number;
  readonly maxBackoffMs?: number;
  onError?(err: unknown, retryMs: number): void;
}

const DEFAULT_MIN_INTERVAL_MS = 100;
const DEFAULT_RETRY_BASE_MS = 5_000;
const DEFAULT_MAX_BACKOFF_MS = 180_000;

/** The index to send next after a read that returned `returned` when `previous` was sent. */
export function nextWaitIndex(previous: bigint, returned: bigint, ordered: boolean): bigint {
  if (returned <= 0n) return ordered ? 1n : 0n;
  if (ordered && returned < previous) return 0n;
  return returned;
}

/** Runs until `signal` aborts (resolves) or `onChange` throws (rejects). */
export async function runBlockingWatch<T>(options: BlockingWatchOptions<T>): Promise<void> {
  const ordered = options.ordered ?? true;
  const minInterval = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  const retryBase = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  const maxBackoff = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const signal = options.signal;

  let waitIndex = 0n;
  let seenIndex: bigint | undefined;
  let last: { value: T } | undefined;
  let failures = 0;
  let lastStart = -Infinity;

  while (!signal.aborted) {
    const sinceLast = Date.now() - lastStart;
    if (sinceLast < minInterval) await sleep(minInterval - sinceLast, signal);
    if (signal.aborted) return;
    lastStart = Date.now();

    let result: WatchFetchResult<T>;
    try {
      result = await options.fetch(waitIndex, signal);
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      // Start over with a non-blocking read once the agent answers again.
      waitIndex = 0n;
      seenIndex = undefined;
      const retry = Math.min(retryBase * failures * failures, maxBackoff);
      options.onError?.(err, retry);
      await sleep(retry, signal);
      continue;
    }
    if (signal.aborted) return;
    failures = 0;

    if (seenIndex !== undefined && result.index === seenIndex) {
      // A wait that ran out (or the re-read after a reset): nothing changed; block on it.
      waitIndex = nextWaitIndex(0n, result.index, ordered);
      continue;
    }
    seenIndex = result.index;
    waitIndex = nextWaitIndex(waitIndex, result.index, ordered);
    if (last !== undefined && isDeepStrictEqual(last.value, result.value)) continue;
    last = { value: result.value };
    await options.onChange(result.index, result.value);
  }
}
