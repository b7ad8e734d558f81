import type { Clock, TimerHandle } from "./clock.ts";

/**
 * One shared timer for thousands of deadlines (blocking-query timeouts, check intervals, TTLs).
 * A node:timers object per waiting request costs memory and timer-heap churn; here deadlines
 * that fall close together share a slot, and one timer is armed for the earliest slot.
 *
 * A slot's width (the most a deadline may fire late) grows with its delay: a power of two of at
 * most delay/64 and at most `tickMs`. So 10-minute waits still coalesce into 100 ms slots, while
 * a 1 s wait fires within 8 ms of its deadline (a fixed 100 ms tick made it up to 200 ms late).
 * A deadline never fires early.
 */
export class TimerWheel {
  readonly #clock: Clock;
  readonly #tickMs: number;
  /** Slot due time (ms, monotonic) → callbacks due then. */
  readonly #slots = new Map<number, Set<() => void>>();
  /** Min-heap of slot due times; may hold times of slots already emptied (skipped when popped). */
  #heap: number[] = [];
  #timer: TimerHandle | undefined;
  #armedAt = Infinity;
  #size = 0;

  constructor(clock: Clock, options: { tickMs?: number } = {}) {
    this.#clock = clock;
    this.#tickMs = options.tickMs ?? 100;
  }

  get size(): number {
    return this.#size;
  }

  /** The most a deadline `delayMs` away may fire after it (excluding event-loop delay). */
  maxLatenessMs(delayMs: number): number {
    let width = 1;
    const cap = Math.min(this.#tickMs, Math.max(1, delayMs / 64));
    while (width * 2 <= cap) width *= 2;
    return Math.min(width, this.#tickMs);
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const delay = Math.max(0, delayMs);
    const width = this.maxLatenessMs(delay);
    const due = Math.ceil((this.#clock.monotonicMs() + delay) / width) * width;
    let set = this.#slots.get(due);
    if (!set) {
      set = new Set();
      this.#slots.set(due, set);
      this.#push(due);
    }
    set.add(fn);
    this.#size++;
    if (due < this.#armedAt) this.#arm(due);
    const owner = set;
    return {
      cancel: () => {
        if (owner.delete(fn)) {
          this.#size--;
          if (owner.size === 0 && this.#slots.get(due) === owner) this.#slots.delete(due);
        }
      },
    };
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#armedAt = Infinity;
    this.#slots.clear();
    this.#heap = [];
    this.#size = 0;
  }

  #arm(due: number): void {
    this.#timer?.cancel();
    this.#armedAt = due;
    this.#timer = this.#clock.setTimer(due - this.#clock.monotonicMs(), () => this.#sweep());
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    // A timer that fires a fraction of a millisecond early (timers count whole milliseconds)
    // finds nothing due and is armed again: nothing fires before its deadline.
    const now = this.#clock.monotonicMs();
    while (this.#heap.length > 0 && this.#heap[0] <= now) {
      const due = this.#pop();
      const fns = this.#slots.get(due);
      if (!fns) continue;
      this.#slots.delete(due);
      for (const fn of fns) {
        this.#size--;
        fn();
      }
    }
    // Cancelled slots leave their times in the heap: rebuild it when they dominate.
    if (this.#heap.length > 64 && this.#heap.length > 2 * this.#slots.size) this.#rebuild();
    while (this.#heap.length > 0 && !this.#slots.has(this.#heap[0])) this.#pop();
    if (this.#heap.length > 0) this.#arm(this.#heap[0]);
  }

  #rebuild(): void {
    this.#heap = [...this.#slots.keys()].sort((a, b) => a - b);
  }

  #push(due: number): void {
    const h = this.#heap;
    h.push(due);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent] <= h[i]) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
    if (h.length > 1024 && h.length > 4 * this.#slots.size) this.#rebuild();
  }

  #pop(): number {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop() as number;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l] < h[m]) m = l;
        if (r < h.length && h[r] < h[m]) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
