import { test } from "node:test";
import assert from "node:assert/strict";
import type { TxnOp } from "../../../src/fsm/command.ts";
import { isReadOnlyTxn, readTxn, type TxnOutcome } from "../../../src/fsm/txn.ts";
import { WatchSet } from "../../../src/state/watch.ts";
import { FsmHarness, S1, S2 } from "../session/fixtures.ts";

const NOW = 5_000_000;

const kv = (Verb: string, Key: string, extra: Partial<Extract<TxnOp, { Kind: "kv" }>> = {}): TxnOp => ({
  Kind: "kv",
  Verb,
  Key,
  Value: Buffer.alloc(0),
  Flags: 0n,
  Index: 0,
  Session: "",
  ...extra,
});

function run(h: FsmHarness, ops: TxnOp[], nowMs = NOW): TxnOutcome {
  const r = h.apply({ Type: "txn", Ops: ops, NowMs: nowMs });
  assert.ok(r.ok);
  return r.value as TxnOutcome;
}

function setup() {
  const h = new FsmHarness();
  h.registerNode("n1");
  h.createSession(S1);
  h.createSession(S2);
  return h;
}

test("txn - all writes land at one index; results follow operation order, deletes give none", () => {
  const h = setup();
  h.kv("set", "old", "x", undefined, NOW);
  const out = run(h, [
    kv("set", "a", { Value: Buffer.from("1"), Flags: 3304740253564472344n }),
    kv("delete", "old"),
    kv("get", "a"),
    kv("cas", "b", { Value: Buffer.from("2"), Index: 0 }),
  ]);
  assert.equal(out.Errors, null);
  const results = out.Results!.map((r) => ("KV" in r ? r.KV : undefined)!);
  assert.deepEqual(results.map((e) => e.Key), ["a", "a", "b"]);
  assert.equal(results[0].Value.length, 0, "write results carry no value");
  assert.equal(results[1].Value.toString(), "1", "get sees the earlier set");
  assert.equal(results[1].Flags, 3304740253564472344n);
  assert.equal(h.state.kv.get("a")!.ModifyIndex, h.index);
  assert.equal(h.state.kv.get("b")!.ModifyIndex, h.index);
  assert.equal(h.state.kv.get("old"), undefined);
});

test("txn - rollback leaves no trace: no rows, no index movement, no wake-ups", () => {
  const h = setup();
  h.kv("set", "keep", "v", undefined, NOW);
  const kvIndex = h.state.kv.tableIndex;
  const sessionsIndex = h.state.sessions.tableIndex;
  const catalogIndex = h.state.catalog.catalogIndex;
  const ws = new WatchSet();
  h.state.kv.list("", ws);
  h.state.sessions.list(ws);
  h.state.catalog.listNodes(ws);
  let woke = false;
  h.state.hub.subscribe(ws.topics, () => (woke = true));
  const out = run(h, [
    kv("set", "new", { Value: Buffer.from("x") }),
    kv("delete", "keep"),
    kv("lock", "l", { Session: S1 }),
    { Kind: "node", Verb: "set", Node: { ID: "", Node: "n9", Address: "1.2.3.4", Datacenter: "dc1", TaggedAddresses: null, Meta: null }, ModifyIndex: 0 },
    { Kind: "session", Verb: "delete", ID: S2 },
    kv("cas", "keep", { Index: 999 }),
  ]);
  assert.deepEqual(out, { Results: null, Errors: [{ OpIndex: 5, What: `failed to set key "keep", index is stale` }] });
  assert.equal(h.state.kv.get("new"), undefined);
  assert.ok(h.state.kv.get("keep"));
  assert.equal(h.state.kv.get("l"), undefined);
  assert.equal(h.state.catalog.getNode("n9"), undefined);
  assert.ok(h.state.sessions.get(S2));
  assert.equal(h.state.kv.tableIndex, kvIndex);
  assert.equal(h.state.sessions.tableIndex, sessionsIndex);
  assert.equal(h.state.catalog.catalogIndex, catalogIndex);
  assert.equal(woke, false);
});

