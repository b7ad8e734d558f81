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

/**
 * Runs `steps` steps of ~stepMs on `scheduler` and records, per turn of the event loop, how
 * many steps ran (an immediate queued after each turn's marks the turn's end).
 */
async function stepsPerTurn(scheduler: CooperativeScheduler, steps: number, stepMs: number): Promise<number[]> {
  const turns: number[] = [0];
  let running = true;
  const observer = (): void => {
    turns.push(0);
    if (running) setImmediate(observer);
  };
  setImmediate(observer);
  await new Promise<void>((resolve) => {
    let left = steps;
    scheduler.enqueue({
      step: (): StepOutcome => {
        turns[turns.length - 1]++;
        spin(stepMs);
        if (--left > 0) return "again";
        resolve();
        return "done";
      },
      fail: (err) => assert.fail(String(err)),
    });
  });
  running = false;
  return turns.filter((n) => n > 0);
}

test("cooperative scheduler - while urgent work is open, a turn takes one step; bulk work goes on and regains whole turns after", async () => {
  // A budget far above a step: without the mark a turn takes many steps.
  const scheduler = new CooperativeScheduler(20);
  const whole = await stepsPerTurn(scheduler, 40, 0.05);
  assert.ok(Math.max(...whole) >= 2, `a turn took several steps without urgent work (${whole.join(",")})`);

  const release = scheduler.urgent();
  const urgent = await stepsPerTurn(scheduler, 40, 0.05);
  assert.deepEqual(
    urgent,
    urgent.map(() => 1),
    "one step per turn while urgent work is open",
  );
  assert.equal(urgent.length, 40, "every step still ran");
  const other = scheduler.urgent();
  assert.equal(scheduler.urgentMarks, 2);
  release();
  release(); // releasing twice closes the mark once
  assert.equal(scheduler.urgentMarks, 1);
  other();
  assert.equal(scheduler.urgentMarks, 0);

  const after = await stepsPerTurn(scheduler, 40, 0.05);
  assert.ok(Math.max(...after) >= 2, `whole turns again after the release (${after.join(",")})`);
});
