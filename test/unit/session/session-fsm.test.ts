import { test } from "node:test";
import assert from "node:assert/strict";
import { FsmHarness, S1, S2 } from "./fixtures.ts";

const T0 = 1_000_000;

function setup() {
  const h = new FsmHarness();
  assert.ok(h.registerNode("n1", [{ CheckID: "serfHealth" }, { CheckID: "disk", Status: "warning" }]).ok);
  return h;
}

test("session - create needs a registered node", () => {
  const h = setup();
  assert.deepEqual(h.createSession(S1, { Node: "ghost" }), { ok: false, error: "Missing node registration" });
});

test("session - create refuses a missing or critical bound check", () => {
  const h = setup();
  assert.deepEqual(h.createSession(S1, { NodeChecks: ["nope"] }), { ok: false, error: "Missing check 'nope' registration" });
  h.registerNode("n1", [{ CheckID: "serfHealth", Status: "critical" }]);
  assert.deepEqual(h.createSession(S1), { ok: false, error: "Check 'serfHealth' is in critical state" });
  assert.ok(h.createSession(S1, { NodeChecks: null }).ok, "a session without checks does not care");
});

test("session - a warning check does not block creation", () => {
  const h = setup();
  assert.ok(h.createSession(S1, { NodeChecks: ["serfHealth", "disk"] }).ok);
});

test("session - destroy with behavior release clears Session, keeps value and LockIndex, bumps ModifyIndex", () => {
  const h = setup();
  h.createSession(S1);
  h.kv("lock", "k", "v", S1, T0);
  const before = h.state.kv.get("k")!;
  h.apply({ Type: "session-destroy", ID: S1, NowMs: T0 });
  const after = h.state.kv.get("k")!;
  assert.equal(after.Session, "");
  assert.equal(after.LockIndex, 1);
  assert.equal(after.Value.toString(), "v");
  assert.ok(after.ModifyIndex > before.ModifyIndex);
  assert.equal(h.state.sessions.get(S1), undefined);
});

test("session - destroy with behavior delete removes held keys", () => {
  const h = setup();
  h.createSession(S1, { Behavior: "delete" });
  h.kv("lock", "a", "1", S1, T0);
  h.kv("lock", "b", "2", S1, T0);
  h.kv("set", "c", "3", undefined, T0);
  h.apply({ Type: "session-destroy", ID: S1, NowMs: T0 });
  assert.equal(h.state.kv.get("a"), undefined);
  assert.equal(h.state.kv.get("b"), undefined);
  assert.ok(h.state.kv.get("c"));
});

test("session - destroy of an unknown session is still true", () => {
  const h = setup();
  assert.deepEqual(h.apply({ Type: "session-destroy", ID: S2, NowMs: T0 }), { ok: true, value: true });
});

test("lock-delay - invalidation refuses acquire by every session until LockDelay has passed", () => {
  const h = setup();
  h.createSession(S1, { LockDelay: 10e9 });
  h.createSession(S2);
  h.kv("lock", "k", "v", S1, T0);
  h.apply({ Type: "session-destroy", ID: S1, NowMs: T0 });
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0 + 9_999), { ok: true, value: false });
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0 + 10_000), { ok: true, value: true });
  assert.equal(h.state.kv.get("k")!.LockIndex, 2);
});

test("lock-delay - capped at 60 seconds", () => {
  const h = setup();
  h.createSession(S1, { LockDelay: 3600e9 });
  h.createSession(S2);
  h.kv("lock", "k", "v", S1, T0);
  h.apply({ Type: "session-destroy", ID: S1, NowMs: T0 });
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0 + 59_999), { ok: true, value: false });
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0 + 60_000), { ok: true, value: true });
});

test("lock-delay - zero disables it, and a voluntary release starts none", () => {
  const h = setup();
  h.createSession(S1, { LockDelay: 0 });
  h.createSession(S2);
  h.kv("lock", "k", "v", S1, T0);
  h.apply({ Type: "session-destroy", ID: S1, NowMs: T0 });
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0), { ok: true, value: true });
  assert.deepEqual(h.kv("unlock", "k", "x", S2, T0), { ok: true, value: true });
  h.createSession("33333333-3333-3333-3333-333333333333");
  assert.deepEqual(h.kv("lock", "k", "y", "33333333-3333-3333-3333-333333333333", T0), { ok: true, value: true });
});

test("invalidation - a bound check going critical destroys the session and starts lock-delay", () => {
  const h = setup();
  h.createSession(S1);
  h.createSession(S2, { NodeChecks: null });
  h.kv("lock", "k", "v", S1, T0);
  h.registerNode("n1", [{ CheckID: "serfHealth", Status: "critical" }, { CheckID: "disk", Status: "warning" }], T0);
  assert.equal(h.state.sessions.get(S1), undefined);
  assert.ok(h.state.sessions.get(S2), "a session without checks survives");
  assert.equal(h.state.kv.get("k")!.Session, "");
  assert.deepEqual(h.kv("lock", "k", "x", S2, T0 + 1_000), { ok: true, value: false });
});

test("invalidation - a check turning warning does not count", () => {
  const h = setup();
  h.createSession(S1);
  h.registerNode("n1", [{ CheckID: "serfHealth", Status: "warning" }], T0);
  assert.ok(h.state.sessions.get(S1));
});

test("invalidation - deregistering a bound check destroys the session", () => {
  const h = setup();
  h.createSession(S1, { NodeChecks: ["disk"] });
  h.createSession(S2);
  h.apply({ Type: "catalog-deregister", Node: "n1", CheckID: "disk", NowMs: T0 });
  assert.equal(h.state.sessions.get(S1), undefined);
  assert.ok(h.state.sessions.get(S2));
});

test("invalidation - deregistering a service removes its checks and the sessions bound to them", () => {
  const h = new FsmHarness();
  h.registerNode("n1", [{ CheckID: "serfHealth" }, { CheckID: "service:web", ServiceID: "web" }], T0, { ID: "web", Service: "web" });
  assert.ok(h.createSession(S1, { NodeChecks: null, ServiceChecks: [{ ID: "service:web", Namespace: "" }] }).ok);
  h.apply({ Type: "catalog-deregister", Node: "n1", ServiceID: "web", NowMs: T0 });
  assert.equal(h.state.sessions.get(S1), undefined);
});

test("invalidation - deregistering the node destroys every session on it", () => {
  const h = setup();
  h.createSession(S1);
  h.createSession(S2, { NodeChecks: null });
  h.apply({ Type: "catalog-deregister", Node: "n1", NowMs: T0 });
  assert.equal(h.state.sessions.size, 0);
});

test("session - lists are ordered by ID and by node", () => {
  const h = setup();
  h.registerNode("n2");
  h.createSession(S2);
  h.createSession(S1, { Node: "n2" });
  assert.deepEqual(h.state.sessions.list().map((s) => s.ID), [S1, S2]);
  assert.deepEqual(h.state.sessions.listByNode("N2").map((s) => s.ID), [S1]);
});
