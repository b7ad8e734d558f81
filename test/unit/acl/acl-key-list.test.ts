import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// acl.enable_key_list_policy (Consul's KVS.List / ListKeys): ?recurse and ?keys first need
// key:list on the prefix — a plain 403 "Permission denied" without it — and then filter per key
// by key:read as always. A single-key read still needs only key:read.

const ROOT = "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a";
let agent: TestAgent;
let reader = "";
let lister = "";

async function call(path: string, token: string) {
  const res = await fetch(agent.base + path, { headers: { "X-Consul-Token": token }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function put(path: string, body: string): Promise<string> {
  const res = await fetch(agent.base + path, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

async function tokenFor(name: string, rules: string): Promise<string> {
  await put("/v1/acl/policy", JSON.stringify({ Name: name, Rules: rules }));
  return (JSON.parse(await put("/v1/acl/token", JSON.stringify({ Policies: [{ Name: name }] }))) as { SecretID: string }).SecretID;
}

before(async () => {
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT, enableKeyListPolicy: true } });
  await eventually("initial management token", async () => (await call("/v1/acl/token/self", ROOT)).status === 200);
  for (const k of ["app/a", "app/b"]) await put(`/v1/kv/${k}`, k);
  reader = await tokenFor("reader", 'key_prefix "app/" { policy = "read" }');
  lister = await tokenFor("lister", 'key_prefix "app/" { policy = "list" }');
});

after(async () => {
  await agent.stop();
});

test("with enable_key_list_policy, read on the prefix is not enough to list it", async () => {
  for (const path of ["/v1/kv/app/?recurse", "/v1/kv/app/?keys"]) {
    const denied = await call(path, reader);
    assert.equal(denied.status, 403, path);
    assert.equal(denied.text, "Permission denied");
  }
  assert.equal((await call("/v1/kv/app/a?raw", reader)).text, "app/a", "single keys still need only key:read");
  assert.deepEqual(JSON.parse((await call("/v1/kv/app/?keys", lister)).text), ["app/a", "app/b"]);
  const listed = JSON.parse((await call("/v1/kv/app/?recurse", lister)).text) as Array<{ Key: string }>;
  assert.deepEqual(listed.map((e) => e.Key), ["app/a", "app/b"]);
});
