import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// Enforcement beyond KV: sessions (write on the node, reads filtered), events, operator,
// keyring and snapshots. One agent with default_policy deny; tokens made per test.

const ROOT = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d";
let agent: TestAgent;

async function call(method: string, path: string, token?: string, body?: string) {
  const res = await fetch(agent.base + path, {
    method,
    headers: token === undefined ? {} : { "X-Consul-Token": token },
    body,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function tokenWith(rules: string): Promise<{ secret: string; accessor: string }> {
  const name = `p${Math.random().toString(36).slice(2)}`;
  const p = await call("PUT", "/v1/acl/policy", ROOT, JSON.stringify({ Name: name, Rules: rules }));
  assert.equal(p.status, 200, p.text);
  const t = JSON.parse((await call("PUT", "/v1/acl/token", ROOT, JSON.stringify({ Policies: [{ Name: name }] }))).text) as { SecretID: string; AccessorID: string };
  return { secret: t.SecretID, accessor: t.AccessorID };
}

before(async () => {
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  await eventually("initial management token", async () => (await call("GET", "/v1/acl/token/self", ROOT)).status === 200);
  await eventually("node registered", async () => (await call("GET", "/v1/catalog/node/test-node", ROOT)).text.includes("test-node"));
});

after(async () => {
  await agent.stop();
});

test("sessions: create/destroy/renew need session:write on the node; reads are filtered", async () => {
  const writer = await tokenWith(`session "test-node" { policy = "write" }`);
  const reader = await tokenWith(`session_prefix "other" { policy = "read" }`);
  const body = JSON.stringify({ Node: "test-node", Checks: [] });
  const denied = await call("PUT", "/v1/session/create", reader.secret, body);
  assert.equal(denied.status, 403);
  assert.equal(denied.text, `Permission denied: token with AccessorID '${reader.accessor}' lacks permission 'session:write' on "test-node"`);
  const created = await call("PUT", "/v1/session/create", writer.secret, body);
  assert.equal(created.status, 200, created.text);
  const id = (JSON.parse(created.text) as { ID: string }).ID;

  assert.equal(JSON.parse((await call("GET", `/v1/session/info/${id}`, writer.secret)).text).length, 1);
  const hidden = await call("GET", `/v1/session/info/${id}`, reader.secret);
  assert.deepEqual(JSON.parse(hidden.text), []);
  assert.equal(hidden.headers.get("X-Consul-Results-Filtered-By-ACLs"), "true");
  assert.deepEqual(JSON.parse((await call("GET", "/v1/session/list", reader.secret)).text), []);
  assert.deepEqual(JSON.parse((await call("GET", "/v1/session/node/test-node", reader.secret)).text), []);
  assert.equal(JSON.parse((await call("GET", "/v1/session/list", ROOT)).text).length, 1);
  const anonList = await call("GET", "/v1/session/list");
  assert.deepEqual(JSON.parse(anonList.text), []);
  assert.equal(anonList.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);

  assert.equal((await call("PUT", `/v1/session/renew/${id}`, reader.secret)).status, 403);
  assert.equal((await call("PUT", `/v1/session/renew/${id}`, writer.secret)).status, 200);
  assert.equal((await call("PUT", `/v1/session/destroy/${id}`, reader.secret)).status, 403);
  assert.equal((await call("PUT", `/v1/session/destroy/${id}`, writer.secret)).text, "true");
});

test("events: fire needs event:write (bare 403 text); the list shows only readable events", async () => {
  const deployer = await tokenWith(`event_prefix "deploy" { policy = "write" }`);
  assert.equal((await call("PUT", "/v1/event/fire/deploy-web", deployer.secret)).status, 200);
  const refused = await call("PUT", "/v1/event/fire/restart", deployer.secret);
  assert.equal(refused.status, 403);
  assert.equal(refused.text, "Permission denied");
  assert.equal((await call("PUT", "/v1/event/fire/restart", ROOT)).status, 200);
  await eventually("events delivered", async () => (JSON.parse((await call("GET", "/v1/event/list", ROOT)).text) as unknown[]).length === 2);
  const names = (JSON.parse((await call("GET", "/v1/event/list", deployer.secret)).text) as { Name: string }[]).map((e) => e.Name);
  assert.deepEqual(names, ["deploy-web"]);
});

test("operator, keyring and snapshot endpoints need their permissions", async () => {
  const opRead = await tokenWith(`operator = "read"`);
  const none = await tokenWith(`key_prefix "" { policy = "read" }`);
  const rows: [string, string, string, number][] = [
    ["GET", "/v1/operator/raft/configuration", opRead.secret, 200],
    ["GET", "/v1/operator/autopilot/configuration", opRead.secret, 200],
    ["GET", "/v1/operator/autopilot/configuration", none.secret, 403],
    ["PUT", "/v1/operator/autopilot/configuration", opRead.secret, 403],
    ["POST", "/v1/operator/raft/transfer-leader", opRead.secret, 403],
    ["DELETE", "/v1/operator/raft/peer?address=127.0.0.1:1", opRead.secret, 403],
    ["GET", "/v1/operator/keyring", opRead.secret, 403],
    ["GET", "/v1/snapshot", opRead.secret, 403],
    ["PUT", "/v1/snapshot", opRead.secret, 403],
  ];
  for (const [method, path, token, status] of rows) {
    const r = await call(method, path, token, method === "PUT" ? "{}" : undefined);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  }
  const snap = await call("GET", "/v1/snapshot", opRead.secret);
  assert.equal(snap.text, `Permission denied: token with AccessorID '${opRead.accessor}' lacks permission 'acl:write'`);
  const kr = await call("GET", "/v1/operator/keyring", opRead.secret);
  assert.equal(kr.text, `Permission denied: token with AccessorID '${opRead.accessor}' lacks permission 'keyring:read'`);
  assert.equal((await call("GET", "/v1/snapshot", ROOT)).status, 200);
});

test("catalog writes: node:write when the node changes, service:write per service, checks by what they belong to", async () => {
  const svcOnly = await tokenWith(`service "web" { policy = "write" }\nnode_prefix "" { policy = "read" }`);
  const nodeWriter = await tokenWith(`node "n1" { policy = "write" }`);
  const reg = (body: unknown, token: string) => call("PUT", "/v1/catalog/register", token, JSON.stringify(body));

  const noNode = await reg({ Node: "n1", Address: "10.0.0.1" }, svcOnly.secret);
  assert.equal(noNode.status, 403);
  assert.equal(noNode.text, `Permission denied: token with AccessorID '${svcOnly.accessor}' lacks permission 'node:write' on "n1"`);
  assert.equal((await reg({ Node: "n1", Address: "10.0.0.1" }, nodeWriter.secret)).text, "true");
  // re-posting the same node fields with a service needs only service:write
  assert.equal((await reg({ Node: "n1", Address: "10.0.0.1", Service: { Service: "web", ID: "web1" } }, svcOnly.secret)).text, "true");
  const other = await reg({ Node: "n1", Address: "10.0.0.1", Service: { Service: "db" } }, svcOnly.secret);
  assert.equal(other.status, 403);
  assert.equal(other.text, `Permission denied: token with AccessorID '${svcOnly.accessor}' lacks permission 'service:write' on "db"`);
  const moved = await reg({ Node: "n1", Address: "10.0.0.2", Service: { Service: "web", ID: "web1" } }, svcOnly.secret);
  assert.equal(moved.status, 403, "a changed address needs node:write");
  const nodeCheck = await reg({ Node: "n1", Address: "10.0.0.1", Check: { CheckID: "c1", Name: "c1" } }, svcOnly.secret);
  assert.equal(nodeCheck.status, 403);
  assert.equal((await reg({ Node: "n1", Address: "10.0.0.1", Check: { CheckID: "c2", Name: "c2", ServiceID: "web1" } }, svcOnly.secret)).text, "true");

  const dereg = (body: unknown, token: string) => call("PUT", "/v1/catalog/deregister", token, JSON.stringify(body));
  assert.equal((await dereg({ Node: "n1" }, svcOnly.secret)).status, 403);
  assert.equal((await dereg({ Node: "n1", CheckID: "c2" }, svcOnly.secret)).text, "true");
  assert.equal((await dereg({ Node: "n1", ServiceID: "web1" }, svcOnly.secret)).text, "true");
  assert.equal((await dereg({ Node: "n1" }, nodeWriter.secret)).text, "true");
});

test("catalog and health reads are filtered by node:read and service:read, with the header", async () => {
  const reg = (body: unknown) => call("PUT", "/v1/catalog/register", ROOT, JSON.stringify(body));
  assert.equal((await reg({ Node: "n2", Address: "10.0.0.2", Service: { Service: "web", ID: "web" }, Check: { CheckID: "web-c", Name: "w", ServiceID: "web", Status: "passing" } })).text, "true");
  assert.equal((await reg({ Node: "n2", Address: "10.0.0.2", Service: { Service: "db", ID: "db" }, Check: { CheckID: "db-c", Name: "d", ServiceID: "db", Status: "passing" } })).text, "true");
  assert.equal((await reg({ Node: "n3", Address: "10.0.0.3", Service: { Service: "web", ID: "web" } })).text, "true");
  assert.equal((await reg({ Node: "n2", Address: "10.0.0.2", Check: { CheckID: "node-c", Name: "n", Status: "passing" } })).text, "true");
  const viewer = await tokenWith(`node "n2" { policy = "read" }\nservice "web" { policy = "read" }`);
  const get = async (path: string) => {
    const r = await call("GET", path, viewer.secret);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return { body: JSON.parse(r.text) as unknown, filtered: r.headers.get("X-Consul-Results-Filtered-By-ACLs") };
  };

  const nodes = await get("/v1/catalog/nodes");
  assert.deepEqual((nodes.body as { Node: string }[]).map((n) => n.Node), ["n2"]);
  assert.equal(nodes.filtered, "true");
  const services = await get("/v1/catalog/services");
  assert.deepEqual(Object.keys(services.body as object), ["web"]);
  const web = await get("/v1/catalog/service/web");
  assert.deepEqual((web.body as { Node: string }[]).map((n) => n.Node), ["n2"]);
  assert.equal(web.filtered, "true");
  const node = await get("/v1/catalog/node/n2");
  assert.deepEqual(Object.keys((node.body as { Services: object }).Services), ["web"]);
  assert.equal((await get("/v1/catalog/node/n3")).body, null, "an unreadable node reads as unknown");
  assert.deepEqual(await get("/v1/catalog/node-services/n3").then((r) => r.body), { Node: null, Services: null });

  const health = await get("/v1/health/service/web");
  assert.deepEqual((health.body as { Node: { Node: string } }[]).map((e) => e.Node.Node), ["n2"]);
  assert.equal(health.filtered, "true");
  const checks = await get("/v1/health/node/n2");
  assert.deepEqual((checks.body as { CheckID: string }[]).map((c) => c.CheckID).sort(), ["node-c", "web-c"]);
  assert.equal(checks.filtered, "true");
  const state = await get("/v1/health/state/passing");
  assert.ok((state.body as { CheckID: string }[]).every((c) => c.CheckID !== "db-c"));
  // unfiltered answers carry no header; the management token sees everything
  const webChecks = await get("/v1/health/checks/web");
  assert.deepEqual((webChecks.body as { CheckID: string }[]).map((c) => c.CheckID), ["web-c"]);
  assert.equal(webChecks.filtered, null, "nothing was hidden");
  const all = await call("GET", "/v1/catalog/service/web", ROOT);
  assert.equal((JSON.parse(all.text) as unknown[]).length, 2);
  assert.equal(all.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);
});

test("agent endpoints: agent read/write on this node, services and checks by what they belong to", async () => {
  const t = await tokenWith(`agent "test-node" { policy = "read" }\nservice "api" { policy = "write" }\nnode "other" { policy = "read" }`);
  const put = (path: string, body?: unknown) => call("PUT", path, t.secret, body === undefined ? undefined : JSON.stringify(body));
  assert.equal((await call("GET", "/v1/agent/self", t.secret)).status, 200);
  const reload = await put("/v1/agent/reload");
  assert.equal(reload.status, 403);
  assert.equal(reload.text, `Permission denied: token with AccessorID '${t.accessor}' lacks permission 'agent:write' on "test-node"`);
  assert.equal((await call("GET", "/v1/agent/host", t.secret)).status, 403);
  assert.equal((await put("/v1/agent/maintenance?enable=true")).status, 403);
  assert.equal((await put("/v1/agent/force-leave/x")).status, 403);
  assert.deepEqual(JSON.parse((await call("GET", "/v1/agent/members", t.secret)).text), [], "test-node is not readable");

  assert.equal((await put("/v1/agent/service/register", { Name: "api", ID: "api1" })).status, 200);
  const db = await put("/v1/agent/service/register", { Name: "db" });
  assert.equal(db.status, 403);
  assert.equal(db.text, `Permission denied: token with AccessorID '${t.accessor}' lacks permission 'service:write' on "db"`);
  assert.equal((await call("PUT", "/v1/agent/service/register", ROOT, JSON.stringify({ Name: "db" }))).status, 200);
  assert.deepEqual(Object.keys(JSON.parse((await call("GET", "/v1/agent/services", t.secret)).text) as object), ["api1"]);
  assert.equal((await call("GET", "/v1/agent/service/db", t.secret)).status, 403);
  assert.equal((await call("GET", "/v1/agent/service/api1", t.secret)).status, 200);
  assert.equal((await put("/v1/agent/service/deregister/db")).status, 403);

  const nodeCheck = await put("/v1/agent/check/register", { Name: "disk", TTL: "30s" });
  assert.equal(nodeCheck.status, 403);
  assert.equal(nodeCheck.text, `Permission denied: token with AccessorID '${t.accessor}' lacks permission 'node:write' on "test-node"`);
  assert.equal((await put("/v1/agent/check/register", { Name: "api-ttl", CheckID: "api-ttl", TTL: "30s", ServiceID: "api1" })).status, 200);
  assert.equal((await put("/v1/agent/check/pass/api-ttl")).status, 200);
  assert.equal((await call("PUT", "/v1/agent/check/register", ROOT, JSON.stringify({ Name: "disk", CheckID: "disk", TTL: "30s" }))).status, 200);
  assert.equal((await put("/v1/agent/check/pass/disk")).status, 403);
  assert.deepEqual(Object.keys(JSON.parse((await call("GET", "/v1/agent/checks", t.secret)).text) as object), ["api-ttl"]);
  assert.equal((await put("/v1/agent/service/deregister/api1")).status, 200);
});

test("a cold health answer sent while encoded (chunked) is filtered like any other, with the header", async () => {
  // Ten writes in flight at a time: each call's 5 s bound then covers its own batch, not a
  // queue of 100 writes (on a loaded machine the last of 100 sent at once answered after 5-6 s).
  for (let from = 0; from < 100; from += 10) {
    const writes: Promise<unknown>[] = [];
    for (let i = from; i < from + 10; i++) {
      const body = { Node: `wide-${i}`, Address: "10.3.0.1", Service: { Service: "wide", ID: "wide" }, Check: { CheckID: "wide-c", Name: "w", ServiceID: "wide", Status: "passing" } };
      writes.push(call("PUT", "/v1/catalog/register", ROOT, JSON.stringify(body)).then((r) => assert.equal(r.text, "true")));
    }
    await Promise.all(writes);
  }
  const viewer = await tokenWith(`node_prefix "wide-" { policy = "read" }\nnode "wide-5" { policy = "deny" }\nservice "wide" { policy = "read" }`);
  const seen = await call("GET", "/v1/health/service/wide", viewer.secret);
  assert.equal(seen.status, 200);
  assert.equal(seen.headers.get("transfer-encoding"), "chunked", "99 visible entries to encode: sent while encoded");
  assert.equal(seen.headers.get("X-Consul-Results-Filtered-By-ACLs"), "true");
  const names = (JSON.parse(seen.text) as { Node: { Node: string } }[]).map((e) => e.Node.Node);
  assert.equal(names.length, 99);
  assert.ok(!names.includes("wide-5"));
  const all = await call("GET", "/v1/health/service/wide", ROOT);
  assert.equal((JSON.parse(all.text) as unknown[]).length, 100);
  assert.equal(all.headers.get("X-Consul-Results-Filtered-By-ACLs"), null);
});
