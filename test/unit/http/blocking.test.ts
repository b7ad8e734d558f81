import { test } from "node:test";
import assert from "node:assert/strict";
import { BlockingEngine } from "../../../src/http/blocking.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { TimerWheel } from "../../../src/runtime/timer-wheel.ts";
import { WatchHub } from "../../../src/state/watch.ts";
import { manualClock } from "../agent/fake-clock.ts";

function setup() {
  const hub = new WatchHub();
  const wheel = new TimerWheel(systemClock, { tickMs: 10 });
  const engine = new BlockingEngine({ hub, wheel, rng: seededRng(1) }, { maxWaiters: 100 });
  return { hub, wheel, engine };
}

test("blocking - index 0 is reported as 1, never 0", async () => {
  const { engine, wheel } = setup();
  const r = await engine.run("k", 0, 1000, () => ({ index: 0, value: "v" }));
  assert.equal(r.index, 1);
  wheel.stop();
});

test("blocking - identical concurrent queries share one evaluation per change", async () => {
  const { engine, hub, wheel } = setup();
  let index = 5;
  let runs = 0;
  const query = (ws: { add(t: string): void }) => {
    runs++;
    ws.add("t");
    return { index, value: index };
  };
  const waiters = Array.from({ length: 50 }, () => engine.run("same", 5, 10_000, query));
  assert.equal(runs, 1);
  assert.equal(engine.waiting, 50);
  index = 6;
  hub.notify("t");
  const results = await Promise.all(waiters);
  assert.ok(results.every((r) => r.index === 6));
  assert.equal(runs, 2);
  assert.equal(engine.waiting, 0);
  wheel.stop();
});

test("blocking - a wake that does not raise the index keeps waiting", async () => {
  const { engine, hub, wheel } = setup();
  let index = 5;
  const query = (ws: { add(t: string): void }) => {
    ws.add("t");
    return { index, value: index };
  };
  let done = false;
  const p = engine.run("k", 5, 10_000, query).then((r) => {
    done = true;
    return r;
  });
  hub.notify("t");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  index = 9;
  hub.notify("t");
  assert.equal((await p).index, 9);
  wheel.stop();
});

test("blocking - the index never goes backwards for the same query", async () => {
  const { engine, wheel } = setup();
  await engine.run("k", 0, 1000, () => ({ index: 10, value: 1 }));
  const r = await engine.run("k", 0, 1000, () => ({ index: 7, value: 1 }));
  assert.equal(r.index, 10);
  wheel.stop();
});

test("blocking - past the waiter limit a query answers at once", async () => {
  const hub = new WatchHub();
  const wheel = new TimerWheel(systemClock, { tickMs: 10 });
  const engine = new BlockingEngine({ hub, wheel, rng: seededRng(1) }, { maxWaiters: 1 });
  const first = engine.run("a", 3, 60_000, () => ({ index: 3, value: 1 }));
  const second = await engine.run("b", 3, 60_000, () => ({ index: 3, value: 2 }));
  assert.equal(second.value, 2);
  assert.equal(engine.limitHits, 1);
  hub.notifyAll();
  wheel.stop();
  void first;
});

test("blocking - the wait deadline answers with the current result", async () => {
  const { engine, wheel } = setup();
  const started = Date.now();
  // The wheel's timer is unref'd (a server's sockets keep the loop alive); hold it here.
  const keepAlive = setTimeout(() => {}, 5000);
  const r = await engine.run("k", 4, 100, () => ({ index: 4, value: "same" }));
  assert.equal(r.value, "same");
  assert.ok(Date.now() - started >= 90);
  clearTimeout(keepAlive);
  wheel.stop();
});

test("blocking - a snapshot restore answers every waiter, even when the index went backwards", async () => {
  const { engine, hub, wheel } = setup();
  let index = 50;
  const query = (ws: { add(t: string): void }) => {
    ws.add("t");
    return { index, value: index };
  };
  const waiting = engine.run("k", 50, 60_000, query);
  index = 7;
  hub.notifyAll();
  const r = await waiting;
  assert.equal(r.index, 7);
  assert.equal(engine.waiting, 0);
  wheel.stop();
});

test("blocking - an aborted wait is freed at once: no waiter, no deadline, no watch (issue 12)", async () => {
  const { engine, hub, wheel } = setup();
  const query = (ws: { add(t: string): void }) => {
    ws.add("kv/x");
    return { index: 3, value: "v" };
  };
  const controllers = Array.from({ length: 200 }, () => new AbortController());
  const pending = controllers.map((c, i) => engine.run(`k${i % 7}`, 99_999_999, 600_000, query, c.signal));
  assert.equal(engine.waiting, 200);
  assert.ok(hub.topicCount > 0);
  for (const c of controllers) c.abort();
  assert.equal(engine.waiting, 0);
  assert.equal(wheel.size, 0);
  assert.equal(hub.topicCount, 0);
  const results = await Promise.all(pending);
  assert.ok(results.every((r) => r.index === 3));
  // Already aborted before it starts: answers at once and never waits.
  const gone = new AbortController();
  gone.abort();
  await engine.run("late", 99_999_999, 600_000, query, gone.signal);
  assert.equal(engine.waiting, 0);
  wheel.stop();
});

test("blocking - a wait answers between wait and wait + wait/16, as Consul's (issue 20)", async () => {
  const clock = manualClock();
  const hub = new WatchHub();
  const wheel = new TimerWheel(clock);
  const engine = new BlockingEngine({ hub, wheel, rng: seededRng(7) }, { maxWaiters: 1000 });
  for (const waitMs of [1000, 5000, 600_000]) {
    const started = clock.monotonicMs();
    const answeredAt: number[] = [];
    const all = Array.from({ length: 200 }, (_, i) =>
      engine.run(`w${waitMs}-${i}`, 5, waitMs, () => ({ index: 5, value: i })).then(() => answeredAt.push(clock.monotonicMs() - started)),
    );
    const step = Math.max(1, waitMs / 1000);
    for (let t = 0; t <= waitMs * 1.1; t += step) {
      clock.advance(step);
      await Promise.resolve();
    }
    await Promise.all(all);
    const max = Math.max(...answeredAt);
    const min = Math.min(...answeredAt);
    // One step of the simulated clock is the resolution of this measurement.
    assert.ok(min >= waitMs, `${waitMs}: answered after ${min} ms`);
    assert.ok(max <= waitMs + waitMs / 16 + step, `${waitMs}: answered after ${max} ms`);
  }
  wheel.stop();
});
