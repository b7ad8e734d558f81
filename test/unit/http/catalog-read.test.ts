import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { registerInCatalog, startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
  await register({ Node: "alpha", Address: "10.0.0.1", NodeMeta: { rack: "r1" }, Service: { ID: "web-1", Service: "web", Tags: ["V1", "prod"], Port: 80 } });
  await register({ Node: "beta", Address: "10.0.0.2", NodeMeta: { rack: "r2" }, Service: { ID: "web-2", Service: "web", Tags: ["v2"], Port: 81 } });
  await register({ Node: "beta", Address: "10.0.0.2", NodeMeta: { rack: "r2" }, Service: { ID: "db", Service: "db", Port: 5432 } });
});
after(() => agent.stop());

const register = (body: unknown): Promise<void> => registerInCatalog(agent, body);

interface Answer {
  status: number;
  text: string;
  index: number;
  headers: Headers;
}

async function get(path: string): Promise<Answer> {
  const res = await fetch(agent.base + path);
  return { status: res.status, text: await res.text(), index: Number(res.headers.get("x-consul-index")), headers: res.headers };
}

const body = (a: Answer): unknown => JSON.parse(a.text);
const ids = (a: Answer): string[] => (body(a) as { ServiceID: string }[]).map((s) => s.ServiceID);

test("catalog - datacenters lists the agent's datacenter", async () => {
  assert.deepEqual(body(await get("/v1/catalog/datacenters")), ["dc1"]);
});

test("catalog - nodes are sorted by name, node-meta keeps nodes having all pairs", async () => {
  const all = body(await get("/v1/catalog/nodes")) as { Node: string }[];
  assert.deepEqual(
    all.map((n) => n.Node),
    ["alpha", "beta", "test-node"],
  );
  const r2 = body(await get("/v1/catalog/nodes?node-meta=rack:r2")) as { Node: string }[];
  assert.deepEqual(
    r2.map((n) => n.Node),
    ["beta"],
  );
});

test("catalog - nodes ?filter selects on node fields; a bad filter is 400", async () => {
  const f = body(await get(`/v1/catalog/nodes?filter=${encodeURIComponent('Meta.rack == "r1"')}`)) as { Node: string }[];
  assert.deepEqual(
    f.map((n) => n.Node),
    ["alpha"],
  );
  const bad = await get(`/v1/catalog/nodes?filter=${encodeURIComponent("Nope == 1")}`);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /^Failed to create boolean expression evaluator/);
});

test("catalog - services maps names to the union of tags, including the consul service", async () => {
  const a = await get("/v1/catalog/services");
  assert.deepEqual(body(a), { consul: [], db: [], web: ["V1", "prod", "v2"] });
  assert.ok(a.index >= 1);
});

test("catalog - services ?filter is evaluated per instance", async () => {
  const a = await get(`/v1/catalog/services?filter=${encodeURIComponent('"v2" in ServiceTags')}`);
  assert.deepEqual(body(a), { web: ["v2"] });
});

test("catalog - service/:name is case-insensitive and ordered by node then service ID", async () => {
  assert.deepEqual(ids(await get("/v1/catalog/service/WEB")), ["web-1", "web-2"]);
});

test("catalog - service ?tag is repeatable, case-insensitive and requires all tags", async () => {
  assert.deepEqual(ids(await get("/v1/catalog/service/web?tag=v1")), ["web-1"]);
  assert.deepEqual(ids(await get("/v1/catalog/service/web?tag=v1&tag=PROD")), ["web-1"]);
  assert.deepEqual(ids(await get("/v1/catalog/service/web?tag=v1&tag=v2")), []);
});

test("catalog - service ?node-meta and ?filter narrow the instances", async () => {
  assert.deepEqual(ids(await get("/v1/catalog/service/web?node-meta=rack:r2")), ["web-2"]);
  assert.deepEqual(ids(await get(`/v1/catalog/service/web?filter=${encodeURIComponent("ServicePort == 80")}`)), ["web-1"]);
});

test("catalog - service ?near=_agent is accepted and keeps the default order", async () => {
  assert.deepEqual(ids(await get("/v1/catalog/service/web?near=_agent")), ["web-1", "web-2"]);
});

test("catalog - service-node shape carries node fields and normalised service fields", async () => {
  const [e] = body(await get("/v1/catalog/service/db")) as Record<string, unknown>[];
  assert.deepEqual(Object.keys(e), [
    "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceKind", "ServiceID", "ServiceName", "ServiceTags",
    "ServiceAddress", "ServiceWeights", "ServiceMeta", "ServicePort", "ServiceSocketPath", "ServiceEnableTagOverride", "ServiceProxy",
    "ServiceConnect", "ServiceLocality", "CreateIndex", "ModifyIndex",
  ]);
  assert.deepEqual(e.ServiceTags, []);
  assert.deepEqual(e.NodeMeta, { rack: "r2" });
  assert.equal(e.Datacenter, "dc1");
});

test("catalog - unknown service answers [] with an index never 0", async () => {
  const a = await get("/v1/catalog/service/nothing-here");
  assert.equal(a.status, 200);
  assert.deepEqual(body(a), []);
  assert.ok(a.index >= 1);
  assert.equal(a.headers.get("x-consul-knownleader"), "true");
  assert.ok(a.headers.get("x-consul-lastcontact") !== null);
});

test("catalog - missing service or node name answers 400", async () => {
  assert.deepEqual([(await get("/v1/catalog/service/")).status, (await get("/v1/catalog/service/")).text], [400, "Missing service name"]);
  assert.deepEqual([(await get("/v1/catalog/node/")).status, (await get("/v1/catalog/node/")).text], [400, "Missing node name"]);
  assert.equal((await get("/v1/catalog/gateway-services/")).text, "Missing gateway name");
});

