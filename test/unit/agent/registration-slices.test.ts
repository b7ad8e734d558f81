import { test } from "node:test";
import assert from "node:assert/strict";
import { REGISTRATION_CHECKS_PER_STEP, STOP_RUNNERS_PER_STEP } from "../../../src/agent/agent.ts";
import { LocalState } from "../../../src/agent/local-state.ts";
import { refuseUnknownKeysSteps, SERVICE_REGISTRATION_SHAPE } from "../../../src/agent/registration-keys.ts";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { serviceChecksToSync, SYNC_CHECKS_PER_STEP } from "../../../src/agent/catalog-sync.ts";
import type { CheckFields } from "../../../src/fsm/command.ts";
import { check, service, startHarness } from "./agent-harness.ts";

// Issue 12 item 6: a registration near the body cap carries ~5,000 checks. Their rows are
// built aside in steps, filed with the service in one step (Consul registers under one lock:
// a reader sees all or none), and their runners start in steps after that. The harness runs
// with a slice budget of 0, so every step is followed by a turn of the event loop: what the
// tests count is steps and what a reader sees between them, never time.

const CHECKS = 1_000;

function manyChecks(n: number): Record<string, unknown> {
  return { Name: "big", Port: 80, Checks: Array.from({ length: n }, (_, i) => ({ CheckID: `c-${i}`, Name: `c ${i}`, TTL: "600s" })) };
}

/** Polls `observe` once per turn of the event loop until `done` settles; returns what it saw. */
async function observeTurns<T>(done: Promise<unknown>, observe: () => T): Promise<T[]> {
  const seen: T[] = [];
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    seen.push(observe());
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await done;
  return seen;
}

test("registration slices - 1,000 checks are built in steps with nothing visible, then appear with their service at once", async () => {
  const h = await startHarness({ registrationSliceMs: 0 });
  const registering = h.agent.addService(service(manyChecks(CHECKS)), { replaceExistingChecks: false, source: "api" });
  const seen = await observeTurns(registering, () => ({ service: h.agent.localState.service("big") !== undefined, checks: h.agent.localState.checksForService("big", false).length }));
  for (const s of seen) assert.ok((!s.service && s.checks === 0) || (s.service && s.checks === CHECKS), `a reader saw the service ${s.service ? "with" : "without"} ${s.checks} checks`);
  // Built aside: the reader got a turn after every step of the build but the last.
  const turnsBeforeCommit = seen.filter((s) => !s.service).length;
  assert.ok(turnsBeforeCommit >= Math.ceil(CHECKS / REGISTRATION_CHECKS_PER_STEP) - 1, `only ${turnsBeforeCommit} turns before the commit`);
  assert.equal(h.agent.localChecks().filter((c) => c.ServiceID === "big").length, CHECKS);
  await h.agent.stop();
});

