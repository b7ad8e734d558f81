import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(async () => {
  await agent.stop();
});

async function call(method: string, path: string, body?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(agent.base + path, { method, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

test("event fire - answers the event with a new ID, LTime 0 and base64 payload", async () => {
  const r = await call("PUT", "/v1/event/fire/deploy?node=test", "v1.2");
  assert.equal(r.status, 200);
  const e = JSON.parse(r.text) as Record<string, unknown>;
  assert.match(String(e.ID), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual({ ...e, ID: "" }, { ID: "", Name: "deploy", Payload: "djEuMg==", NodeFilter: "test", ServiceFilter: "", TagFilter: "", Version: 1, LTime: 0 });
  const none = JSON.parse((await call("PUT", "/v1/event/fire/empty")).text) as Record<string, unknown>;
  assert.equal(none.Payload, null);
});

test("event fire - validation errors as Consul answers them", async () => {
  assert.deepEqual(await call("PUT", "/v1/event/fire/").then((r) => [r.status, r.text]), [400, "Missing name"]);
  assert.deepEqual(await call("PUT", "/v1/event/fire/x?tag=a").then((r) => [r.status, r.text]), [500, "Cannot provide tag filter without service filter"]);
  const bad = await call("PUT", "/v1/event/fire/x?node=(");
  assert.equal(bad.status, 500);
  assert.match(bad.text, /^Invalid node filter: /);
  const big = await call("PUT", "/v1/event/fire/x", "p".repeat(500));
  assert.equal(big.status, 500);
  assert.match(big.text, /exceeds configured limit of 512 bytes/);
  assert.equal((await call("GET", "/v1/event/fire/x")).status, 405);
});

test("event list - only events whose filters match this agent are kept; name filter; XOR index", async () => {
  await call("PUT", "/v1/event/fire/skipped?node=other-node");
  await call("PUT", "/v1/event/fire/skipped?service=nosuchservice");
  const fired = JSON.parse((await call("PUT", "/v1/event/fire/kept?node=^test-")).text) as { ID: string };
  const r = await call("GET", "/v1/event/list?name=kept");
  const list = JSON.parse(r.text) as { ID: string; LTime: number }[];
  assert.deepEqual(list.map((e) => e.ID), [fired.ID]);
  assert.ok(list[0].LTime > 0);
  const hex = fired.ID.replace(/-/g, "");
  assert.equal(r.headers.get("x-consul-index"), (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`)).toString());
  assert.equal(JSON.parse((await call("GET", "/v1/event/list?name=skipped")).text).length, 0);
  assert.equal((await call("GET", "/v1/event/list?name=skipped")).headers.get("x-consul-index"), "1");
});

test("event list - blocks while the index equals ?index and wakes on the next event", async () => {
  await call("PUT", "/v1/event/fire/tick");
  const first = await call("GET", "/v1/event/list?name=tick");
  const index = first.headers.get("x-consul-index")!;
  const other = await call("GET", "/v1/event/list?name=tick&index=12345");
  assert.equal(other.headers.get("x-consul-index"), index, "a different index answers at once");
  const waiting = call("GET", `/v1/event/list?name=tick&index=${index}&wait=5s`);
  await call("PUT", "/v1/event/fire/unrelated");
  const fired = JSON.parse((await call("PUT", "/v1/event/fire/tick")).text) as { ID: string };
  const r = await waiting;
  const list = JSON.parse(r.text) as { ID: string }[];
  assert.equal(list.at(-1)!.ID, fired.ID);
  assert.notEqual(r.headers.get("x-consul-index"), index);
});

test("event list - a wait timeout with no new event answers the same index", async () => {
  const first = await call("GET", "/v1/event/list");
  const index = first.headers.get("x-consul-index")!;
  const started = Date.now();
  const r = await call("GET", `/v1/event/list?index=${index}&wait=200ms`);
  assert.ok(Date.now() - started >= 150);
  assert.equal(r.headers.get("x-consul-index"), index);
});
