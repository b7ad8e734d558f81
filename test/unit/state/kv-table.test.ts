import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { StateStore } from "../../../src/state/store.ts";
import { WatchSet } from "../../../src/state/watch.ts";

function setup() {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let index = 0;
  const apply = (cmd: Command) => fsm.apply(++index, cmd);
  const put = (Key: string, value: string, extra: Partial<Extract<Command, { Type: "kv-set" }>> = {}) =>
    apply({ Type: "kv-set", Op: "set", Key, Value: Buffer.from(value), Flags: 0n, NowMs: 0, ...extra });
  return { state, apply, put };
}

test("kv - separator rolls keys up at the first separator after the prefix (kv.md §3)", () => {
  const { state, put } = setup();
  for (const k of ["web/bar", "web/foo", "web/sub/a", "web/sub/b", "other"]) put(k, "x");
  assert.deepEqual(state.kv.keys("web/", "/"), ["web/bar", "web/foo", "web/sub/"]);
  assert.deepEqual(state.kv.keys("", "/"), ["other", "web/"]);
  assert.deepEqual(state.kv.keys("web/", ""), ["web/bar", "web/foo", "web/sub/a", "web/sub/b"]);
});

test("kv - an identical write does not move ModifyIndex", () => {
  const { state, put } = setup();
  put("a", "1");
  put("a", "1");
  assert.equal(state.kv.get("a")?.ModifyIndex, 1);
  put("a", "2");
  assert.equal(state.kv.get("a")?.ModifyIndex, 3);
  assert.equal(state.kv.get("a")?.CreateIndex, 1);
});

test("kv - cas=0 creates only if absent; cas=N needs a matching ModifyIndex", () => {
  const { state, put } = setup();
  assert.deepEqual(put("a", "1", { Op: "cas", CasIndex: 0 }), { ok: true, value: true });
  assert.deepEqual(put("a", "2", { Op: "cas", CasIndex: 0 }), { ok: true, value: false });
  assert.deepEqual(put("a", "3", { Op: "cas", CasIndex: 99 }), { ok: true, value: false });
  assert.deepEqual(put("a", "4", { Op: "cas", CasIndex: 1 }), { ok: true, value: true });
  assert.equal(state.kv.get("a")?.Value.toString(), "4");
});

test("kv - a deletion leaves a tombstone so the prefix index never goes backwards", () => {
  const { state, put, apply } = setup();
  put("p/a", "1");
  put("p/b", "2");
  assert.equal(state.kv.prefixIndex("p/"), 2);
  apply({ Type: "kv-delete", Op: "delete", Key: "p/b" });
  assert.equal(state.kv.prefixIndex("p/"), 3);
  apply({ Type: "kv-delete", Op: "delete-tree", Key: "p/" });
  assert.equal(state.kv.list("p/").length, 0);
  assert.equal(state.kv.prefixIndex("p/"), 4);
});

test("kv - delete with cas on a missing key returns true (kv.md §5)", () => {
  const { put, apply } = setup();
  assert.deepEqual(apply({ Type: "kv-delete", Op: "delete-cas", Key: "nope", CasIndex: 5 }), { ok: true, value: true });
  put("a", "1");
  assert.deepEqual(apply({ Type: "kv-delete", Op: "delete-cas", Key: "a", CasIndex: 0 }), { ok: true, value: false });
  assert.deepEqual(apply({ Type: "kv-delete", Op: "delete-cas", Key: "a", CasIndex: 1 }), { ok: true, value: false });
  // the put above was the second applied command
  assert.deepEqual(apply({ Type: "kv-delete", Op: "delete-cas", Key: "a", CasIndex: 2 }), { ok: true, value: true });
});

test("kv - acquire with an unknown session fails like Consul", () => {
  const { put } = setup();
  assert.deepEqual(put("a", "1", { Op: "lock", Session: "nope" }), { ok: false, error: 'invalid session "nope"' });
});

test("kv - a write wakes watchers of the key and of the table", () => {
  const { state, put } = setup();
  const ws = new WatchSet();
  state.kv.get("a", ws);
  let woke = 0;
  state.hub.subscribe(ws.topics, () => woke++);
  put("b", "1");
  assert.equal(woke, 0);
  put("a", "1");
  assert.equal(woke, 1);
});
