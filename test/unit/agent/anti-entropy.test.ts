import { test } from "node:test";
import assert from "node:assert/strict";
import {
  antiEntropyNext,
  type AntiEntropyEvent,
  type AntiEntropySettings,
  type AntiEntropyState,
} from "../../../src/agent/anti-entropy.ts";

// The pure anti-entropy machine (agent/ae in Consul): events in, next state and effects out.

const settings: AntiEntropySettings = { fullSyncIntervalMs: 60_000, retryIntervalMs: 15_000 };

function run(events: AntiEntropyEvent[], from: AntiEntropyState = { name: "idle" }) {
  let state = from;
  const effects = [];
  for (const e of events) {
    const t = antiEntropyNext(state, e, settings);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}

test("anti-entropy - starting runs a full sync first", () => {
  const { state, effects } = run([{ type: "start" }]);
  assert.equal(state.name, "syncing");
  assert.deepEqual(effects, [{ type: "run-sync", kind: "full" }]);
});

test("anti-entropy - events before start are ignored", () => {
  const { state, effects } = run([{ type: "local-change" }, { type: "full-sync-due" }]);
  assert.deepEqual(state, { name: "idle" });
  assert.deepEqual(effects, []);
});

test("anti-entropy - a successful full sync arms the periodic full sync with up to one interval of stagger", () => {
  const { state, effects } = run([{ type: "start" }, { type: "sync-finished", ok: true }]);
  assert.deepEqual(state, { name: "waiting" });
  assert.deepEqual(effects.slice(1), [
    { type: "cancel-retry-timer" },
    { type: "arm-full-sync-timer", baseMs: 60_000, staggerMs: 60_000 },
  ]);
});

test("anti-entropy - a local change while waiting syncs the changes at once", () => {
  const { state, effects } = run([{ type: "local-change" }], { name: "waiting" });
  assert.equal(state.name, "syncing");
  assert.deepEqual(effects, [{ type: "run-sync", kind: "changes" }]);
});

test("anti-entropy - changes arriving during a sync are queued and run once after it", () => {
  const { state, effects } = run(
    [{ type: "local-change" }, { type: "local-change" }, { type: "local-change" }, { type: "sync-finished", ok: true }],
    { name: "waiting" },
  );
  assert.deepEqual(
    effects.filter((e) => e.type === "run-sync"),
    [
      { type: "run-sync", kind: "changes" },
      { type: "run-sync", kind: "changes" },
    ],
  );
  assert.deepEqual(state, { name: "syncing", run: "changes", changesQueued: false, fullQueued: false });
});

test("anti-entropy - a full sync requested during a changes sync runs after it", () => {
  const { effects } = run([{ type: "local-change" }, { type: "full-sync-requested" }, { type: "sync-finished", ok: true }], { name: "waiting" });
  assert.deepEqual(effects.at(-1), { type: "run-sync", kind: "full" });
});

test("anti-entropy - the periodic timer starts a full sync", () => {
  const { effects } = run([{ type: "full-sync-due" }], { name: "waiting" });
  assert.deepEqual(effects, [{ type: "run-sync", kind: "full" }]);
});

test("anti-entropy - a failed sync arms the retry timer and does not repeat the full sync at once", () => {
  const { state, effects } = run([{ type: "start" }, { type: "full-sync-requested" }, { type: "sync-finished", ok: false }]);
  assert.deepEqual(effects.slice(1, 2), [{ type: "arm-retry-timer", baseMs: 15_000, staggerMs: 15_000 }]);
  // The queued request still pushes pending changes, but the full re-read waits for the retry.
  assert.deepEqual(effects.at(-1), { type: "run-sync", kind: "changes" });
  assert.equal(state.name, "syncing");
});

test("anti-entropy - stop cancels the timers and later events do nothing", () => {
  const { state, effects } = run([{ type: "start" }, { type: "stop" }, { type: "sync-finished", ok: true }, { type: "local-change" }]);
  assert.deepEqual(state, { name: "stopped" });
  assert.deepEqual(effects, [{ type: "run-sync", kind: "full" }, { type: "cancel-timers" }]);
});
