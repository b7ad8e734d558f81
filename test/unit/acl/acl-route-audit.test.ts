import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createLeafKeyAndCsr } from "../../../src/connect/leaf-key.ts";
import { routes, type Method } from "../../../src/http/routes.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// The ACL audit of every registered route (spec/acl.md §8). Each method of each route in
// src/http/routes.ts must be listed below as one of:
//   denied    a token without the permission gets 403 naming exactly that permission
//   filtered  the answer is 200 and leaves out what the token may not read (the management
//             token sees the "hidden" objects in the same answer; this token does not)
//   public    Consul checks no permission here (status, CA roots, bootstrap, token/self…)
// A route added to the table without an entry here fails this test, so no endpoint can ship
// without a decision about its permission.

const ROOT = "6c1a2b3d-4e5f-4a7b-9c8d-0e1f2a3b4c5d";

interface Sample {
  path: string;
  body?: unknown;
}
type Expectation =
  | { kind: "denied"; permission: string; sample: Sample; /** when not 403 (txn: 409 with the errors) */ status?: number; /** Consul answers this one without naming the permission: "" (pprof) or plain "Permission denied" */ text?: string }
  | { kind: "filtered"; sample: Sample; /** false: nothing hidden can appear in this answer here (no gateways, no Connect) */ marker?: false; /** Consul's status when all of it is hidden, when not 200 */ hiddenStatus?: number }
  | { kind: "public"; sample: Sample; why: string };

const denied = (permission: string, path: string, body?: unknown): Expectation => ({ kind: "denied", permission, sample: { path, body } });
const filtered = (path: string, marker?: false): Expectation => ({ kind: "filtered", sample: { path }, marker });
const publicRoute = (path: string, why: string, body?: unknown): Expectation => ({ kind: "public", sample: { path, body }, why });

