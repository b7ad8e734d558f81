import { test } from "node:test";
import assert from "node:assert/strict";
import { StatusThresholds } from "../../../src/checks/status-thresholds.ts";

const pass = { status: "passing" as const, output: "ok" };
const fail = { status: "critical" as const, output: "down" };

test("thresholds - without thresholds every result is reported", () => {
  const t = new StatusThresholds({ successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 0 });
  assert.deepEqual(t.next(pass), pass);
  assert.deepEqual(t.next(fail), fail);
  assert.deepEqual(t.next(pass), pass);
});

test("thresholds - the first result after registration is reported at once", () => {
  const t = new StatusThresholds({ successBeforePassing: 3, failuresBeforeWarning: 0, failuresBeforeCritical: 3 });
  assert.deepEqual(t.next(pass), pass);
});

test("thresholds - FailuresBeforeCritical holds failures back until the run is long enough", () => {
  const t = new StatusThresholds({ successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 3 });
  assert.deepEqual(t.next(pass), pass);
  assert.equal(t.next(fail), undefined);
  assert.equal(t.next(fail), undefined);
  assert.deepEqual(t.next(fail), fail);
});

test("thresholds - FailuresBeforeWarning reports warning before critical", () => {
  const t = new StatusThresholds({ successBeforePassing: 0, failuresBeforeWarning: 1, failuresBeforeCritical: 3 });
  t.next(pass);
  assert.deepEqual(t.next(fail), { status: "warning", output: "down" });
  assert.deepEqual(t.next(fail), { status: "warning", output: "down" });
  assert.deepEqual(t.next(fail), fail);
});

test("thresholds - SuccessBeforePassing needs consecutive successes; a failure resets the count", () => {
  const t = new StatusThresholds({ successBeforePassing: 2, failuresBeforeWarning: 0, failuresBeforeCritical: 0 });
  assert.deepEqual(t.next(fail), fail);
  assert.equal(t.next(pass), undefined);
  assert.deepEqual(t.next(fail), fail);
  assert.equal(t.next(pass), undefined);
  assert.deepEqual(t.next(pass), pass);
});

test("thresholds - a warning result counts as a success", () => {
  const t = new StatusThresholds({ successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 2 });
  t.next(pass);
  assert.equal(t.next(fail), undefined);
  assert.deepEqual(t.next({ status: "warning", output: "slow" }), { status: "warning", output: "slow" });
  assert.equal(t.next(fail), undefined, "the warning reset the failure run");
});
