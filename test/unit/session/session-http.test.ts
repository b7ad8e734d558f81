import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { parseLockDelayNs, resolveNodeChecks } from "../../../src/http/handlers/session.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(async () => {
  await agent.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(agent.base + path, { method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function createSession(body?: unknown): Promise<string> {
  const r = await call("PUT", "/v1/session/create", body);
  assert.equal(r.status, 200, r.text);
  return (JSON.parse(r.text) as { ID: string }).ID;
}

test("session create - numbers below 1000 are seconds, larger numbers nanoseconds, strings Go durations", () => {
  assert.equal(parseLockDelayNs(undefined), 15e9);
  assert.equal(parseLockDelayNs(5), 5e9);
  assert.equal(parseLockDelayNs(0), 0);
  assert.equal(parseLockDelayNs(2_000_000_000), 2e9);
  assert.equal(parseLockDelayNs("15000ms"), 15e9);
  assert.equal(parseLockDelayNs("0.001s"), 1e6);
  assert.equal(parseLockDelayNs("7ns"), 7e9);
});

test("session create - default-check rules (serfHealth default, Checks: [] removes it, custom checks union)", () => {
  assert.deepEqual(resolveNodeChecks(undefined, undefined), ["serfHealth"]);
  assert.deepEqual(resolveNodeChecks([], undefined), []);
  assert.deepEqual(resolveNodeChecks(["serfHealth"], ["a"]), ["a"]);
  assert.deepEqual(resolveNodeChecks(undefined, []), []);
  assert.deepEqual(resolveNodeChecks(["service:web"], undefined), ["serfHealth", "service:web"]);
  assert.deepEqual(resolveNodeChecks(["service:web"], []), []);
});

test("session create - empty body gives all defaults on the agent's node", async () => {
  const id = await createSession();
  const r = await call("GET", `/v1/session/info/${id}`);
  assert.equal(r.status, 200);
  assert.ok(Number(r.headers.get("x-consul-index")) > 0);
  const [s] = JSON.parse(r.text) as Record<string, unknown>[];
  assert.deepEqual(
    { ...s, CreateIndex: 0, ModifyIndex: 0 },
    { ID: id, Name: "", Node: "test-node", LockDelay: 15e9, Behavior: "release", TTL: "", NodeChecks: ["serfHealth"], ServiceChecks: null, CreateIndex: 0, ModifyIndex: 0 },
  );
});

test("session create - lower-case keys (python-consul) and Checks: [] for no checks", async () => {
  const id = await createSession({ name: "patroni", ttl: "30s", lockdelay: "0.001s", behavior: "delete", checks: [] });
  const [s] = JSON.parse((await call("GET", `/v1/session/info/${id}`)).text) as Record<string, unknown>[];
  assert.equal(s.Name, "patroni");
  assert.equal(s.TTL, "30s");
  assert.equal(s.LockDelay, 1e6);
  assert.equal(s.Behavior, "delete");
  assert.equal(s.NodeChecks, null);
});

test("session create - Consul's error texts for TTL, behavior, node and checks", async () => {
  assert.deepEqual(await call("PUT", "/v1/session/create", { TTL: "5s" }).then((r) => [r.status, r.text]), [500, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"]);
  assert.deepEqual(await call("PUT", "/v1/session/create", { TTL: "86401s" }).then((r) => [r.status, r.text]), [500, "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]"]);
  assert.deepEqual(await call("PUT", "/v1/session/create", { TTL: "soon" }).then((r) => [r.status, r.text]), [500, `Session TTL 'soon' invalid: time: invalid duration "soon"`]);
  assert.deepEqual(await call("PUT", "/v1/session/create", { Behavior: "keep" }).then((r) => [r.status, r.text]), [500, "Invalid Behavior setting 'keep'"]);
  assert.deepEqual(await call("PUT", "/v1/session/create", { Node: "ghost" }).then((r) => [r.status, r.text]), [500, "Missing node registration"]);
  assert.deepEqual(await call("PUT", "/v1/session/create", { Checks: ["nope"] }).then((r) => [r.status, r.text]), [500, "Missing check 'nope' registration"]);
  assert.equal((await call("PUT", "/v1/session/create", { TTL: "10s" })).status, 200, "10s is the minimum");
});

test("session renew - returns the session; unknown is 404 with Consul's text", async () => {
  const id = await createSession({ TTL: "15s" });
  const r = await call("PUT", `/v1/session/renew/${id}`);
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.text) as { ID: string }[])[0].ID, id);
  const unknown = "deadbeef-0000-0000-0000-000000000000";
  assert.deepEqual(await call("PUT", `/v1/session/renew/${unknown}`).then((x) => [x.status, x.text]), [404, `Session id '${unknown}' not found`]);
});

test("session - missing and malformed IDs", async () => {
  assert.deepEqual(await call("PUT", "/v1/session/destroy/").then((r) => [r.status, r.text]), [400, "Missing session"]);
  assert.deepEqual(await call("GET", "/v1/session/info/").then((r) => [r.status, r.text]), [400, "Missing session"]);
  assert.deepEqual(await call("GET", "/v1/session/node/").then((r) => [r.status, r.text]), [400, "Missing node name"]);
});

test("session info of an unknown non-UUID ID answers [] and renew of it 404, as for any unknown session", async () => {
  const notUuid = "1".repeat(36);
  for (const id of [notUuid, "abc"]) {
    assert.deepEqual(await call("GET", `/v1/session/info/${id}`).then((r) => [r.status, r.text]), [200, "[]"]);
    assert.deepEqual(await call("PUT", `/v1/session/renew/${id}`).then((r) => [r.status, r.text]), [404, `Session id '${id}' not found`]);
    assert.deepEqual(await call("PUT", `/v1/session/destroy/${id}`).then((r) => [r.status, r.text]), [200, "true"]);
  }
});

test("session - destroy releases the lock; info of a gone session is []", async () => {
  const id = await createSession({ LockDelay: 0 });
  assert.equal((await call("PUT", `/v1/kv/lk?acquire=${id}`, "x")).text, "true");
  assert.equal((await call("PUT", `/v1/session/destroy/${id}`)).text, "true");
  assert.equal((await call("PUT", `/v1/session/destroy/${id}`)).text, "true", "idempotent");
  assert.equal((await call("GET", `/v1/session/info/${id}`)).text, "[]");
  const [entry] = JSON.parse((await call("GET", "/v1/kv/lk")).text) as { Session?: string; LockIndex: number }[];
  assert.equal(entry.Session, undefined);
  assert.equal(entry.LockIndex, 1);
});

test("session - acquire with an unknown session is 500 invalid session, byte for byte", async () => {
  const unknown = "deadbeef-0000-0000-0000-000000000001";
  assert.deepEqual(await call("PUT", `/v1/kv/x?acquire=${unknown}`, "v").then((r) => [r.status, r.text]), [500, `invalid session "${unknown}"`]);
});

test("session list and node - blocking on the sessions index wakes on create", async () => {
  const first = await call("GET", "/v1/session/list");
  const index = Number(first.headers.get("x-consul-index"));
  const waiting = call("GET", `/v1/session/node/test-node?index=${index}&wait=5s`);
  const id = await createSession({ Name: "late" });
  const r = await waiting;
  assert.ok(Number(r.headers.get("x-consul-index")) > index);
  assert.ok((JSON.parse(r.text) as { ID: string }[]).some((s) => s.ID === id));
});
