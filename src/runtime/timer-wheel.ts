import type { Clock, TimerHandle } from "./clock.ts";

/**
 * One coarse shared timer for thousands of deadlines (blocking-query timeouts, TTLs).
 * A node:timers object per waiting request costs memory and timer-heap churn; here each
 * deadline is a slot entry and one interval timer sweeps due slots. Resolution is `tickMs`,
 * which is fine for deadlines measured in seconds or minutes.
 */
export class TimerWheel {
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #slots = new Map<number, Set<() => void>>();
  #timer: TimerHandle | undefined;
  #size = 0;

  constructor(clock: Clock, options: { tickMs?: number } = {}) {
    this.#clock = clock;
    this.#tickMs = options.tickMs ?? 100;
  }

  get size(): number {
    return this.#size;
  }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const slot = Math.ceil((this.#clock.monotonicMs() + Math.max(0, delayMs)) / this.#tickMs);
    let set = this.#slots.get(slot);
    if (!set) {
      set = new Set();
      this.#slots.set(slot, set);
    }
    set.add(fn);
    this.#size++;
    this.#arm();
    const owner = set;
    return {
      cancel: () => {
        if (owner.delete(fn)) {
          this.#size--;
          if (owner.size === 0) this.#slots.delete(slot);
        }
      },
    };
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#slots.clear();
    this.#size = 0;
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = this.#clock.setTimer(this.#tickMs, () => this.#sweep());
  }

  #sweep(): void {
    this.#timer = undefined;
    const nowSlot = Math.floor(this.#clock.monotonicMs() / this.#tickMs);
    for (const [slot, fns] of this.#slots) {
      if (slot > nowSlot) continue;
      this.#slots.delete(slot);
      for (const fn of fns) {
        this.#size--;
        fn();
      }
    }
    if (this.#slots.size > 0) this.#arm();
  }
}
