import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// Prepared queries under ACLs (default deny): query:write on the name prefix to change a query,
// query:read to list or read it (its Token shown only to management), and execution filtered
// with the query's own token when it has one, else the caller's.

const ROOT = "5a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6e";
let agent: TestAgent;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(agent.base + path, {
    method,
    headers: token === undefined ? {} : { "X-Consul-Token": token },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function tokenWith(rules: string): Promise<string> {
  const name = `p${Math.random().toString(36).slice(2)}`;
  const p = await call("PUT", "/v1/acl/policy", ROOT, { Name: name, Rules: rules });
  assert.equal(p.status, 200, p.text);
  return (JSON.parse((await call("PUT", "/v1/acl/token", ROOT, { Policies: [{ Name: name }] })).text) as { SecretID: string }).SecretID;
}

before(async () => {
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  await eventually("initial management token", async () => (await call("GET", "/v1/acl/token/self", ROOT)).status === 200);
  const reg = await call("PUT", "/v1/catalog/register", ROOT, { Node: "web-node", Address: "10.5.0.1", Service: { ID: "web", Service: "web", Port: 80 } });
  assert.equal(reg.status, 200, reg.text);
});

after(() => agent.stop());

test("query acl - writes need query:write on the name's prefix; reads query:read, Token redacted", async () => {
  const writer = await tokenWith(`query_prefix "app-" { policy = "write" }`);
  const reader = await tokenWith(`query_prefix "app-" { policy = "read" }`);
  const denied = await call("POST", "/v1/query", writer, { Name: "other", Service: { Service: "web" } });
  assert.equal(denied.status, 403);
  assert.equal(denied.text, "Permission denied");
  const created = await call("POST", "/v1/query", writer, { Name: "app-one", Token: "some-secret", Service: { Service: "web" } });
  assert.equal(created.status, 200, created.text);
  const { ID } = JSON.parse(created.text) as { ID: string };
  assert.equal((await call("PUT", `/v1/query/${ID}`, reader, { Name: "app-one", Service: { Service: "web" } })).status, 403);
  assert.equal((await call("DELETE", `/v1/query/${ID}`, reader)).status, 403);

  const asReader = JSON.parse((await call("GET", `/v1/query/${ID}`, reader)).text) as { Token: string }[];
  assert.equal(asReader[0].Token, "<hidden>");
  const asRoot = JSON.parse((await call("GET", `/v1/query/${ID}`, ROOT)).text) as { Token: string }[];
  assert.equal(asRoot[0].Token, "some-secret");
  assert.equal((await call("GET", `/v1/query/${ID}`)).status, 403);
  const anonList = await call("GET", "/v1/query");
  assert.deepEqual(JSON.parse(anonList.text), []);
  assert.equal(((JSON.parse((await call("GET", "/v1/query", reader)).text)) as unknown[]).length, 1);
  assert.equal((await call("GET", "/v1/query/app-one/explain")).status, 403);
  assert.equal((await call("GET", "/v1/query/app-one/explain", reader)).status, 200);
});

test("query acl - execute filters with the query's token, else the caller's", async () => {
  const seesWeb = await tokenWith(`service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }`);
  assert.equal((await call("POST", "/v1/query", ROOT, { Name: "open-web", Service: { Service: "web" } })).status, 200);
  assert.equal((await call("POST", "/v1/query", ROOT, { Name: "tokened-web", Token: seesWeb, Service: { Service: "web" } })).status, 200);
  const nodes = async (name: string, token?: string): Promise<number> => (JSON.parse((await call("GET", `/v1/query/${name}/execute`, token)).text) as { Nodes: unknown[] }).Nodes.length;
  assert.equal(await nodes("open-web"), 0, "anonymous may not see web");
  assert.equal(await nodes("open-web", seesWeb), 1);
  assert.equal(await nodes("tokened-web"), 1, "the query's own token decides");
});
