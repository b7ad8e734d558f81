import { test } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../../src/runtime/clock.ts";
import { TimerWheel } from "../../../src/runtime/timer-wheel.ts";

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    monotonicMs: () => now,
    setTimer(delayMs, fn) {
      const t = { at: now + delayMs, fn };
      timers.push(t);
      return { cancel: () => (timers = timers.filter((x) => x !== t)) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
}

test("timer wheel - fires deadlines after their delay, not before", () => {
  const clock = fakeClock();
  const wheel = new TimerWheel(clock, { tickMs: 100 });
  const fired: string[] = [];
  wheel.schedule(250, () => fired.push("a"));
  wheel.schedule(1000, () => fired.push("b"));
  clock.advance(200);
  assert.deepEqual(fired, []);
  clock.advance(200);
  assert.deepEqual(fired, ["a"]);
  clock.advance(1000);
  assert.deepEqual(fired, ["a", "b"]);
  assert.equal(wheel.size, 0);
});

test("timer wheel - cancelled deadlines never fire", () => {
  const clock = fakeClock();
  const wheel = new TimerWheel(clock, { tickMs: 10 });
  let fired = 0;
  const h = wheel.schedule(50, () => fired++);
  h.cancel();
  clock.advance(100);
  assert.equal(fired, 0);
  assert.equal(wheel.size, 0);
});
