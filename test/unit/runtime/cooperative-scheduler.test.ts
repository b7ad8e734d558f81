import { test } from "node:test";
import assert from "node:assert/strict";
import { CooperativeScheduler, type StepOutcome } from "../../../src/runtime/cooperative-scheduler.ts";

// The request-work scheduler must bound how long bulk work holds one turn of the event loop
// however many tasks are queued, take their steps in turn, and report results and failures.

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test("cooperative scheduler - many tasks share one budget per turn, in turn, and I/O runs between turns", async () => {
  const scheduler = new CooperativeScheduler(2);
  const order: string[] = [];
  let turnsSeen = 0;
  // Counts check phases in which something other than the scheduler ran (an immediate queued
  // after each of ours stands for the I/O and timers of a turn).
  let stop = false;
  const observer = (): void => {
    turnsSeen++;
    if (!stop) setImmediate(observer);
  };
  setImmediate(observer);
  const finished = [0, 1, 2, 3, 4, 5, 6, 7].map(
    (id) =>
      new Promise<void>((resolve) => {
        let steps = 0;
        scheduler.enqueue({
          step: (): StepOutcome => {
            order.push(`${id}`);
            spin(0.5);
            if (++steps < 6) return "again";
            resolve();
            return "done";
          },
          fail: (err) => assert.fail(String(err)),
        });
      }),
  );
  await Promise.all(finished);
  stop = true;
  // 8 tasks × 6 steps × 0.5 ms = 24 ms of work in turns of ~2 ms: many turns, not one.
  assert.ok(turnsSeen >= 6, `other work ran in ${turnsSeen} turns while the tasks ran`);
  // Round robin: every task took its first step before any took its second.
  assert.deepEqual(order.slice(0, 8), ["0", "1", "2", "3", "4", "5", "6", "7"]);
  assert.equal(scheduler.pending, 0);
});

test("cooperative scheduler - sliced work resolves with its result, a throw rejects", async () => {
  const scheduler = new CooperativeScheduler();
  function* sum(n: number): Generator<void, number, void> {
    let total = 0;
    for (let i = 1; i <= n; i++) {
      total += i;
      yield;
    }
    return total;
  }
  assert.equal(await scheduler.runSliced(sum(10_000)), 50_005_000);
  function* broken(): Generator<void, number, void> {
    yield;
    throw new Error("boom");
  }
  await assert.rejects(scheduler.runSliced(broken()), /boom/);
});