const NODE = "test-node"; // the agent's own node
const AUDIT: Record<string, Expectation> = {
  // ---- agent
  "GET /v1/agent/self": denied("agent:read", "/v1/agent/self"),
  "GET /v1/agent/members": filtered("/v1/agent/members", false),
  "GET /v1/agent/host": denied("operator:read", "/v1/agent/host"),
  "GET /v1/agent/version": publicRoute("/v1/agent/version", "Consul's AgentVersion checks no ACL"),
  "GET /v1/agent/metrics": denied("agent:read", "/v1/agent/metrics"),
  "GET /v1/agent/monitor": denied("agent:read", "/v1/agent/monitor"),
  "GET /v1/agent/metrics/stream": denied("agent:read", "/v1/agent/metrics/stream"),
  "GET /debug/pprof/profile": { kind: "denied", permission: "operator:read", sample: { path: "/debug/pprof/profile?seconds=1" }, text: "" },
  "GET /debug/pprof/heap": { kind: "denied", permission: "operator:read", sample: { path: "/debug/pprof/heap" }, text: "" },
  "GET /debug/pprof/goroutine": { kind: "denied", permission: "operator:read", sample: { path: "/debug/pprof/goroutine" }, text: "" },
  "GET /debug/pprof/trace": { kind: "denied", permission: "operator:read", sample: { path: "/debug/pprof/trace?seconds=1" }, text: "" },
  "PUT /v1/agent/reload": denied("agent:write", "/v1/agent/reload"),
  "PUT /v1/agent/maintenance": denied("node:write", "/v1/agent/maintenance?enable=true"),
  "PUT /v1/agent/join/": denied("agent:write", "/v1/agent/join/127.0.0.1:1"),
  "PUT /v1/agent/leave": denied("agent:write", "/v1/agent/leave"),
  "PUT /v1/agent/force-leave/": denied("operator:write", "/v1/agent/force-leave/hidden-node"),
  "PUT /v1/agent/token/": denied("acl:write", "/v1/agent/token/default", { Token: "x" }),
  "GET /v1/agent/services": filtered("/v1/agent/services"),
  "PUT /v1/agent/service/register": denied("service:write", "/v1/agent/service/register", { Name: "hidden-new", Port: 1 }),
  "PUT /v1/agent/service/deregister/": denied("service:write", "/v1/agent/service/deregister/hidden-svc"),
  "PUT /v1/agent/service/maintenance/": denied("service:write", "/v1/agent/service/maintenance/hidden-svc?enable=true"),
  "GET /v1/agent/service/": denied("service:read", "/v1/agent/service/hidden-svc"),
  "GET /v1/agent/health/service/name/": denied("service:read", "/v1/agent/health/service/name/hidden-svc"),
  "GET /v1/agent/health/service/id/": denied("service:read", "/v1/agent/health/service/id/hidden-svc"),
  "GET /v1/agent/checks": filtered("/v1/agent/checks"),
  "PUT /v1/agent/check/register": denied("node:write", "/v1/agent/check/register", { Name: "hidden-new-check", TTL: "30s" }),
  "PUT /v1/agent/check/deregister/": denied("node:write", "/v1/agent/check/deregister/hidden-node-check"),
  "PUT /v1/agent/check/pass/": denied("node:write", "/v1/agent/check/pass/hidden-node-check"),
  "PUT /v1/agent/check/warn/": denied("node:write", "/v1/agent/check/warn/hidden-node-check"),
  "PUT /v1/agent/check/fail/": denied("node:write", "/v1/agent/check/fail/hidden-node-check"),
  "PUT /v1/agent/check/update/": denied("node:write", "/v1/agent/check/update/hidden-node-check", { Status: "passing" }),

  // ---- catalog
  "PUT /v1/catalog/register": denied("node:write", "/v1/catalog/register", { Node: "hidden-node", Address: "10.9.9.8" }),
  "PUT /v1/catalog/deregister": denied("node:write", "/v1/catalog/deregister", { Node: "hidden-node" }),
  "GET /v1/catalog/datacenters": publicRoute("/v1/catalog/datacenters", "datacenter names are not protected"),
  "GET /v1/catalog/nodes": filtered("/v1/catalog/nodes"),
  "GET /v1/catalog/services": filtered("/v1/catalog/services"),
  "GET /v1/catalog/service/": filtered("/v1/catalog/service/hidden-svc"),
  "GET /v1/catalog/connect/": filtered("/v1/catalog/connect/hidden-svc", false),
  "GET /v1/catalog/node/": filtered("/v1/catalog/node/hidden-node"),
  "GET /v1/catalog/node-services/": filtered("/v1/catalog/node-services/hidden-node"),
  "GET /v1/catalog/gateway-services/": denied("service:read", "/v1/catalog/gateway-services/hidden-gateway"),

  // ---- health
  "GET /v1/health/node/": filtered("/v1/health/node/hidden-node"),
  "GET /v1/health/checks/": filtered("/v1/health/checks/hidden-svc"),
  "GET /v1/health/service/": filtered("/v1/health/service/hidden-svc"),
  "GET /v1/health/connect/": filtered("/v1/health/connect/hidden-svc", false),
  "GET /v1/health/ingress/": filtered("/v1/health/ingress/hidden-svc", false),
  "GET /v1/health/state/": filtered("/v1/health/state/any"),

  // ---- kv
  "GET /v1/kv/": denied("key:read", "/v1/kv/hidden/k"),
  "PUT /v1/kv/": denied("key:write", "/v1/kv/hidden/k", "v"),
  "DELETE /v1/kv/": denied("key:write", "/v1/kv/hidden/k"),

  // ---- status
  "GET /v1/status/leader": publicRoute("/v1/status/leader", "Consul's Status endpoints check no ACL"),
  "GET /v1/status/peers": publicRoute("/v1/status/peers", "Consul's Status endpoints check no ACL"),

  // ---- session
  "PUT /v1/session/create": denied("session:write", "/v1/session/create", { Node: NODE, Checks: [] }),
  "PUT /v1/session/destroy/": denied("session:write", "/v1/session/destroy/{session}"),
  "GET /v1/session/info/": filtered("/v1/session/info/{session}"),
  "GET /v1/session/node/": filtered(`/v1/session/node/${NODE}`),
  "GET /v1/session/list": filtered("/v1/session/list"),
  "PUT /v1/session/renew/": denied("session:write", "/v1/session/renew/{session}"),

  // ---- txn (checked per operation)
  "PUT /v1/txn": { kind: "denied", permission: "key:write", sample: { path: "/v1/txn", body: [{ KV: { Verb: "set", Key: "hidden/k", Value: "dg==" } }] }, status: 409 },

  // ---- event
  // Consul's EventFire answers a plain "Permission denied".
  "PUT /v1/event/fire/": { kind: "denied", permission: "event:write", sample: { path: "/v1/event/fire/hidden-event" }, text: "Permission denied" },
  "GET /v1/event/list": filtered("/v1/event/list"),

  // ---- operator
  "GET /v1/operator/raft/configuration": denied("operator:read", "/v1/operator/raft/configuration"),
  "DELETE /v1/operator/raft/peer": denied("operator:write", "/v1/operator/raft/peer?address=127.0.0.1:1"),
  "POST /v1/operator/raft/transfer-leader": denied("operator:write", "/v1/operator/raft/transfer-leader"),
  "GET /v1/operator/autopilot/configuration": denied("operator:read", "/v1/operator/autopilot/configuration"),
  "PUT /v1/operator/autopilot/configuration": denied("operator:write", "/v1/operator/autopilot/configuration", { CleanupDeadServers: true }),
  "GET /v1/operator/autopilot/health": denied("operator:read", "/v1/operator/autopilot/health"),
  "GET /v1/operator/autopilot/state": denied("operator:read", "/v1/operator/autopilot/state"),
  "GET /v1/operator/keyring": denied("keyring:read", "/v1/operator/keyring"),
  "POST /v1/operator/keyring": denied("keyring:write", "/v1/operator/keyring", { Key: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=" }),
  "PUT /v1/operator/keyring": denied("keyring:write", "/v1/operator/keyring", { Key: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=" }),
  "DELETE /v1/operator/keyring": denied("keyring:write", "/v1/operator/keyring", { Key: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=" }),

  // ---- connect
  "GET /v1/connect/ca/roots": publicRoute("/v1/connect/ca/roots", "CA roots are public"),
  "GET /v1/connect/ca/configuration": denied("operator:write", "/v1/connect/ca/configuration"),
  "PUT /v1/connect/ca/configuration": denied("operator:write", "/v1/connect/ca/configuration", { Provider: "consul", Config: {} }),
  "GET /v1/agent/connect/ca/roots": publicRoute("/v1/agent/connect/ca/roots", "CA roots are public"),
  "GET /v1/agent/connect/ca/leaf/": denied("service:write", "/v1/agent/connect/ca/leaf/hidden-svc"),
  "POST /v1/agent/connect/authorize": denied("service:write", "/v1/agent/connect/authorize", { Target: "hidden-svc", ClientCertURI: "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web" }),
  "GET /v1/connect/intentions": filtered("/v1/connect/intentions"),
  "POST /v1/connect/intentions": denied("intention:write", "/v1/connect/intentions", { SourceName: "web", DestinationName: "hidden-new", Action: "allow" }),
  "GET /v1/connect/intentions/exact": denied("intention:read", "/v1/connect/intentions/exact?source=web&destination=hidden-svc"),
  "PUT /v1/connect/intentions/exact": denied("intention:write", "/v1/connect/intentions/exact?source=web&destination=hidden-svc", { Action: "deny" }),
  "DELETE /v1/connect/intentions/exact": denied("intention:write", "/v1/connect/intentions/exact?source=web&destination=hidden-svc"),
  // Consul's Intention.Match answers a plain "Permission denied".
  "GET /v1/connect/intentions/match": { kind: "denied", permission: "intention:read", sample: { path: "/v1/connect/intentions/match?by=destination&name=hidden-svc" }, text: "Permission denied" },
  "GET /v1/connect/intentions/check": denied("service:read", "/v1/connect/intentions/check?source=web&destination=hidden-svc"),
  "GET /v1/connect/intentions/": denied("intention:read", "/v1/connect/intentions/{intention}"),
  "PUT /v1/connect/intentions/": denied("intention:write", "/v1/connect/intentions/{intention}", { SourceName: "web", DestinationName: "hidden-svc", Action: "deny" }),
  "DELETE /v1/connect/intentions/": denied("intention:write", "/v1/connect/intentions/{intention}"),
  "PUT /v1/config": denied("service:write", "/v1/config", { Kind: "service-defaults", Name: "hidden-svc", Protocol: "http" }),
  "GET /v1/config/": denied("service:read", "/v1/config/service-defaults/hidden-svc"),
  "DELETE /v1/config/": denied("service:write", "/v1/config/service-defaults/hidden-svc"),
  "GET /v1/discovery-chain/": denied("service:read", "/v1/discovery-chain/hidden-svc"),
  "POST /v1/discovery-chain/": denied("service:read", "/v1/discovery-chain/hidden-svc", {}),
  "POST /v1/internal/consulate/connect-ca/sign": denied("service:write", "/v1/internal/consulate/connect-ca/sign", { CSR: "{csr}" }),
  // ---- network coordinates
  "GET /v1/coordinate/datacenters": publicRoute("/v1/coordinate/datacenters", "Consul's Coordinate.ListDatacenters checks no ACL"),
  "GET /v1/coordinate/nodes": filtered("/v1/coordinate/nodes", false),
  "GET /v1/coordinate/node/": denied("node:read", "/v1/coordinate/node/hidden-node"),
  "PUT /v1/coordinate/update": denied("node:write", "/v1/coordinate/update", { Node: "hidden-node", Segment: "", Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 } }),

  // ---- prepared queries (Consul's PreparedQuery endpoints answer a plain "Permission denied")
  "GET /v1/query": filtered("/v1/query"),
  "POST /v1/query": { kind: "denied", permission: "query:write", sample: { path: "/v1/query", body: { Name: "hidden-new-query", Service: { Service: "web" } } }, text: "Permission denied" },
  "GET /v1/query/": { kind: "denied", permission: "query:read", sample: { path: "/v1/query/{query}" }, text: "Permission denied" },
  "PUT /v1/query/": { kind: "denied", permission: "query:write", sample: { path: "/v1/query/{query}", body: { Name: "hidden-query", Service: { Service: "hidden-svc" } } }, text: "Permission denied" },
  "DELETE /v1/query/": { kind: "denied", permission: "query:write", sample: { path: "/v1/query/{query}" }, text: "Permission denied" },
  "POST /v1/internal/consulate/query/execute-remote": publicRoute(
    "/v1/internal/consulate/query/execute-remote",
    "a failing-over datacenter runs the rendered query with the token it carries; the answer is filtered by that token's service:read/node:read as /execute is",
    { Query: { Name: "web", Service: { Service: "web" } } },
  ),

  "GET /v1/snapshot": denied("acl:write", "/v1/snapshot"),
  "PUT /v1/snapshot": denied("acl:write", "/v1/snapshot", "not-a-snapshot"),

  // ---- web UI summaries
  "GET /v1/internal/ui/services": filtered("/v1/internal/ui/services"),
  "GET /v1/internal/ui/nodes": filtered("/v1/internal/ui/nodes"),
  // Consul's NodeInfo filters the node away, and the UI endpoint then answers 404.
  "GET /v1/internal/ui/node/": { kind: "filtered", sample: { path: "/v1/internal/ui/node/hidden-node" }, hiddenStatus: 404 },

  // ---- acl
  "PUT /v1/acl/bootstrap": publicRoute("/v1/acl/bootstrap", "anyone may try; only the first attempt succeeds"),
  "GET /v1/acl/replication": publicRoute("/v1/acl/replication", "Consul's ACL.ReplicationStatus checks no ACL"),
  "GET /v1/acl/tokens": denied("acl:read", "/v1/acl/tokens"),
  "PUT /v1/acl/token": denied("acl:write", "/v1/acl/token", { Description: "x" }),
  "GET /v1/acl/token/self": publicRoute("/v1/acl/token/self", "reads the caller's own token"),
  "GET /v1/acl/token/": denied("acl:read", "/v1/acl/token/00000000-0000-0000-0000-000000000002"),
  "PUT /v1/acl/token/": denied("acl:write", "/v1/acl/token/00000000-0000-0000-0000-000000000002", { Description: "x" }),
  "DELETE /v1/acl/token/": denied("acl:write", "/v1/acl/token/{rootAccessor}"),
  "GET /v1/acl/policies": denied("acl:read", "/v1/acl/policies"),
  "PUT /v1/acl/policy": denied("acl:write", "/v1/acl/policy", { Name: "hidden-policy", Rules: "" }),
  "GET /v1/acl/policy/name/": denied("acl:read", "/v1/acl/policy/name/global-management"),
  "GET /v1/acl/policy/": denied("acl:read", "/v1/acl/policy/00000000-0000-0000-0000-000000000001"),
  "PUT /v1/acl/policy/": denied("acl:write", "/v1/acl/policy/00000000-0000-0000-0000-000000000001", { Name: "global-management" }),
  "DELETE /v1/acl/policy/": denied("acl:write", "/v1/acl/policy/00000000-0000-0000-0000-000000000001"),
  "GET /v1/acl/roles": denied("acl:read", "/v1/acl/roles"),
  "PUT /v1/acl/role": denied("acl:write", "/v1/acl/role", { Name: "hidden-role" }),
  "GET /v1/acl/role/name/": denied("acl:read", "/v1/acl/role/name/hidden-role"),
  "GET /v1/acl/role/": denied("acl:read", "/v1/acl/role/{role}"),
  "PUT /v1/acl/role/": denied("acl:write", "/v1/acl/role/{role}", { Name: "hidden-role" }),
  "DELETE /v1/acl/role/": denied("acl:write", "/v1/acl/role/{role}"),
  "GET /v1/acl/templated-policies": denied("acl:read", "/v1/acl/templated-policies"),
  "GET /v1/acl/templated-policy/name/": denied("acl:read", "/v1/acl/templated-policy/name/builtin/service"),
};

let agent: TestAgent;
/** A real token whose one policy grants nothing any sample touches. */
let noPermission = "";
const ids: Record<string, string> = {};

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(agent.base + path, {
    method,
    headers: { "X-Consul-Token": token },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(8000),
  });
  return { status: res.status, text: await res.text() };
}

async function asRoot(method: string, path: string, body?: unknown): Promise<string> {
  const res = await call(method, path, ROOT, body);
  assert.equal(res.status, 200, `${method} ${path}: ${res.text}`);
  return res.text;
}

before(async () => {
  // devMode: Connect on, so the CA endpoints get past "Connect must be enabled" to their ACL check.
  agent = await startTestAgent({ aclDefaultPolicy: "deny", devMode: true }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  await eventually("initial management token", async () => (await call("GET", "/v1/acl/token/self", ROOT)).status === 200);
  await eventually("the agent's node in the catalog", async () => (await call("GET", `/v1/catalog/node/${NODE}`, ROOT)).text.includes(NODE));
  await asRoot("PUT", "/v1/acl/policy", { Name: "unrelated", Rules: 'key "unrelated" { policy = "read" }' });
  noPermission = (JSON.parse(await asRoot("PUT", "/v1/acl/token", { Policies: [{ Name: "unrelated" }] })) as { SecretID: string }).SecretID;
  ids.rootAccessor = (JSON.parse(await asRoot("GET", "/v1/acl/token/self")) as { AccessorID: string }).AccessorID;
  // What the filtered answers must leave out.
  await asRoot("PUT", "/v1/catalog/register", {
    Node: "hidden-node",
    Address: "10.9.9.9",
    Service: { Service: "hidden-svc", ID: "hidden-svc", Port: 80 },
    Checks: [{ CheckID: "hidden-svc-check", Name: "hidden", ServiceID: "hidden-svc", Status: "passing" }],
  });
  await asRoot("PUT", "/v1/agent/service/register", { Name: "hidden-svc", Port: 80, Check: { CheckID: "hidden-svc-ttl", TTL: "30s" } });
  await asRoot("PUT", "/v1/agent/check/register", { ID: "hidden-node-check", Name: "hidden node check", TTL: "30s" });
  await asRoot("PUT", "/v1/kv/hidden/k", "v");
  ids.session = (JSON.parse(await asRoot("PUT", "/v1/session/create", { Node: NODE, Name: "hidden-session", Checks: [] })) as { ID: string }).ID;
  await asRoot("PUT", "/v1/event/fire/hidden-event");
  await asRoot("PUT", "/v1/connect/intentions/exact?source=web&destination=hidden-svc", { Action: "allow" });
  ids.intention = (JSON.parse(await asRoot("POST", "/v1/connect/intentions", { SourceName: "web2", DestinationName: "hidden-svc", Action: "allow" })) as { ID: string }).ID;
  await asRoot("PUT", "/v1/config", { Kind: "service-defaults", Name: "hidden-svc", Protocol: "http" });
  ids.query = (JSON.parse(await asRoot("POST", "/v1/query", { Name: "hidden-query", Service: { Service: "hidden-svc" } })) as { ID: string }).ID;
  ids.role = (JSON.parse(await asRoot("PUT", "/v1/acl/role", { Name: "hidden-role" })) as { ID: string }).ID;
  await eventually("the Connect CA", async () => (await call("GET", "/v1/connect/ca/roots", ROOT)).text.includes("TrustDomain"));
  const trustDomain = (JSON.parse(await asRoot("GET", "/v1/connect/ca/roots")) as { TrustDomain: string }).TrustDomain;
  ids.csr = (await createLeafKeyAndCsr(`spiffe://${trustDomain}/ns/default/dc/dc1/svc/hidden-svc`, "hidden-svc")).csrPem;
});

after(async () => {
  await agent.stop();
});

function fill(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? assert.fail(`no id for {${name}}`));
}

function fillBody(body: unknown): unknown {
  return body && typeof body === "object" && "CSR" in body ? { CSR: ids.csr } : body;
}

test("every registered route and method has an ACL audit entry, and every entry a route", () => {
  const registered = routes.flatMap((r) => (Object.keys(r.methods) as Method[]).map((m) => `${m} ${r.path}`));
  const missing = registered.filter((k) => !(k in AUDIT));
  assert.deepEqual(missing, [], "routes without an ACL decision: add them to AUDIT with the permission spec/acl.md §8 requires");
  const stale = Object.keys(AUDIT).filter((k) => !registered.includes(k));
  assert.deepEqual(stale, [], "AUDIT entries for routes that no longer exist");
});

test("each route enforces its permission: denied with the right permission, filtered, or public by design", async () => {
  const failures: string[] = [];
  for (const [key, expect] of Object.entries(AUDIT)) {
    const method = key.slice(0, key.indexOf(" "));
    const path = fill(expect.sample.path);
    const body = fillBody(expect.sample.body);
    const res = await call(method, path, noPermission, body);
    if (expect.kind === "denied") {
      const named = expect.text !== undefined ? res.text === expect.text : res.text.includes(`lacks permission '${expect.permission}'`);
      if (res.status !== (expect.status ?? 403) || !named) failures.push(`${key}: want ${expect.status ?? 403} lacking ${expect.permission}, got ${res.status} ${res.text.slice(0, 160)}`);
    } else if (expect.kind === "filtered") {
      const want = expect.hiddenStatus ?? 200;
      if (res.status !== want) failures.push(`${key}: want a filtered ${want}, got ${res.status} ${res.text.slice(0, 160)}`);
      else if (/hidden/.test(res.text)) failures.push(`${key}: leaks: ${res.text.slice(0, 160)}`);
      if (expect.marker !== false) {
        const full = await call(method, path, ROOT);
        if (!/hidden/.test(full.text)) failures.push(`${key}: the management token should see the hidden objects here (got ${full.status} ${full.text.slice(0, 120)})`);
      }
    } else if (res.status === 403 && /lacks permission/.test(res.text)) {
      failures.push(`${key}: public (${expect.why}) but refused: ${res.text.slice(0, 160)}`);
    }
  }
  assert.deepEqual(failures, []);
});
