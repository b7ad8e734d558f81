import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { registerInCatalog, startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

const register = (body: unknown): Promise<void> => registerInCatalog(agent, body);

interface Answer {
  status: number;
  text: string;
  index: number;
}

async function get(path: string): Promise<Answer> {
  const res = await fetch(agent.base + path);
  return { status: res.status, text: await res.text(), index: Number(res.headers.get("x-consul-index")) };
}

interface Entry {
  Node: { Node: string };
  Service: { ID: string; Tags: string[] };
  Checks: { CheckID: string; Status: string }[];
}

const entries = (a: Answer): Entry[] => JSON.parse(a.text) as Entry[];
const serviceIds = (a: Answer): string[] => entries(a).map((e) => e.Service.ID);

/** One node with a node-level check and one instance of `service` with its own check. */
async function instance(node: string, service: string, id: string, nodeStatus: string, serviceStatus: string, tags: string[] = []): Promise<void> {
  await register({
    Node: node,
    Address: "10.1.0.1",
    NodeMeta: { zone: node.endsWith("b") ? "b" : "a" },
    Service: { ID: id, Service: service, Tags: tags, Port: 8080 },
    Checks: [
      { CheckID: `node-${node}`, Name: "node", Status: nodeStatus },
      { CheckID: `service:${id}`, Name: "svc", Status: serviceStatus, ServiceID: id },
    ],
  });
}

test("health - service entry carries node checks plus this instance's checks only", async () => {
  await instance("h1a", "shape", "shape-1", "passing", "passing");
  await register({ Node: "h1a", Address: "10.1.0.1", Service: { ID: "other", Service: "other" }, Check: { CheckID: "other-chk", Name: "o", ServiceID: "other", Status: "critical" } });
  const [e] = entries(await get("/v1/health/service/shape"));
  assert.deepEqual(
    e.Checks.map((c) => c.CheckID),
    ["node-h1a", "service:shape-1"],
  );
  assert.deepEqual(Object.keys(e), ["Node", "Service", "Checks"]);
  assert.deepEqual(e.Service.Tags, []);
});

test("health - ?passing drops instances with a critical check", async () => {
  await instance("p1a", "pass", "pass-1", "passing", "passing");
  await instance("p2a", "pass", "pass-2", "passing", "critical");
  assert.deepEqual(serviceIds(await get("/v1/health/service/pass")), ["pass-1", "pass-2"]);
  assert.deepEqual(serviceIds(await get("/v1/health/service/pass?passing")), ["pass-1"]);
  assert.deepEqual(serviceIds(await get("/v1/health/service/pass?passing=1")), ["pass-1"]);
  assert.deepEqual(serviceIds(await get("/v1/health/service/pass?passing=false")), ["pass-1", "pass-2"]);
});

test("health - ?passing drops warnings and instances whose node-level check fails", async () => {
  await instance("w1a", "warny", "warny-1", "passing", "warning");
  await instance("w2a", "warny", "warny-2", "critical", "passing");
  await instance("w3a", "warny", "warny-3", "passing", "passing");
  assert.deepEqual(serviceIds(await get("/v1/health/service/warny?passing")), ["warny-3"]);
});

test("health - a bad ?passing value answers 400 Invalid value for ?passing", async () => {
  const a = await get("/v1/health/service/pass?passing=maybe");
  assert.deepEqual([a.status, a.text], [400, "Invalid value for ?passing"]);
});

test("health - maintenance checks hide instances from ?passing", async () => {
  await instance("m1a", "maint", "maint-1", "passing", "passing");
  await register({ Node: "m1a", Address: "10.1.0.1", Check: { CheckID: "_service_maintenance:maint-1", Name: "Service Maintenance Mode", Status: "critical", ServiceID: "maint-1" } });
  assert.deepEqual(serviceIds(await get("/v1/health/service/maint?passing")), []);
});

test("health - service ?tag (case-insensitive), ?node-meta and ?filter", async () => {
  await instance("t1a", "tagged", "tagged-1", "passing", "passing", ["Primary"]);
  await instance("t2b", "tagged", "tagged-2", "passing", "critical", ["secondary"]);
  assert.deepEqual(serviceIds(await get("/v1/health/service/TAGGED?tag=primary")), ["tagged-1"]);
  assert.deepEqual(serviceIds(await get("/v1/health/service/tagged?node-meta=zone:b")), ["tagged-2"]);
  assert.deepEqual(serviceIds(await get(`/v1/health/service/tagged?filter=${encodeURIComponent('Checks.Status == "critical"')}`)), ["tagged-2"]);
  const bad = await get(`/v1/health/service/tagged?filter=${encodeURIComponent("Bogus == 1")}`);
  assert.equal(bad.status, 400);
});

test("health - unknown service answers [] with an index never 0", async () => {
  const a = await get("/v1/health/service/never-registered?passing");
  assert.equal(a.text, "[]");
  assert.ok(a.index >= 1);
});

test("health - blocking on a service name wakes on a check change", async () => {
  await instance("b1a", "blocker", "blocker-1", "passing", "passing");
  const first = await get("/v1/health/service/blocker?passing");
  assert.equal(entries(first).length, 1);
  const pending = get(`/v1/health/service/blocker?passing&index=${first.index}&wait=5s`);
  await register({ Node: "b1a", Address: "10.1.0.1", Check: { CheckID: "service:blocker-1", Name: "svc", Status: "critical", ServiceID: "blocker-1" } });
  const woke = await pending;
  assert.ok(woke.index > first.index);
  assert.deepEqual(entries(woke), []);
});

test("health - blocking on a service name wakes on a node-level check change", async () => {
  await instance("b2a", "blocker2", "blocker2-1", "passing", "passing");
  const first = await get("/v1/health/service/blocker2");
  const pending = get(`/v1/health/service/blocker2?index=${first.index}&wait=5s`);
  await register({ Node: "b2a", Address: "10.1.0.1", Check: { CheckID: "node-b2a", Name: "node", Status: "warning" } });
  const woke = await pending;
  assert.ok(woke.index > first.index);
  assert.equal(entries(woke)[0].Checks[0].Status, "warning");
});

test("health - node/:node lists every check on the node; unknown node is []", async () => {
  await instance("n1a", "nodey", "nodey-1", "passing", "critical");
  const checks = JSON.parse((await get("/v1/health/node/n1a")).text) as { CheckID: string; ServiceTags: string[] }[];
  assert.deepEqual(
    checks.map((c) => c.CheckID),
    ["node-n1a", "service:nodey-1"],
  );
  assert.deepEqual(checks[0].ServiceTags, []);
  assert.equal((await get("/v1/health/node/nobody")).text, "[]");
  assert.equal((await get("/v1/health/node/")).text, "Missing node name");
});

test("health - checks/:service lists only service-level checks of the service", async () => {
  await instance("c1a", "checky", "checky-1", "passing", "warning");
  const checks = JSON.parse((await get("/v1/health/checks/CHECKY")).text) as { CheckID: string }[];
  assert.deepEqual(
    checks.map((c) => c.CheckID),
    ["service:checky-1"],
  );
  assert.equal((await get("/v1/health/checks/")).text, "Missing service name");
});

test("health - state/:state filters by status; any lists all; unknown state is []", async () => {
  await instance("s1a", "stately", "stately-1", "passing", "warning");
  const warning = JSON.parse((await get("/v1/health/state/warning")).text) as { Status: string }[];
  assert.ok(warning.length >= 1);
  assert.ok(warning.every((c) => c.Status === "warning"));
  const any = JSON.parse((await get("/v1/health/state/any")).text) as unknown[];
  assert.ok(any.length > warning.length);
  const bogus = await get("/v1/health/state/bogus");
  assert.deepEqual([bogus.status, bogus.text], [200, "[]"]);
  assert.equal((await get("/v1/health/state/")).text, "Missing check state");
  const filtered = JSON.parse((await get(`/v1/health/state/any?filter=${encodeURIComponent('CheckID == "serfHealth"')}`)).text) as unknown[];
  assert.equal(filtered.length, 1);
});

test("health - connect/:service lists proxy entries; ingress answers []", async () => {
  assert.equal((await get("/v1/health/connect/backend")).text, "[]");
  await register({
    Node: "x1a",
    Address: "10.1.0.9",
    Service: { Kind: "connect-proxy", ID: "backend-proxy", Service: "backend-sidecar-proxy", Port: 21000, Proxy: { DestinationServiceName: "backend" } },
    Check: { CheckID: "proxy-alive", Name: "alive", Status: "passing", ServiceID: "backend-proxy" },
  });
  const e = entries(await get("/v1/health/connect/backend?passing"));
  assert.deepEqual(
    e.map((x) => x.Service.ID),
    ["backend-proxy"],
  );
  const ingress = await get("/v1/health/ingress/backend");
  assert.deepEqual([ingress.status, ingress.text], [200, "[]"]);
  assert.ok(ingress.index >= 1);
});
