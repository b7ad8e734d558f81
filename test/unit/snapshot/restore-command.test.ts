import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { BlockingEngine } from "../../../src/http/blocking.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { TimerWheel } from "../../../src/runtime/timer-wheel.ts";
import { prepareRestore, serializeState } from "../../../src/state/snapshot.ts";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { StateStore } from "../../../src/state/store.ts";

function machine() {
  const fsm = new StateMachine(new StateStore());
  let index = 0;
  const apply = (cmd: Command) => fsm.apply(++index, cmd);
  const set = (key: string, value: string) => apply({ Type: "kv-set", Op: "set", Key: key, Value: Buffer.from(value), Flags: 0n, NowMs: 1 });
  return { fsm, state: fsm.state, apply, set, index: () => index };
}

test("snapshot-restore command - brings back the saved state and keeps the rows' saved indexes", () => {
  const m = machine();
  m.set("a", "old");
  m.set("b", "kept");
  const saved = Buffer.from(serializeState(m.state));
  const savedIndex = m.state.kv.get("a")?.ModifyIndex;
  m.set("a", "new");
  m.set("c", "added later");
  const result = m.apply({ Type: "snapshot-restore", Data: saved });
  assert.deepEqual(result, { ok: true, value: true });
  assert.equal(m.state.kv.get("a")?.Value.toString(), "old");
  assert.equal(m.state.kv.get("a")?.ModifyIndex, savedIndex);
  assert.equal(m.state.kv.get("c"), undefined);
  assert.equal(m.state.lastIndex, m.index());
});

test("snapshot-restore command - raises every table index to the restore's index", () => {
  const m = machine();
  m.apply({ Type: "catalog-register", Node: { ID: "", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} }, SkipNodeUpdate: false, Checks: [] });
  m.set("a", "1");
  const saved = Buffer.from(serializeState(m.state));
  m.set("b", "2");
  m.apply({ Type: "snapshot-restore", Data: saved });
  const at = m.index();
  assert.equal(m.state.kv.tableIndex, at);
  assert.equal(m.state.kv.prefixIndex(""), at);
  assert.equal(m.state.catalog.nodesIndex, at);
  assert.equal(m.state.catalog.servicesIndex, at);
  assert.equal(m.state.catalog.checksIndex, at);
  assert.equal(m.state.sessions.tableIndex, at);
  assert.equal(m.state.coordinates.tableIndex, at);
});

test("snapshot-restore command - an unreadable state fails without touching the store", () => {
  const m = machine();
  m.set("a", "1");
  const result = m.apply({ Type: "snapshot-restore", Data: Buffer.from("garbage") });
  assert.equal(result.ok, false);
  assert.equal(m.state.kv.get("a")?.Value.toString(), "1");
});

test("snapshot-restore command - wakes a blocking list query waiting past the saved index", async () => {
  const m = machine();
  const wheel = new TimerWheel(systemClock, { tickMs: 10 });
  const engine = new BlockingEngine({ hub: m.state.hub, wheel, rng: seededRng(1) }, { maxWaiters: 100 });
  try {
    m.set("a", "old");
    const saved = Buffer.from(serializeState(m.state));
    m.set("a", "new");
    const minIndex = m.state.kv.prefixIndex("");
    const started = Date.now();
    const pending = engine.run("list", minIndex, 30_000, (ws) => ({ index: m.state.kv.prefixIndex(""), value: m.state.kv.list("", ws).map((e) => e.Value.toString()) }));
    m.apply({ Type: "snapshot-restore", Data: saved });
    const answer = await pending;
    // Woke at the restore, well before the 30 s wait ends (5 s was a budget a busy CI machine can overrun).
    assert.ok(Date.now() - started < 20_000);
    assert.ok(answer.index > minIndex);
    assert.deepEqual(answer.value, ["old"]);
  } finally {
    wheel.stop();
  }
});

test("snapshot-restore command - preparation takes the restore handler's read-ahead only for the very same bytes, once", () => {
  const m = machine();
  m.set("a", "saved");
  const saved = Buffer.from(serializeState(m.state));
  m.set("a", "later");
  const readAhead = runWhole(prepareRestore(saved));
  const withdraw = m.fsm.restoreReadAhead.offer(saved, readAhead);
  const changed = Buffer.from(saved);
  changed[changed.length - 1] ^= 1;
  assert.equal(runWhole(m.fsm.restoreReadAhead.take(changed)), undefined);
  assert.equal(runWhole(m.fsm.restoreReadAhead.take(saved.subarray(1))), undefined);
  // The entry's copy of the bytes, not the offered buffer itself.
  const cmd: Command = { Type: "snapshot-restore", Data: Buffer.from(saved) };
  const prepared = runWhole(m.fsm.prepare(m.index() + 1, cmd));
  assert.equal(prepared?.snapshot, readAhead);
  assert.equal(m.fsm.restoreReadAhead.size, 0);
  withdraw();
  assert.deepEqual(m.fsm.apply(m.index() + 1, cmd, prepared), { ok: true, value: true });
  assert.equal(m.state.kv.get("a")?.Value.toString(), "saved");
  // Withdrawn offers are never taken.
  m.fsm.restoreReadAhead.offer(saved, runWhole(prepareRestore(saved)))();
  assert.notEqual(runWhole(m.fsm.prepare(m.index() + 2, cmd))?.snapshot, readAhead);
});
