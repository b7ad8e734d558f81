import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

// How long callbacks waited for the event loop: the one figure that shows whether a request
// (a big encode, a slow scan) held the thread that Raft heartbeats and gossip acks share.
// Node samples it with a timer every RESOLUTION_MS; a sample is the time between two firings,
// so an idle loop reads RESOLUTION_MS and we report only what exceeds it. Figures cover one
// window (the metrics interval): the last completed one, or the current one before any ends.

const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function delayMs(ns: number): number {
  return Math.max(0, ns / NS_PER_MS - RESOLUTION_MS);
}

export class EventLoopDelayMonitor {
  readonly #histogram: IntervalHistogram;
  readonly #rotation: ReturnType<typeof setInterval>;
  #completed: EventLoopDelay | undefined;

  constructor(windowMs: number) {
    this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.#histogram.enable();
    this.#rotation = setInterval(() => {
      this.#completed = this.#current();
      this.#histogram.reset();
    }, windowMs);
    this.#rotation.unref();
  }

  /** The last completed window, or the current one while none has completed. */
  read(): EventLoopDelay {
    return this.#completed ?? this.#current();
  }

  close(): void {
    clearInterval(this.#rotation);
    this.#histogram.disable();
  }

  #current(): EventLoopDelay {
    const h = this.#histogram;
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return { p50Ms: delayMs(h.percentile(50)), p99Ms: delayMs(h.percentile(99)), maxMs: delayMs(h.max) };
  }
}