test("registration slices - a TTL update for a check whose runner has not started yet starts it and applies", async () => {
  const h = await startHarness({ registrationSliceMs: 0 });
  const registering = h.agent.addService(service(manyChecks(CHECKS)), { replaceExistingChecks: false, source: "api" });
  while (h.agent.localState.service("big") === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  // The commit turn has passed; the last check's runner starts in the last step, still to come.
  await h.agent.updateTtlCheck(`c-${CHECKS - 1}`, "passing", "early");
  await registering;
  assert.equal(h.agent.localState.check(`c-${CHECKS - 1}`)?.Status, "passing");
  assert.equal(h.agent.localState.check(`c-${CHECKS - 1}`)?.Output, "early");
  await h.agent.updateTtlCheck(`c-${CHECKS - 1}`, "warning", "later");
  assert.equal(h.agent.localState.check(`c-${CHECKS - 1}`)?.Status, "warning");
  await h.agent.stop();
});

test("registration slices - re-registering with replace-existing-checks drops the unmentioned checks and keeps the status of the kept ones", async () => {
  const h = await startHarness({ registrationSliceMs: 0 });
  await h.agent.addService(service(manyChecks(300)), { replaceExistingChecks: false, source: "api" });
  await h.agent.updateTtlCheck("c-5", "passing", "fine");
  await h.agent.addService(service(manyChecks(100)), { replaceExistingChecks: true, source: "api" });
  const ids = h.agent.localState.checksForService("big", false).map((c) => c.CheckID);
  assert.equal(ids.length, 100);
  assert.equal(h.agent.localState.check("c-150"), undefined);
  assert.equal(h.agent.localState.check("c-5")?.Status, "passing");
  await assert.rejects(h.agent.updateTtlCheck("c-150", "passing", ""), /c-150/);
  await h.agent.stop();
});

test("registration slices - LocalState files a service and its checks in one change, dropping the replaced ones", () => {
  const local = new LocalState("node-a");
  let changes = 0;
  local.onChange(() => changes++);
  const svc = { ID: "web", Service: "web", Tags: ["a"] } as unknown as Parameters<LocalState["putServiceWithChecks"]>[0];
  const definition = check({ CheckID: "x", Name: "x", TTL: "10s" });
  local.setCheck({ CheckID: "old", ServiceID: "web", Status: "passing" } as unknown as CheckFields, definition, { token: "", source: "api" });
  changes = 0;
  const rows = Array.from({ length: 500 }, (_, i) => ({ row: { CheckID: `k-${i}`, ServiceID: "web", ServiceName: "web", ServiceTags: ["a"], Status: "critical" } as unknown as CheckFields, definition }));
  local.putServiceWithChecks(svc, rows, ["old"], { token: "t", source: "api" });
  assert.equal(changes, 1);
  assert.equal(local.checksForService("web", false).length, 500);
  assert.equal(local.check("old"), undefined);
  assert.equal(local.checkEntryForSync("old")?.deleted, true);
});

test("registration slices - the unknown-key refusal pauses between checks and still names the first unknown key in document order", () => {
  const body = manyChecks(500);
  const work = refuseUnknownKeysSteps(body, SERVICE_REGISTRATION_SHAPE);
  let steps = 0;
  while (work.next().done !== true) steps++;
  assert.ok(steps >= 500, `${steps} steps`);
  const bad: Record<string, unknown> = { ...manyChecks(500), Zzz: 1 };
  (bad.Checks as Record<string, unknown>[])[300]!.Bogus = true;
  assert.throws(() => runWhole(refuseUnknownKeysSteps(bad, SERVICE_REGISTRATION_SHAPE)), /unknown field "Bogus"/);
});

test("registration slices - the catalog sync gathers a service's 1,000 checks in steps, with the revision each was read at", async () => {
  const h = await startHarness();
  await h.agent.addService(service(manyChecks(CHECKS)), { replaceExistingChecks: false, source: "api" });
  const work = serviceChecksToSync(h.agent.localState, "big", "", () => "");
  let steps = 0;
  let step = work.next();
  while (step.done !== true) {
    steps++;
    step = work.next();
  }
  assert.ok(steps >= Math.floor((CHECKS + 1) / SYNC_CHECKS_PER_STEP), `${steps} steps`);
  assert.equal(step.value.rows.length, CHECKS);
  assert.equal(step.value.rows[0]!.ServiceName, "big");
  assert.equal(step.value.checks[0]!.revision, h.agent.localState.checkEntryForSync(step.value.checks[0]!.id)!.revision);
  await h.agent.stop();
});

test("stop slices - 1,000 TTL runners are stopped in steps of STOP_RUNNERS_PER_STEP, and every one is stopped", async () => {
  const h = await startHarness({ registrationSliceMs: 0 });
  await h.agent.addService(service(manyChecks(CHECKS)), { replaceExistingChecks: false, source: "api" });
  const armed = h.clock.pendingTimers();
  assert.ok(armed >= CHECKS, `${armed} timers armed`);
  const seen = await observeTurns(h.agent.stop(), () => h.clock.pendingTimers());
  // A reader got a turn between the steps: it saw some runners stopped and others not yet.
  const between = seen.filter((n) => n < armed && n > armed - CHECKS);
  assert.ok(between.length >= Math.ceil(CHECKS / STOP_RUNNERS_PER_STEP) - 1, `timers seen per turn: ${seen.join(",")}`);
  assert.ok(h.clock.pendingTimers() <= armed - CHECKS, `${h.clock.pendingTimers()} timers left of ${armed}`);
  h.clock.advance(3_600_000);
  assert.equal(h.agent.localState.check("c-0")?.Status, "critical");
  assert.equal(h.agent.localState.check("c-0")?.Output, "");
});
