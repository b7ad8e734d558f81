import type { Clock, TimerHandle } from "../../../src/runtime/clock.ts";

/** A manual clock: timers fire only when the test advances time. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  pendingTimers(): number;
}

export function manualClock(startMs = 1_700_000_000_000): ManualClock {
  let now = startMs;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    monotonicMs: () => now - startMs,
    setTimer(delayMs: number, fn: () => void): TimerHandle {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, delayMs), fn });
      return { cancel: () => void timers.delete(id) };
    },
    advance(ms: number): void {
      const target = now + ms;
      for (;;) {
        let nextId = -1;
        let nextAt = Infinity;
        for (const [id, t] of timers) if (t.at <= target && t.at < nextAt) [nextId, nextAt] = [id, t.at];
        if (nextId < 0) break;
        const t = timers.get(nextId)!;
        timers.delete(nextId);
        now = t.at;
        t.fn();
      }
      now = target;
    },
    pendingTimers: () => timers.size,
  };
}
