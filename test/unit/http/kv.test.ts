import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent({ kvMaxValueSizeBytes: 1024 });
});
after(() => agent.stop());

const call = (method: string, path: string, body?: string | Buffer) =>
  fetch(agent.base + path, { method, body: typeof body === "string" || body === undefined ? body : new Uint8Array(body) });

test("kv - PUT stores raw bytes and GET returns [entry] with base64 Value", async () => {
  assert.equal(await (await call("PUT", "/v1/kv/app/config", "hello")).text(), "true");
  const res = await call("GET", "/v1/kv/app/config");
  assert.equal(res.status, 200);
  const [entry] = (await res.json()) as Record<string, unknown>[];
  assert.equal(entry.Key, "app/config");
  assert.equal(Buffer.from(String(entry.Value), "base64").toString(), "hello");
  assert.equal(entry.Flags, 0);
  assert.equal("Session" in entry, false);
  assert.equal(res.headers.get("x-consul-index"), String(entry.ModifyIndex));
  assert.equal(res.headers.get("x-consul-knownleader"), "true");
  assert.equal(res.headers.get("x-consul-lastcontact"), "0");
});

test("kv - a missing key is 404 with an empty body and index headers", async () => {
  const res = await call("GET", "/v1/kv/does/not/exist");
  assert.equal(res.status, 404);
  assert.equal(await res.text(), "");
  assert.ok(Number(res.headers.get("x-consul-index")) >= 1);
  assert.equal(res.headers.get("x-consul-knownleader"), "true");
});

test("kv - flags round-trip the full uint64 range", async () => {
  await call("PUT", "/v1/kv/lock/key?flags=16210313421097356768", "x");
  const text = await (await call("GET", "/v1/kv/lock/key")).text();
  assert.match(text, /"Flags":\s*16210313421097356768/);
  await call("PUT", "/v1/kv/lock/key", "x");
  assert.match(await (await call("GET", "/v1/kv/lock/key")).text(), /"Flags":\s*0/);
});

test("kv - ?raw returns the stored bytes as text/plain with nosniff", async () => {
  await call("PUT", "/v1/kv/raw/key", Buffer.from([0, 1, 2, 255]));
  const res = await call("GET", "/v1/kv/raw/key?raw");
  assert.equal(res.headers.get("content-type"), "text/plain");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
});

test("kv - an empty value reads back as Value null", async () => {
  await call("PUT", "/v1/kv/empty/key");
  const [entry] = (await (await call("GET", "/v1/kv/empty/key")).json()) as Record<string, unknown>[];
  assert.equal(entry.Value, null);
});

test("kv - ?recurse lists by prefix sorted by key; 404 when nothing matches", async () => {
  await call("PUT", "/v1/kv/rec/b", "2");
  await call("PUT", "/v1/kv/rec/a", "1");
  const list = (await (await call("GET", "/v1/kv/rec/?recurse")).json()) as { Key: string }[];
  assert.deepEqual(list.map((e) => e.Key), ["rec/a", "rec/b"]);
  assert.equal((await call("GET", "/v1/kv/nothing-here/?recurse")).status, 404);
});

test("kv - ?keys with separator rolls up sub-folders", async () => {
  for (const k of ["web/bar", "web/foo", "web/sub/a", "web/sub/b"]) await call("PUT", `/v1/kv/${k}`, "x");
  assert.deepEqual(await (await call("GET", "/v1/kv/web/?keys&separator=/")).json(), ["web/bar", "web/foo", "web/sub/"]);
  assert.equal((await call("GET", "/v1/kv/nope/?keys")).status, 404);
});

test("kv - percent-encoded keys are decoded (a%2Fb is a/b)", async () => {
  await call("PUT", "/v1/kv/enc%2Fkey", "v");
  assert.equal((await call("GET", "/v1/kv/enc/key")).status, 200);
});

test("kv - cas=0 creates only if absent", async () => {
  assert.equal(await (await call("PUT", "/v1/kv/cas/k?cas=0", "1")).text(), "true");
  assert.equal(await (await call("PUT", "/v1/kv/cas/k?cas=0", "2")).text(), "false");
});

