import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";
import { WatchSet } from "../../../src/state/watch.ts";
import { FsmHarness } from "../session/fixtures.ts";

function populated(): FsmHarness {
  const h = new FsmHarness();
  h.registerNode("n1", [{ CheckID: "serfHealth", Status: "passing" }], 0, { ID: "web-1", Service: "Web" });
  h.registerNode("n2");
  h.apply({ Type: "kv-set", Op: "set", Key: "a/1", Value: Buffer.from([0, 1, 255]), Flags: 18446744073709551615n, NowMs: 1 });
  h.apply({ Type: "kv-set", Op: "set", Key: "a/2", Value: Buffer.alloc(0), Flags: 0n, NowMs: 1 });
  h.apply({ Type: "kv-set", Op: "set", Key: "a/gone", Value: Buffer.from("x"), Flags: 7n, NowMs: 1 });
  h.apply({ Type: "kv-delete", Op: "delete", Key: "a/gone" });
  h.createSession("11111111-0000-0000-0000-000000000001");
  h.apply({ Type: "kv-set", Op: "lock", Key: "locked", Value: Buffer.from("v"), Flags: 1n, Session: "11111111-0000-0000-0000-000000000001", NowMs: 1_000 });
  // Destroying the session releases the lock and starts a lock-delay on the key.
  h.apply({ Type: "session-destroy", ID: "11111111-0000-0000-0000-000000000001", NowMs: 2_000 });
  h.createSession("11111111-0000-0000-0000-000000000002", { Node: "n2", TTL: "10s" });
  h.apply({ Type: "coordinate-update", Coordinates: [{ Node: "n1", Segment: "", Coord: { Vec: [0.1, 0.2], Error: 1.5, Adjustment: 0, Height: 1e-5 } }] });
  h.apply({ Type: "catalog-deregister", Node: "n1", ServiceID: "web-1", NowMs: 3_000 });
  return h;
}

test("snapshot - serialize then restore reproduces every table, index, tombstone and lock-delay exactly", () => {
  const h = populated();
  const bytes = serializeState(h.state);
  const copy = new StateStore();
  restoreState(copy, bytes);
  assert.deepEqual(Buffer.from(serializeState(copy)), Buffer.from(bytes));

  assert.equal(copy.lastIndex, h.state.lastIndex);
  const entry = copy.kv.get("a/1");
  assert.ok(entry);
  assert.equal(entry.Flags, 18446744073709551615n);
  assert.ok(Buffer.isBuffer(entry.Value));
  assert.deepEqual([...entry.Value], [0, 1, 255]);
  assert.deepEqual(copy.kv.keys("a/", ""), ["a/1", "a/2"]);
  assert.equal(copy.kv.prefixIndex("a/gone"), h.state.kv.prefixIndex("a/gone"));
  assert.equal(copy.kv.tableIndex, h.state.kv.tableIndex);
  assert.equal(copy.kv.get("locked")?.Session ?? "", "");
  assert.equal(copy.sessions.lockDelayUntil("locked"), h.state.sessions.lockDelayUntil("locked"));
  assert.ok(copy.sessions.lockDelayUntil("locked") > 2_000);
  assert.deepEqual(copy.sessions.listByNode("N2"), h.state.sessions.listByNode("n2"));
  assert.deepEqual(copy.catalog.listNodes(), h.state.catalog.listNodes());
  assert.deepEqual(copy.catalog.nodeChecks("n1"), h.state.catalog.nodeChecks("n1"));
  assert.equal(copy.catalog.serviceNameIndex("web"), h.state.catalog.serviceNameIndex("web"));
  assert.equal(copy.catalog.catalogIndex, h.state.catalog.catalogIndex);
  assert.deepEqual(copy.coordinates.list(), h.state.coordinates.list());
});

test("snapshot - a restored store keeps applying commands where the original left off", () => {
  const h = populated();
  const copy = new StateStore();
  restoreState(copy, serializeState(h.state));
  const fsm = new StateMachine(copy);
  const next = h.state.lastIndex + 1;
  h.fsm.apply(next, { Type: "kv-set", Op: "cas", Key: "a/1", Value: Buffer.from("new"), Flags: 2n, CasIndex: h.state.kv.get("a/1")!.ModifyIndex, NowMs: 5 });
  fsm.apply(next, { Type: "kv-set", Op: "cas", Key: "a/1", Value: Buffer.from("new"), Flags: 2n, CasIndex: copy.kv.get("a/1")!.ModifyIndex, NowMs: 5 });
  assert.deepEqual(Buffer.from(serializeState(copy)), Buffer.from(serializeState(h.state)));
});

test("snapshot - restore wakes every blocking query", () => {
  const h = populated();
  const target = new StateStore();
  const ws = new WatchSet();
  target.kv.get("unrelated", ws);
  target.catalog.listNodes(ws);
  let woken = 0;
  target.hub.subscribe(ws.topics, () => woken++);
  restoreState(target, serializeState(h.state));
  assert.ok(woken >= 1);
  assert.equal(target.hub.topicCount, 0);
});

test("snapshot - a document of another version is refused and the store is left alone", () => {
  const h = populated();
  const before = serializeState(h.state);
  assert.throws(() => restoreState(h.state, new Uint8Array([0x81, 0xa7, 0x56, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x63])), /unsupported version/);
  assert.deepEqual(Buffer.from(serializeState(h.state)), Buffer.from(before));
});
