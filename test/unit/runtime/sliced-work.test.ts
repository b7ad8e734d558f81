import { test } from "node:test";
import assert from "node:assert/strict";
import { runSliced, runWhole, type SlicedWork } from "../../../src/runtime/sliced-work.ts";

// Every runSliced in one turn of the event loop shares one budget (issue 12 item 6): a large
// request passes through several sliced stages chained by promise reactions, and when each
// counted its own budget from its own start, one turn ran a slice of every stage.

const SLICE_MS = 2;

/** Busy for at least `ms` of the monotonic clock: more than the budget, however fast the machine. */
function* spinning(ms: number): SlicedWork<string> {
  const from = performance.now();
  while (performance.now() - from < ms) {
    // busy
  }
  return "spun";
}

test("sliced work - a stage started in a turn whose budget earlier work spent waits for the next turn", async () => {
  // Its one step spends the budget; it resolves in a later turn (next test).
  const first = runSliced(spinning(SLICE_MS + 1), SLICE_MS);
  // Still the same turn: the budget is spent.
  let nextTurn = false;
  setImmediate(() => (nextTurn = true));
  let startedAfterTurn: boolean | undefined;
  const second = runSliced(
    (function* (): SlicedWork<number> {
      startedAfterTurn = nextTurn;
      yield;
      return 2;
    })(),
    SLICE_MS,
  );
  assert.equal(startedAfterTurn, undefined, "the second stage did not start in the spent turn");
  assert.equal(await first, "spun");
  assert.equal(await second, 2);
  assert.equal(startedAfterTurn, true, "it started after the event loop had its turn");
});

test("sliced work - work that ends with the turn's budget spent resolves in a later turn", async () => {
  // What its caller runs next (propose, apply, answer) is not sliced: it must not run on in a
  // turn the work already filled.
  const order: string[] = [];
  setImmediate(() => order.push("event loop"));
  await runSliced(spinning(SLICE_MS + 1), SLICE_MS);
  order.push("resolved");
  assert.deepEqual(order, ["event loop", "resolved"]);
});

test("sliced work - a budget opened outside the check phase lasts the whole iteration: the check phase after it gets one step", async () => {
  // A request's body arrives in the poll phase (here: a timer's phase, the same case). Its
  // slices resumed in that iteration's check phase once had a budget of their own, so one
  // iteration ran two budgets (a 512 KiB txn: the parse in the poll phase, the decode in the
  // check phase). Steps are labelled with the iteration's check phase they ran after.
  await new Promise((resolve) => setTimeout(resolve, 5)); // earlier tests' budgets closed
  let checkPhases = 0;
  let ticking = true;
  const tick = (): void => {
    checkPhases++;
    if (ticking) setImmediate(tick);
  };
  const stepsPerPhase: number[] = [];
  const work = (function* (): SlicedWork<void> {
    for (let i = 0; i < 400; i++) {
      stepsPerPhase[checkPhases] = (stepsPerPhase[checkPhases] ?? 0) + 1;
      const from = performance.now();
      while (performance.now() - from < SLICE_MS / 20) {
        // busy: a step well under the budget
      }
      yield;
    }
  })();
  const done = await new Promise<Promise<void>>((resolve) =>
    setTimeout(() => {
      setImmediate(tick); // queued first: runs first in each check phase
      resolve(runSliced(work, SLICE_MS));
    }, 0),
  );
  await done;
  ticking = false;
  assert.ok((stepsPerPhase[0] ?? 0) >= 1, `steps in the timers phase: ${stepsPerPhase.join(", ")}`);
  assert.equal(stepsPerPhase[1], 1, `steps per phase: ${stepsPerPhase.join(", ")}`);
  assert.equal(
    stepsPerPhase.reduce((a, b) => a + b, 0),
    400,
  );
});

test("sliced work - a step over the budget is followed by a turn of the event loop before the next step", async () => {
  const order: string[] = [];
  const work = (function* (): SlicedWork<void> {
    order.push("step 1");
    yield* spinning(SLICE_MS + 1);
    yield;
    order.push("step 2");
  })();
  setImmediate(() => order.push("event loop"));
  // Queued before the work's first step, so it runs once the work yields.
  await runSliced(work, SLICE_MS);
  assert.deepEqual(order.indexOf("event loop") < order.indexOf("step 2"), true, `order: ${order.join(", ")}`);
  assert.deepEqual(order.filter((o) => o.startsWith("step")), ["step 1", "step 2"]);
});

test("sliced work - runWhole and runSliced give the same value and the same errors", async () => {
  function* sum(n: number): SlicedWork<number> {
    let total = 0;
    for (let i = 1; i <= n; i++) {
      total += i;
      if (i % 100 === 0) yield;
    }
    return total;
  }
  assert.equal(runWhole(sum(10_000)), 50_005_000);
  assert.equal(await runSliced(sum(10_000)), 50_005_000);
  function* broken(): SlicedWork<number> {
    yield;
    throw new Error("boom");
  }
  await assert.rejects(runSliced(broken()), /boom/);
});

test("sliced work - works running side by side each take a step every turn: none waits for the other to finish", async () => {
  const order: string[] = [];
  const steps = (name: string): SlicedWork<void> =>
    (function* (): SlicedWork<void> {
      for (let i = 1; i <= 4; i++) {
        order.push(`${name}${i}`);
        // Each step alone spends the turn's budget.
        yield* spinning(SLICE_MS + 1);
        if (i < 4) yield;
      }
    })();
  await Promise.all([runSliced(steps("a"), SLICE_MS), runSliced(steps("b"), SLICE_MS)]);
  assert.ok(order.indexOf("b1") < order.indexOf("a4"), `order: ${order.join(", ")}`);
  assert.ok(order.indexOf("a2") < order.indexOf("b4"), `order: ${order.join(", ")}`);
  assert.equal(order.length, 8);
});