test("txn - every failing operation is reported with its OpIndex", () => {
  const h = setup();
  h.kv("set", "k", "v", undefined, NOW);
  const idx = h.state.kv.get("k")!.ModifyIndex;
  const out = run(h, [
    kv("get", "missing"),
    kv("check-index", "k", { Index: idx + 1 }),
    kv("check-index", "k", { Index: idx }),
    kv("check-not-exists", "k"),
    kv("check-session", "k", { Session: S1 }),
    kv("lock", "x", { Session: "" }),
    kv("lock", "x", { Session: "nope" }),
    kv("unlock", "k", { Session: S1 }),
    kv("frobnicate", "k"),
    kv("set", ""),
    kv("delete-cas", "k", { Index: idx + 5 }),
  ]);
  assert.deepEqual(out.Errors, [
    { OpIndex: 0, What: `key "missing" doesn't exist` },
    { OpIndex: 1, What: `failed index check for key "k", current modify index ${idx} != ${idx + 1}` },
    { OpIndex: 3, What: `key "k" exists` },
    { OpIndex: 4, What: `failed session check for key "k", current session "" != "${S1}"` },
    { OpIndex: 5, What: "missing session" },
    { OpIndex: 6, What: `invalid session "nope"` },
    { OpIndex: 7, What: `failed to unlock key "k", lock isn't held, or is held by another session` },
    { OpIndex: 8, What: `unknown KV verb "frobnicate"` },
    { OpIndex: 9, What: "Must provide key" },
    { OpIndex: 10, What: `failed to delete key "k", index is stale` },
  ]);
});

test("txn - lock honours holders and lock-delay, unlock keeps LockIndex", () => {
  const h = setup();
  let out = run(h, [kv("lock", "l", { Session: S1, Value: Buffer.from("a") })]);
  assert.equal(out.Results![0] && "KV" in out.Results![0] ? out.Results![0].KV.LockIndex : -1, 1);
  out = run(h, [kv("lock", "l", { Session: S2 })]);
  assert.deepEqual(out.Errors, [{ OpIndex: 0, What: `failed to lock key "l", lock is already held` }]);
  h.apply({ Type: "session-destroy", ID: S1, NowMs: NOW });
  out = run(h, [kv("lock", "l", { Session: S2 })], NOW + 1000);
  assert.deepEqual(out.Errors, [{ OpIndex: 0, What: `failed to lock key "l" due to lock delay` }]);
  out = run(h, [kv("lock", "l", { Session: S2 }), kv("check-session", "l", { Session: S2 }), kv("unlock", "l", { Session: S2 })], NOW + 15_000);
  assert.equal(out.Errors, null);
  const entry = h.state.kv.get("l")!;
  assert.equal(entry.Session, "");
  assert.equal(entry.LockIndex, 2);
});

test("txn - get-tree and delete-tree see the transaction's own writes", () => {
  const h = setup();
  h.kv("set", "p/1", "a", undefined, NOW);
  const out = run(h, [kv("set", "p/2", { Value: Buffer.from("b") }), kv("get-tree", "p/"), kv("delete-tree", "p/"), kv("check-not-exists", "p/1")]);
  assert.equal(out.Errors, null);
  assert.deepEqual(out.Results!.slice(1).map((r) => ("KV" in r ? r.KV.Key : "")), ["p/1", "p/2"]);
  assert.equal(h.state.kv.list("p/").length, 0);
});

