import { test } from "node:test";
import assert from "node:assert/strict";
import type { ProbeOutcome } from "../../../src/checks/scheduler.ts";
import { flush, recordingSink, schedulerRig, scriptedProbe } from "./check-test-support.ts";

const pass: ProbeOutcome = { status: "passing", output: "ok" };
const fail: ProbeOutcome = { status: "critical", output: "down" };
const noThresholds = { successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 0 };

test("scheduler - the first run comes within one interval, then one interval after each run", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  const p = scriptedProbe([pass]);
  scheduler.schedule({ checkId: "c", kind: "http", intervalMs: 10_000, timeoutMs: 1_000, thresholds: noThresholds, probe: p.probe }, sink);
  assert.equal(p.runs(), 0);
  clock.advance(10_100);
  await flush();
  assert.equal(p.runs(), 1, "first run staggered inside the first interval");
  for (let i = 2; i <= 4; i++) {
    clock.advance(10_100);
    await flush();
    assert.equal(p.runs(), i);
  }
  assert.deepEqual(sink.last(), pass);
});

test("scheduler - first runs of many checks are spread across the interval", async () => {
  const { clock, scheduler } = schedulerRig(42);
  const firstRunAt: number[] = [];
  for (let i = 0; i < 200; i++) {
    scheduler.schedule(
      {
        checkId: `c${i}`,
        kind: "tcp",
        intervalMs: 10_000,
        timeoutMs: 1_000,
        thresholds: noThresholds,
        probe: () => {
          firstRunAt.push(clock.monotonicMs());
          return Promise.resolve(pass);
        },
      },
      recordingSink(),
    );
  }
  clock.advance(10_100);
  await flush();
  assert.ok(firstRunAt.length >= 200);
  const buckets = new Set(firstRunAt.slice(0, 200).map((t) => Math.floor(t / 1_000)));
  assert.ok(buckets.size >= 9, `first runs fall in ${buckets.size} of 10 one-second buckets`);
});

test("scheduler - intervals below one second are raised to one second", async () => {
  const { clock, scheduler } = schedulerRig();
  const p = scriptedProbe([pass]);
  scheduler.schedule({ checkId: "c", kind: "tcp", intervalMs: 100, timeoutMs: 50, thresholds: noThresholds, probe: p.probe }, recordingSink());
  clock.advance(1_100);
  await flush();
  const afterFirst = p.runs();
  assert.equal(afterFirst, 1);
  clock.advance(500);
  await flush();
  assert.equal(p.runs(), 1, "no run half a second later");
  clock.advance(600);
  await flush();
  assert.equal(p.runs(), 2);
});

test("scheduler - a probe is aborted at its timeout and the next run waits for it to finish", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  let runs = 0;
  scheduler.schedule(
    {
      checkId: "slow",
      kind: "http",
      intervalMs: 1_000,
      timeoutMs: 3_000,
      thresholds: noThresholds,
      probe: (signal) => {
        runs++;
        return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ status: "critical", output: "timed out" })));
      },
    },
    sink,
  );
  clock.advance(1_100);
  await flush();
  assert.equal(runs, 1);
  clock.advance(2_000);
  await flush();
  assert.equal(runs, 1, "never two runs of one check at once");
  assert.equal(sink.updates.length, 0);
  clock.advance(1_100);
  await flush();
  assert.deepEqual(sink.last(), { status: "critical", output: "timed out" });
  clock.advance(1_100);
  await flush();
  assert.equal(runs, 2);
});

test("scheduler - FailuresBeforeCritical keeps a flapping target passing (simulated clock)", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  // pass, fail, pass, fail, fail, fail
  const p = scriptedProbe([pass, fail, pass, fail, fail, fail]);
  scheduler.schedule(
    { checkId: "flap", kind: "http", intervalMs: 10_000, timeoutMs: 1_000, thresholds: { successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 3 }, probe: p.probe },
    sink,
  );
  const statuses: string[] = [];
  for (let i = 0; i < 6; i++) {
    clock.advance(10_100);
    await flush();
    statuses.push(sink.last()?.status ?? "none");
  }
  assert.equal(p.runs(), 6);
  assert.deepEqual(statuses, ["passing", "passing", "passing", "passing", "passing", "critical"]);
});

test("scheduler - SuccessBeforePassing delays recovery by the given number of runs", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  const p = scriptedProbe([fail, pass, pass, pass]);
  scheduler.schedule(
    { checkId: "rec", kind: "tcp", intervalMs: 5_000, timeoutMs: 1_000, thresholds: { successBeforePassing: 3, failuresBeforeWarning: 0, failuresBeforeCritical: 0 }, probe: p.probe },
    sink,
  );
  const statuses: string[] = [];
  for (let i = 0; i < 4; i++) {
    clock.advance(5_100);
    await flush();
    statuses.push(sink.last()?.status ?? "none");
  }
  assert.deepEqual(statuses, ["critical", "critical", "critical", "passing"]);
});

test("scheduler - a stopped check never runs or reports again", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  const p = scriptedProbe([pass]);
  const handle = scheduler.schedule({ checkId: "c", kind: "udp", intervalMs: 1_000, timeoutMs: 500, thresholds: noThresholds, probe: p.probe }, sink);
  clock.advance(1_100);
  await flush();
  handle.stop();
  handle.stop();
  clock.advance(10_000);
  await flush();
  assert.equal(p.runs(), 1);
  assert.equal(scheduler.scheduledChecks, 0);
});

test("scheduler - results bypassing thresholds are reported at once", async () => {
  const { clock, scheduler } = schedulerRig();
  const sink = recordingSink();
  const p = scriptedProbe([pass, { status: "critical", output: "Timed out (1s) running check", bypassThresholds: true }]);
  scheduler.schedule(
    { checkId: "s", kind: "script", intervalMs: 1_000, timeoutMs: 1_000, thresholds: { successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 5 }, probe: p.probe },
    sink,
  );
  clock.advance(1_100);
  await flush();
  clock.advance(1_100);
  await flush();
  assert.equal(sink.last()?.status, "critical");
});