test("kv - DELETE ?recurse removes the prefix; DELETE ?cas on a missing key is true", async () => {
  await call("PUT", "/v1/kv/del/a", "1");
  await call("PUT", "/v1/kv/del/b", "1");
  assert.equal(await (await call("DELETE", "/v1/kv/del/?recurse")).text(), "true");
  assert.equal((await call("GET", "/v1/kv/del/?recurse")).status, 404);
  assert.equal(await (await call("DELETE", "/v1/kv/del/zzz?cas=4")).text(), "true");
});

test("kv - empty key without recurse is 400 Missing key name", async () => {
  const res = await call("GET", "/v1/kv/");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), "Missing key name");
});

test("kv - more than one of cas/acquire/release is 400 Conflicting flags", async () => {
  const res = await call("PUT", "/v1/kv/x?release=b&cas=1", "v");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), "Conflicting flags: cas=1&release=b\n");
});

test("kv - acquire with an unknown session is 500 invalid session", async () => {
  const res = await call("PUT", "/v1/kv/x?acquire=abc", "v");
  assert.equal(res.status, 500);
  assert.equal(await res.text(), 'invalid session "abc"');
});

test("kv - a value over kv_max_value_size is 413", async () => {
  const res = await call("PUT", "/v1/kv/big", Buffer.alloc(2048));
  assert.equal(res.status, 413);
  assert.match(await res.text(), /^Request body\(2048 bytes\) too large, max size: 1024 bytes\. See /);
  assert.equal((await call("GET", "/v1/kv/big")).status, 404);
});

test("kv - wrong method is 405 with Allow", async () => {
  const res = await call("POST", "/v1/kv/x");
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "OPTIONS,GET,PUT,DELETE");
  assert.equal(await res.text(), "method POST not allowed");
});

test("kv - query option errors: bad index, bad wait, stale+consistent, unknown dc, namespaces", async () => {
  const cases: [string, number, string][] = [
    ["/v1/kv/x?index=abc", 400, "Invalid index"],
    ["/v1/kv/x?index=1&wait=5", 400, "Invalid wait time"],
    ["/v1/kv/x?stale&consistent", 400, "Cannot specify ?stale with ?consistent, conflicting semantics."],
    ["/v1/kv/x?dc=elsewhere", 500, "No path to datacenter"],
    ["/v1/kv/x?ns=team", 400, 'Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature'],
  ];
  for (const [path, status, body] of cases) {
    const res = await call("GET", path);
    assert.equal(res.status, status, path);
    assert.equal(await res.text(), body, path);
  }
  assert.equal((await call("GET", "/v1/kv/app/config?dc=DC1")).status, 200);
  assert.equal((await call("GET", "/v1/kv/app/config?ns=default")).status, 200);
});

test("kv - ?stale and ?consistent set X-Consul-Effective-Consistency", async () => {
  assert.equal((await call("GET", "/v1/kv/app/config?stale")).headers.get("x-consul-effective-consistency"), "stale");
  assert.equal((await call("GET", "/v1/kv/app/config?consistent")).headers.get("x-consul-effective-consistency"), "consistent");
  assert.equal((await call("GET", "/v1/kv/app/config")).headers.get("x-consul-effective-consistency"), "leader");
});

test("kv - a blocking GET returns as soon as the key changes", async () => {
  await call("PUT", "/v1/kv/block/k", "1");
  const index = (await call("GET", "/v1/kv/block/k")).headers.get("x-consul-index");
  const started = Date.now();
  const pending = call("GET", `/v1/kv/block/k?index=${index}&wait=30s`);
  await new Promise((r) => setTimeout(r, 100));
  await call("PUT", "/v1/kv/block/k", "2");
  const res = await pending;
  const [entry] = (await res.json()) as { Value: string }[];
  assert.equal(Buffer.from(entry.Value, "base64").toString(), "2");
  assert.ok(Number(res.headers.get("x-consul-index")) > Number(index));
  // Woke on the write, well before the 30 s wait ends (5 s was a budget a busy CI machine can overrun).
  assert.ok(Date.now() - started < 20_000);
});

test("kv - a blocking GET times out with the current result and the same index", async () => {
  const index = (await call("GET", "/v1/kv/app/config")).headers.get("x-consul-index");
  const res = await call("GET", `/v1/kv/app/config?index=${index}&wait=200ms`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-consul-index"), index);
});

test("kv - python-consul style ?recurse=1 and node consul style ?recurse=true both list", async () => {
  for (const q of ["recurse=1", "recurse=true", "recurse="]) {
    assert.equal((await call("GET", `/v1/kv/rec/?${q}`)).status, 200, q);
  }
});
