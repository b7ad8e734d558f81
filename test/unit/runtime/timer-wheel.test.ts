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

test("timer wheel - a deadline fires no later than delay/64 after it, never before (issue 20)", () => {
  const clock = fakeClock();
  const wheel = new TimerWheel(clock, { tickMs: 100 });
  for (const delay of [5, 100, 999, 1000, 1003.7, 4000, 60_000, 600_000]) {
    // Start off any slot boundary so rounding shows.
    clock.advance(37.3);
    const started = clock.monotonicMs();
    let firedAt = -1;
    wheel.schedule(delay, () => (firedAt = clock.monotonicMs()));
    clock.advance(delay + 200);
    const late = firedAt - started - delay;
    assert.ok(late >= 0, `${delay} ms fired ${-late} ms early`);
    assert.ok(late <= Math.max(1, Math.min(100, delay / 64)), `${delay} ms fired ${late} ms late`);
    assert.ok(wheel.maxLatenessMs(delay) <= Math.max(1, delay / 64));
  }
  assert.equal(wheel.size, 0);
});

test("timer wheel - long deadlines close together share one slot and one timer", () => {
  let armed = 0;
  const clock = fakeClock();
  const counting = { ...clock, setTimer: (d: number, fn: () => void) => (armed++, clock.setTimer(d, fn)) };
  const wheel = new TimerWheel(counting, { tickMs: 100 });
  let fired = 0;
  for (let i = 0; i < 1000; i++) wheel.schedule(600_000 + (i % 50), () => fired++);
  assert.ok(armed <= 2, `armed ${armed} timers`);
  clock.advance(601_000);
  assert.equal(fired, 1000);
});
