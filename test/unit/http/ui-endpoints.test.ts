import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// /v1/internal/ui/services, /nodes, /node/:node (spec/ui.md §3.2): Consul's summary shapes,
// node checks counted in service totals once per (node, CheckID), blocking like other reads.

let agent: TestAgent;

async function put(path: string, body: unknown): Promise<void> {
  const res = await fetch(agent.base + path, { method: "PUT", body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
}

before(async () => {
  agent = await startTestAgent();
  await put("/v1/catalog/register", {
    Node: "web-1",
    Address: "10.0.0.1",
    Check: { CheckID: "serfHealth", Name: "Serf", Status: "passing" },
    Service: { ID: "web-a", Service: "web", Tags: ["v2", "blue"], Port: 80, Meta: { "external-source": "k8s" } },
    Checks: [{ CheckID: "web-a-http", Name: "http", Status: "critical", ServiceID: "web-a", Output: "down" }],
  });
  await put("/v1/catalog/register", { Node: "web-1", Address: "10.0.0.1", Service: { ID: "web-b", Service: "web", Tags: ["blue"], Port: 81 } });
  await put("/v1/catalog/register", {
    Node: "web-2",
    Address: "10.0.0.2",
    Service: { ID: "web-sidecar", Service: "web-sidecar-proxy", Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "web" } },
    Check: { CheckID: "proxy-alive", Name: "alive", Status: "warning", ServiceID: "web-sidecar" },
  });
  await put("/v1/catalog/register", { Node: "db-1", Address: "10.0.0.3" });
});

after(async () => {
  await agent.stop();
});

test("services: one summary per name with Consul's fields, proxies as rows of their own", async () => {
  const res = await fetch(`${agent.base}/v1/internal/ui/services`);
  assert.equal(res.status, 200);
  assert.ok(Number(res.headers.get("x-consul-index")) > 0);
  const rows = (await res.json()) as Record<string, unknown>[];
  const web = rows.find((r) => r.Name === "web");
  assert.deepEqual(web, {
    Name: "web",
    Datacenter: "dc1",
    Tags: ["blue", "v2"],
    Nodes: ["web-1"],
    ExternalSources: ["k8s"],
    InstanceCount: 2,
    // serfHealth once (shared by both instances), web-a-http, and the proxy's check.
    ChecksPassing: 1,
    ChecksWarning: 1,
    ChecksCritical: 1,
    GatewayConfig: {},
    TransparentProxy: false,
    ConnectNative: false,
    ConnectedWithProxy: true,
    ConnectedWithGateway: false,
  });
  const proxy = rows.find((r) => r.Name === "web-sidecar-proxy");
  assert.equal(proxy?.Kind, "connect-proxy");
  assert.equal(proxy?.Tags, null);
  const names = rows.map((r) => String(r.Name));
  assert.deepEqual(names, [...names].sort());
});

test("nodes and node: NodeInfo with services and checks ([] never null); unknown node 404, none 400", async () => {
  const nodes = (await (await fetch(`${agent.base}/v1/internal/ui/nodes`)).json()) as Record<string, unknown>[];
  const db = nodes.find((n) => n.Node === "db-1");
  assert.deepEqual(Object.keys(db ?? {}), ["ID", "Node", "Address", "TaggedAddresses", "Meta", "Services", "Checks"]);
  assert.deepEqual(db?.Services, []);
  assert.deepEqual(db?.Checks, []);

  const res = await fetch(`${agent.base}/v1/internal/ui/node/web-1`);
  assert.equal(res.status, 200);
  const web1 = (await res.json()) as { Services: { ID: string }[]; Checks: { CheckID: string; Output: string }[] };
  assert.deepEqual(web1.Services.map((s) => s.ID), ["web-a", "web-b"]);
  assert.deepEqual(web1.Checks.map((c) => c.CheckID), ["serfHealth", "web-a-http"]);

  const missing = await fetch(`${agent.base}/v1/internal/ui/node/nope`);
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), "");
  const none = await fetch(`${agent.base}/v1/internal/ui/node/`);
  assert.equal(none.status, 400);
  assert.equal(await none.text(), "Missing node name");

  const filtered = (await (await fetch(`${agent.base}/v1/internal/ui/nodes?filter=${encodeURIComponent('Address == "10.0.0.3"')}`)).json()) as unknown[];
  assert.equal(filtered.length, 1);
});

test("services blocks on ?index= until the catalog changes", async () => {
  const first = await fetch(`${agent.base}/v1/internal/ui/services`);
  const index = first.headers.get("x-consul-index");
  const started = Date.now();
  const waiting = fetch(`${agent.base}/v1/internal/ui/services?index=${index}&wait=60s`);
  await new Promise((r) => setTimeout(r, 200));
  await put("/v1/catalog/register", { Node: "api-1", Address: "10.0.0.9", Service: { Service: "api", Port: 9 } });
  const res = await waiting;
  const rows = (await res.json()) as { Name: string }[];
  assert.ok(rows.some((r) => r.Name === "api"));
  assert.ok(Number(res.headers.get("x-consul-index")) > Number(index));
  // Woke on the change, well before the 60 s wait ends (5 s was a budget a busy CI machine can overrun).
  assert.ok(Date.now() - started < 30_000);
});
