import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// KV through the enforcement seam: per-key read/write, filtered lists with the
// X-Consul-Results-Filtered-By-ACLs header, write-prefix for recursive deletes.

const ROOT = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b";
let agent: TestAgent;
let app = "";
let appAccessor = "";

async function call(method: string, path: string, token?: string, body?: string) {
  const res = await fetch(agent.base + path, {
    method,
    headers: token === undefined ? {} : { "X-Consul-Token": token },
    body,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

before(async () => {
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  await eventually("initial management token", async () => (await call("GET", "/v1/acl/token/self", ROOT)).status === 200);
  const policy = await call("PUT", "/v1/acl/policy", ROOT, JSON.stringify({
    Name: "app",
    Rules: `
      key_prefix "app/" { policy = "write" }
      key "app/secret" { policy = "deny" }
      key_prefix "shared/" { policy = "read" }
    `,
  }));
  assert.equal(policy.status, 200, policy.text);
  const token = JSON.parse((await call("PUT", "/v1/acl/token", ROOT, JSON.stringify({ Policies: [{ Name: "app" }] }))).text) as { SecretID: string; AccessorID: string };
  app = token.SecretID;
  appAccessor = token.AccessorID;
  for (const k of ["app/a", "app/b", "app/secret", "shared/x", "other/y"]) assert.equal((await call("PUT", `/v1/kv/${k}`, ROOT, k)).text, "true");
});

after(async () => {
  await agent.stop();
});

test("single keys: read and write need key:read / key:write on the key", async () => {
  assert.equal((await call("GET", "/v1/kv/app/a?raw", app)).text, "app/a");
  assert.equal((await call("GET", "/v1/kv/shared/x?raw", app)).text, "shared/x");
  const secret = await call("GET", "/v1/kv/app/secret", app);
  assert.equal(secret.status, 403);
  assert.equal(secret.text, `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'key:read' on "app/secret"`);
  // a missing key the token may not read is 403 too, never a 404 that tells it apart
  assert.equal((await call("GET", "/v1/kv/other/missing", app)).status, 403);
  assert.equal((await call("GET", "/v1/kv/app/missing", app)).status, 404);

  assert.equal((await call("PUT", "/v1/kv/app/new", app, "v")).text, "true");
  const ro = await call("PUT", "/v1/kv/shared/x", app, "v");
  assert.equal(ro.status, 403);
  assert.equal(ro.text, `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'key:write' on "shared/x"`);
  assert.equal((await call("DELETE", "/v1/kv/shared/x", app)).status, 403);
  assert.equal((await call("PUT", "/v1/kv/app/lock?acquire=x", app, "v")).status, 500, "write allowed; the session is what fails");

  const anon = await call("GET", "/v1/kv/app/a");
  assert.equal(anon.status, 403);
  assert.equal(anon.text, `Permission denied: anonymous token lacks permission 'key:read' on "app/a". The anonymous token is used implicitly when a request does not specify a token.`);
  const unknown = await call("GET", "/v1/kv/app/a", "5e4d3c2b-1a09-4876-9543-210fedcba987");
  assert.equal(unknown.status, 403);
  assert.equal(unknown.text, "ACL not found");
});

test("recursive reads and key lists are filtered, with the header only for a real token", async () => {
  const rec = await call("GET", "/v1/kv/?recurse", app);
  assert.equal(rec.status, 200);
  assert.deepEqual((JSON.parse(rec.text) as { Key: string }[]).map((e) => e.Key), ["app/a", "app/b", "app/new", "shared/x"]);
  assert.equal(rec.headers.get("X-Consul-Results-Filtered-By-ACLs"), "true");

  const keys = await call("GET", "/v1/kv/?keys", app);
  assert.deepEqual(JSON.parse(keys.text), ["app/a", "app/b", "app/new", "shared/x"]);
  assert.equal(keys.headers.get("X-Consul-Results-Filtered-By-ACLs"), "true");

  const nothingHidden = await call("GET", "/v1/kv/app/?keys&separator=/", ROOT);
  assert.equal(nothingHidden.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);
  assert.deepEqual(JSON.parse(nothingHidden.text), ["app/a", "app/b", "app/new", "app/secret"]);

  const allowedOnly = await call("GET", "/v1/kv/shared/?recurse", app);
  assert.equal(allowedOnly.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);

  // everything hidden: 404, as for an empty prefix
  assert.equal((await call("GET", "/v1/kv/other/?recurse", app)).status, 404);
  // the anonymous token sees nothing and is not told that anything was hidden
  const anon = await call("GET", "/v1/kv/?recurse");
  assert.equal(anon.status, 404);
  assert.equal(anon.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);
});

test("identical blocking reads by different tokens are never shared", async () => {
  const index = (await call("GET", "/v1/kv/?recurse", ROOT)).headers.get("X-Consul-Index");
  const asRoot = call("GET", `/v1/kv/?recurse&index=${index}&wait=3s`, ROOT);
  const asApp = call("GET", `/v1/kv/?recurse&index=${index}&wait=3s`, app);
  await new Promise((r) => setTimeout(r, 100));
  await call("PUT", "/v1/kv/other/z", ROOT, "z");
  const [r, a] = await Promise.all([asRoot, asApp]);
  const keysOf = (t: string) => (JSON.parse(t) as { Key: string }[]).map((e) => e.Key);
  assert.ok(keysOf(r.text).includes("other/z"));
  assert.ok(!keysOf(a.text).includes("other/z"));
  assert.ok(!keysOf(a.text).includes("app/secret"));
});

test("recursive delete needs write on the whole subtree", async () => {
  const denied = await call("DELETE", "/v1/kv/app/?recurse", app);
  assert.equal(denied.status, 403, "app/secret under app/ is denied");
  assert.equal(denied.text, `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'key:write' on "app/"`);
  assert.equal((await call("GET", "/v1/kv/app/a", ROOT)).status, 200);
  assert.equal((await call("PUT", "/v1/kv/app/sub/one", app, "1")).text, "true");
  assert.equal((await call("DELETE", "/v1/kv/app/sub/?recurse", app)).text, "true");
  assert.equal((await call("GET", "/v1/kv/app/sub/one", ROOT)).status, 404);
});

test("txn: every operation is checked first, any refusal aborts with 409; reads are filtered", async () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const denied = await call("PUT", "/v1/txn", app, JSON.stringify([
    { KV: { Verb: "set", Key: "app/t1", Value: b64("1") } },
    { KV: { Verb: "set", Key: "shared/t2", Value: b64("2") } },
    { KV: { Verb: "check-index", Key: "other/y", Index: 1 } },
    { Node: { Verb: "set", Node: { Node: "n1", Address: "10.0.0.1" } } },
  ]));
  assert.equal(denied.status, 409);
  assert.deepEqual(JSON.parse(denied.text), {
    Results: null,
    Errors: [
      { OpIndex: 1, What: `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'key:write' on "shared/t2"` },
      { OpIndex: 2, What: `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'key:read' on "other/y"` },
      { OpIndex: 3, What: `Permission denied: token with AccessorID '${appAccessor}' lacks permission 'node:write' on "n1"` },
    ],
  });
  assert.equal((await call("GET", "/v1/kv/app/t1", ROOT)).status, 404, "nothing of a refused transaction applies");

  const ok = await call("PUT", "/v1/txn", app, JSON.stringify([
    { KV: { Verb: "set", Key: "app/t1", Value: b64("1") } },
    { KV: { Verb: "get-tree", Key: "app/" } },
    { KV: { Verb: "get", Key: "shared/x" } },
  ]));
  assert.equal(ok.status, 200, ok.text);
  const keys = (JSON.parse(ok.text) as { Results: { KV: { Key: string } }[] }).Results.map((r) => r.KV.Key);
  assert.ok(keys.includes("app/t1") && keys.includes("app/a") && keys.includes("shared/x"));
  assert.ok(!keys.includes("app/secret"));

  const readOnly = await call("PUT", "/v1/txn", app, JSON.stringify([{ KV: { Verb: "get", Key: "other/y" } }, { KV: { Verb: "get", Key: "app/a" } }]));
  assert.equal(readOnly.status, 200);
  assert.deepEqual((JSON.parse(readOnly.text) as { Results: { KV: { Key: string } }[] }).Results.map((r) => r.KV.Key), ["app/a"]);
});
