import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// /v1/internal/ui/* filtered like their public counterparts (Consul's Internal.ServiceDump,
// NodeDump, NodeInfo): instances need node:read + service:read; nodes need node:read and show
// only the services (and service checks) the token may read.

const ROOT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
let agent: TestAgent;
let web = "";

async function call(path: string, token?: string) {
  const res = await fetch(agent.base + path, { headers: token === undefined ? {} : { "X-Consul-Token": token }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function put(path: string, body: unknown) {
  const res = await fetch(agent.base + path, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

before(async () => {
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  await eventually("initial management token", async () => (await call("/v1/acl/token/self", ROOT)).status === 200);
  for (const [node, addr] of [["n1", "10.0.0.1"], ["n2", "10.0.0.2"]]) {
    for (const svc of ["web", "db"]) {
      await put("/v1/catalog/register", {
        Node: node,
        Address: addr,
        Service: { Service: svc, ID: svc, Port: 1 },
        Checks: [{ CheckID: `${svc}-check`, Name: `${svc} check`, ServiceID: svc, Status: "passing" }, { CheckID: "node-ok", Name: "node ok", Status: "passing" }],
      });
    }
  }
  await put("/v1/acl/policy", { Name: "web-on-n1", Rules: 'service "web" { policy = "read" }\nnode "n1" { policy = "read" }' });
  web = (JSON.parse(await put("/v1/acl/token", { Policies: [{ Name: "web-on-n1" }] })) as { SecretID: string }).SecretID;
});

after(async () => {
  await agent.stop();
});

const FILTERED = "x-consul-results-filtered-by-acls";

test("ui/services: only instances on readable nodes of readable services", async () => {
  const all = await call("/v1/internal/ui/services", ROOT);
  const names = (JSON.parse(all.text) as Array<{ Name: string; InstanceCount: number }>).filter((s) => s.Name !== "consul");
  assert.deepEqual(names.map((s) => [s.Name, s.InstanceCount]), [["db", 2], ["web", 2]]);
  assert.equal(all.headers.get(FILTERED), null);
  const seen = await call("/v1/internal/ui/services", web);
  const rows = JSON.parse(seen.text) as Array<{ Name: string; Nodes: string[]; InstanceCount: number }>;
  assert.deepEqual(rows.map((r) => [r.Name, r.Nodes, r.InstanceCount]), [["web", ["n1"], 1]]);
  assert.equal(seen.headers.get(FILTERED), "true");
  const anonymous = await call("/v1/internal/ui/services");
  assert.deepEqual(JSON.parse(anonymous.text), []);
  assert.equal(anonymous.headers.get(FILTERED), null, "never told to the anonymous token");
});

test("ui/nodes and ui/node/:node: readable nodes only, with only their readable services and checks", async () => {
  const nodes = await call("/v1/internal/ui/nodes", web);
  const infos = JSON.parse(nodes.text) as Array<{ Node: string; Services: Array<{ Service: string }>; Checks: Array<{ CheckID: string }> }>;
  assert.deepEqual(infos.map((n) => n.Node), ["n1"]);
  assert.deepEqual(infos[0].Services.map((s) => s.Service), ["web"]);
  assert.deepEqual(infos[0].Checks.map((c) => c.CheckID).sort(), ["node-ok", "web-check"]);
  assert.equal(nodes.headers.get(FILTERED), "true");

  const one = await call("/v1/internal/ui/node/n1", web);
  assert.equal(one.status, 200);
  assert.deepEqual((JSON.parse(one.text) as { Services: Array<{ Service: string }> }).Services.map((s) => s.Service), ["web"]);
  assert.equal(one.headers.get(FILTERED), "true");
  const hidden = await call("/v1/internal/ui/node/n2", web);
  assert.equal(hidden.status, 404, "a node the token may not read does not exist for it");
  assert.equal(hidden.text, "");
  const full = await call("/v1/internal/ui/node/n2", ROOT);
  assert.equal(full.status, 200);
  assert.equal((JSON.parse(full.text) as { Services: unknown[] }).Services.length, 2);
  assert.equal(full.headers.get(FILTERED), null);
});
