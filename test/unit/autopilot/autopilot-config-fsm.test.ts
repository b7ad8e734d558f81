import { test } from "node:test";
import assert from "node:assert/strict";
import { Packr } from "msgpackr";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { AutopilotSetConfigCommand } from "../../../src/fsm/command.ts";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfigFields } from "../../../src/model/autopilot.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";
import { Topics, WatchSet } from "../../../src/state/watch.ts";

function setConfig(fsm: StateMachine, index: number, Op: AutopilotSetConfigCommand["Op"], Config: AutopilotConfigFields, CasIndex?: number): unknown {
  const result = fsm.apply(index, { Type: "autopilot-set-config", Op, Config, CasIndex });
  assert.ok(result.ok);
  return result.value;
}

test("autopilot config - seed writes only when none is stored; set keeps CreateIndex and moves ModifyIndex", () => {
  const fsm = new StateMachine(new StateStore());
  assert.equal(fsm.state.autopilot.get(), undefined);
  assert.equal(setConfig(fsm, 3, "seed", { ...DEFAULT_AUTOPILOT_CONFIG, MaxTrailingLogs: 7 }), true);
  assert.deepEqual(fsm.state.autopilot.get(), { ...DEFAULT_AUTOPILOT_CONFIG, MaxTrailingLogs: 7, CreateIndex: 3, ModifyIndex: 3 });
  assert.equal(setConfig(fsm, 4, "seed", DEFAULT_AUTOPILOT_CONFIG), false);
  assert.equal(fsm.state.autopilot.get()?.MaxTrailingLogs, 7);
  assert.equal(setConfig(fsm, 5, "set", { ...DEFAULT_AUTOPILOT_CONFIG, MinQuorum: 3 }), true);
  const row = fsm.state.autopilot.get();
  assert.equal(row?.MinQuorum, 3);
  assert.equal(row?.MaxTrailingLogs, 250);
  assert.equal(row?.CreateIndex, 3);
  assert.equal(row?.ModifyIndex, 5);
  assert.equal(fsm.state.autopilot.tableIndex, 5);
});

test("autopilot config - cas writes only on the stored ModifyIndex (never when none is stored)", () => {
  const fsm = new StateMachine(new StateStore());
  assert.equal(setConfig(fsm, 1, "cas", DEFAULT_AUTOPILOT_CONFIG, 0), false);
  assert.equal(fsm.state.autopilot.get(), undefined);
  setConfig(fsm, 2, "set", DEFAULT_AUTOPILOT_CONFIG);
  assert.equal(setConfig(fsm, 3, "cas", { ...DEFAULT_AUTOPILOT_CONFIG, CleanupDeadServers: false }, 1), false);
  assert.equal(fsm.state.autopilot.get()?.CleanupDeadServers, true);
  assert.equal(setConfig(fsm, 4, "cas", { ...DEFAULT_AUTOPILOT_CONFIG, CleanupDeadServers: false }, 2), true);
  assert.equal(fsm.state.autopilot.get()?.CleanupDeadServers, false);
  assert.equal(fsm.state.autopilot.get()?.ModifyIndex, 4);
});

test("autopilot config - a write wakes watchers of the autopilot topic", () => {
  const fsm = new StateMachine(new StateStore());
  const ws = new WatchSet();
  fsm.state.autopilot.get(ws);
  assert.ok([...ws.topics].includes(Topics.autopilot));
  let woke = false;
  fsm.state.hub.subscribe([Topics.autopilot], () => (woke = true));
  setConfig(fsm, 1, "set", DEFAULT_AUTOPILOT_CONFIG);
  assert.equal(woke, true);
});

test("autopilot config - survives a snapshot round trip with its indexes", () => {
  const fsm = new StateMachine(new StateStore());
  setConfig(fsm, 4, "seed", DEFAULT_AUTOPILOT_CONFIG);
  setConfig(fsm, 9, "set", { ...DEFAULT_AUTOPILOT_CONFIG, ServerStabilizationTimeMs: 30_000, UpgradeVersionTag: "build" });
  const copy = new StateStore();
  restoreState(copy, serializeState(fsm.state));
  assert.deepEqual(copy.autopilot.get(), fsm.state.autopilot.get());
  assert.equal(copy.autopilot.get()?.CreateIndex, 4);
  assert.equal(copy.autopilot.tableIndex, 9);
  // Restoring over a store drops what it held.
  const empty = new StateStore();
  restoreState(fsm.state, serializeState(empty));
  assert.equal(fsm.state.autopilot.get(), undefined);
});

test("autopilot config - a snapshot from before autopilot was Raft state restores as not seeded", () => {
  const fsm = new StateMachine(new StateStore());
  setConfig(fsm, 1, "set", DEFAULT_AUTOPILOT_CONFIG);
  const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
  const doc = packr.unpack(serializeState(new StateStore())) as Record<string, unknown>;
  delete doc.Autopilot;
  restoreState(fsm.state, packr.pack(doc));
  assert.equal(fsm.state.autopilot.get(), undefined);
});

test("autopilot config - an operator snapshot restore brings back the saved configuration", () => {
  const source = new StateMachine(new StateStore());
  setConfig(source, 2, "set", { ...DEFAULT_AUTOPILOT_CONFIG, MinQuorum: 5 });
  const target = new StateMachine(new StateStore());
  setConfig(target, 1, "set", DEFAULT_AUTOPILOT_CONFIG);
  const result = target.apply(20, { Type: "snapshot-restore", Data: Buffer.from(serializeState(source.state)) });
  assert.ok(result.ok);
  assert.equal(target.state.autopilot.get()?.MinQuorum, 5);
  assert.equal(target.state.autopilot.get()?.ModifyIndex, 2);
  assert.equal(target.state.autopilot.tableIndex, 20);
});