test("txn - catalog verbs: node/service/check set, get, cas, delete", () => {
  const h = setup();
  const node = { ID: "67539c9d-b948-ba67-edd4-d07a676d6673", Node: "bar", Address: "192.168.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: { a: "b" } };
  const service = { ID: "web1", Service: "web", Tags: ["x"], Address: "", Meta: null, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} };
  const chk = {
    Node: "bar", CheckID: "service:web1", Name: "web", Status: "passing" as const, Notes: "", Output: "", ServiceID: "web1",
    ServiceName: "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {},
  };
  let out = run(h, [
    { Kind: "node", Verb: "set", Node: node, ModifyIndex: 0 },
    { Kind: "service", Verb: "set", Node: "bar", Service: service, ModifyIndex: 0 },
    { Kind: "check", Verb: "set", Check: chk, ModifyIndex: 0 },
    { Kind: "check", Verb: "get", Check: chk, ModifyIndex: 0 },
  ]);
  assert.equal(out.Errors, null);
  const got = out.Results![3];
  assert.ok("Check" in got && got.Check.ServiceName === "web" && got.Check.ServiceTags[0] === "x");
  assert.equal(h.state.catalog.getService("bar", "web1")!.ModifyIndex, h.index);
  out = run(h, [{ Kind: "service", Verb: "cas", Node: "bar", Service: service, ModifyIndex: 1 }]);
  assert.deepEqual(out.Errors, [{ OpIndex: 0, What: `failed to set service "web1" on node "bar", index is stale` }]);
  out = run(h, [{ Kind: "node", Verb: "get", Node: { ...node, ID: "", Node: "nope" }, ModifyIndex: 0 }]);
  assert.deepEqual(out.Errors, [{ OpIndex: 0, What: `node "nope" doesn't exist` }]);
  out = run(h, [{ Kind: "service", Verb: "set", Node: "nope", Service: service, ModifyIndex: 0 }]);
  assert.deepEqual(out.Errors, [{ OpIndex: 0, What: "Missing node registration" }]);
  out = run(h, [{ Kind: "node", Verb: "delete", Node: node, ModifyIndex: 0 }, { Kind: "service", Verb: "get", Node: "bar", Service: service, ModifyIndex: 0 }]);
  assert.deepEqual(out.Errors, [{ OpIndex: 1, What: `service "web1" on node "bar" doesn't exist` }], "node delete removes its services in the same txn");
  run(h, [{ Kind: "node", Verb: "delete", Node: node, ModifyIndex: 0 }]);
  assert.equal(h.state.catalog.getNode("bar"), undefined);
  assert.equal(h.state.catalog.getCheck("bar", "service:web1"), undefined);
});

test("txn - a check set to critical in a txn invalidates sessions bound to it", () => {
  const h = setup();
  h.kv("lock", "l", "v", S1, NOW);
  const chk = {
    Node: "n1", CheckID: "serfHealth", Name: "serf", Status: "critical" as const, Notes: "", Output: "", ServiceID: "",
    ServiceName: "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {},
  };
  run(h, [{ Kind: "check", Verb: "set", Check: chk, ModifyIndex: 0 }]);
  assert.equal(h.state.sessions.get(S1), undefined);
  assert.equal(h.state.kv.get("l")!.Session, "");
});

test("txn - session delete verb invalidates with behavior and lock-delay", () => {
  const h = setup();
  h.kv("lock", "l", "v", S1, NOW);
  const out = run(h, [{ Kind: "session", Verb: "delete", ID: S1 }, kv("lock", "l", { Session: S2 })]);
  assert.deepEqual(out.Errors, [{ OpIndex: 1, What: `failed to lock key "l" due to lock delay` }]);
  run(h, [{ Kind: "session", Verb: "delete", ID: S1 }]);
  assert.equal(h.state.sessions.get(S1), undefined);
  assert.equal(h.state.kv.get("l")!.Session, "");
  assert.ok(h.state.sessions.lockDelayUntil("l") > NOW);
});

test("txn - read-only transactions are recognised and evaluated without changing state", () => {
  const h = setup();
  h.kv("set", "k", "v", undefined, NOW);
  const ops = [kv("get", "k"), kv("check-not-exists", "zz")];
  assert.equal(isReadOnlyTxn(ops), true);
  assert.equal(isReadOnlyTxn([...ops, kv("set", "k")]), false);
  const last = h.state.lastIndex;
  const out = readTxn(h.state, ops, NOW);
  assert.equal(out.Results!.length, 1);
  assert.equal(h.state.lastIndex, last);
});