test("catalog - node/:node maps service IDs to node-services; unknown node is 200 null", async () => {
  const a = body(await get("/v1/catalog/node/BETA")) as { Node: { Node: string }; Services: Record<string, Record<string, unknown>> };
  assert.equal(a.Node.Node, "beta");
  assert.deepEqual(Object.keys(a.Services), ["db", "web-2"]);
  assert.equal(a.Services.db.Port, 5432);
  assert.deepEqual(a.Services.db.Tags, []);
  const missing = await get("/v1/catalog/node/ghost");
  assert.equal(missing.status, 200);
  assert.equal(missing.text, "null");
});

test("catalog - node/:node ?filter applies to the services", async () => {
  const a = body(await get(`/v1/catalog/node/beta?filter=${encodeURIComponent('Service == "db"')}`)) as { Services: Record<string, unknown> };
  assert.deepEqual(Object.keys(a.Services), ["db"]);
});

test("catalog - node-services/:node lists services; unknown node is {Node: null, Services: null}", async () => {
  const a = body(await get("/v1/catalog/node-services/beta")) as { Services: { ID: string }[] };
  assert.deepEqual(
    a.Services.map((s) => s.ID),
    ["db", "web-2"],
  );
  assert.deepEqual(body(await get("/v1/catalog/node-services/ghost")), { Node: null, Services: null });
});

test("catalog - node-service omits Port when 0", async () => {
  await register({ Node: "gamma", Address: "10.0.0.3", Service: { Service: "portless" } });
  const a = body(await get("/v1/catalog/node/gamma")) as { Services: Record<string, Record<string, unknown>> };
  assert.equal("Port" in a.Services.portless, false);
});

test("catalog - gateway-services of a gateway with no config answers [] with an index", async () => {
  const a = await get("/v1/catalog/gateway-services/my-gw");
  assert.equal(a.status, 200);
  assert.equal(a.text, "[]");
  assert.ok(a.index >= 1);
});

test("catalog and health reads with ?peer=<unknown peer> match nothing; ?peer=local reads this cluster", async () => {
  const peer = "peer=non-existent-peer";
  const empties: [string, string][] = [
    ["/v1/catalog/nodes", "[]"],
    ["/v1/catalog/services", "{}"],
    ["/v1/catalog/service/web", "[]"],
    ["/v1/catalog/connect/web", "[]"],
    ["/v1/catalog/node/beta", "null"],
    ["/v1/catalog/node-services/beta", '{"Node":null,"Services":null}'],
    ["/v1/health/node/beta", "[]"],
    ["/v1/health/checks/web", "[]"],
    ["/v1/health/service/web", "[]"],
    ["/v1/health/connect/web", "[]"],
    ["/v1/health/state/any", "[]"],
  ];
  for (const [path, empty] of empties) {
    const a = await get(`${path}?${peer}`);
    assert.equal(a.status, 200, path);
    assert.equal(a.text, empty, path);
    assert.ok(a.index >= 1, `${path} carries an index`);
  }
  assert.deepEqual(ids(await get("/v1/catalog/service/web?peer=local")), ["web-1", "web-2"]);
  assert.equal((body(await get("/v1/health/service/web?peer=local")) as unknown[]).length, 2);
});

test("catalog - connect/:service lists proxies for the service and Connect-native instances", async () => {
  assert.deepEqual(body(await get("/v1/catalog/connect/api")), []);
  await register({
    Node: "delta",
    Address: "10.0.0.4",
    Service: { Kind: "connect-proxy", ID: "api-proxy", Service: "api-sidecar-proxy", Port: 21000, Proxy: { DestinationServiceName: "api" } },
  });
  await register({ Node: "delta", Address: "10.0.0.4", Service: { ID: "api-native", Service: "api", Connect: { Native: true } } });
  await register({ Node: "delta", Address: "10.0.0.4", Service: { ID: "api-plain", Service: "api" } });
  assert.deepEqual(ids(await get("/v1/catalog/connect/api")), ["api-native", "api-proxy"]);
  const missingDest = await fetch(`${agent.base}/v1/catalog/register`, {
    method: "PUT",
    body: JSON.stringify({ Node: "delta", Address: "10.0.0.4", Service: { Kind: "connect-proxy", Service: "p" } }),
  });
  assert.equal(missingDest.status, 500);
});

test("catalog - blocking on a service name wakes when an instance is added", async () => {
  const first = await get("/v1/catalog/service/blocky");
  const pending = get(`/v1/catalog/service/blocky?index=${first.index}&wait=5s`);
  await register({ Node: "epsilon", Address: "10.0.0.5", Service: { Service: "blocky" } });
  const woke = await pending;
  assert.ok(woke.index > first.index);
  assert.equal((body(woke) as unknown[]).length, 1);
});

test("catalog - a change to another service does not move this service's index", async () => {
  const before = await get("/v1/catalog/service/db");
  await register({ Node: "zeta", Address: "10.0.0.6", Service: { Service: "unrelated" } });
  const afterChange = await get("/v1/catalog/service/db");
  assert.equal(afterChange.index, before.index);
});

test("catalog - ?pretty indents the memoized answer too", async () => {
  const a = await get("/v1/catalog/service/db?pretty");
  assert.ok(a.text.startsWith("[\n    {"));
  assert.deepEqual(body(a), body(await get("/v1/catalog/service/db")));
});
