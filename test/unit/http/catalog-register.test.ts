import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

async function put(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(agent.base + path, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

async function getJson(path: string): Promise<{ status: number; body: unknown; index: string | null }> {
  const res = await fetch(agent.base + path);
  return { status: res.status, body: await res.json(), index: res.headers.get("x-consul-index") };
}

test("catalog - register without Node answers 500 Must provide node", async () => {
  assert.deepEqual(await put("/v1/catalog/register", { Address: "10.0.0.1" }), { status: 500, text: "Must provide node" });
});

test("catalog - register without Address answers 500 unless SkipNodeUpdate", async () => {
  assert.deepEqual(await put("/v1/catalog/register", { Node: "reg-noaddr" }), {
    status: 500,
    text: "Must provide address if SkipNodeUpdate is not set",
  });
  assert.deepEqual(await put("/v1/catalog/register", { Node: "reg-noaddr", SkipNodeUpdate: true }), { status: 200, text: "true" });
});

test("catalog - register with a malformed node ID answers 500 Bad node ID", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-badid", Address: "10.0.0.1", ID: "nope" });
  assert.equal(r.status, 500);
  assert.match(r.text, /^Bad node ID: /);
});

test("catalog - register with service ID but no name answers 500", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-svcid", Address: "10.0.0.1", Service: { ID: "x" } });
  assert.deepEqual(r, { status: 500, text: "Must provide service name with ID" });
});

test("catalog - register with an any-address service answers 500 Invalid service address", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-any", Address: "10.0.0.1", Service: { Service: "s", Address: "0.0.0.0" } });
  assert.deepEqual(r, { status: 500, text: "Invalid service address" });
});

test("catalog - register with invalid node meta answers 500 with the pair", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-meta", Address: "10.0.0.1", NodeMeta: { "bad key": "v" } });
  assert.deepEqual(r, { status: 500, text: "Couldn't load metadata pair ('bad key', 'v'): Key contains invalid characters" });
});

test("catalog - register with an undecodable body answers 400 Request decode failed", async () => {
  const r = await put("/v1/catalog/register", "{nope");
  assert.equal(r.status, 400);
  assert.match(r.text, /^Request decode failed: /);
});

test("catalog - register a check for an unknown service answers 500 Missing service registration", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-chk", Address: "10.0.0.1", Check: { Name: "c", ServiceID: "ghost" } });
  assert.deepEqual(r, { status: 500, text: "Missing service registration" });
});

test("catalog - register accepts lower-case keys; service ID defaults to the name, Weights to {1,1}", async () => {
  const r = await put("/v1/catalog/register", { node: "reg-lower", address: "10.0.0.9", service: { service: "lower-svc", port: 99, tags: ["A"] } });
  assert.deepEqual(r, { status: 200, text: "true" });
  const { body } = await getJson("/v1/catalog/service/lower-svc");
  assert.ok(Array.isArray(body));
  const [entry] = body as Record<string, unknown>[];
  assert.equal(entry.ServiceID, "lower-svc");
  assert.equal(entry.ServicePort, 99);
  assert.deepEqual(entry.ServiceWeights, { Passing: 1, Warning: 1 });
  assert.deepEqual(entry.ServiceTags, ["A"]);
  assert.deepEqual(entry.ServiceProxy, { MeshGateway: {}, Expose: {} });
  assert.deepEqual(entry.ServiceConnect, {});
});

test("catalog - check defaults: CheckID from Name, Status critical, ServiceName and ServiceTags from the service", async () => {
  await put("/v1/catalog/register", {
    Node: "reg-chkdef",
    Address: "10.0.0.2",
    Service: { Service: "chkdef", Tags: ["t1"] },
    Checks: [{ Name: "my check", ServiceID: "chkdef", Definition: { HTTP: "http://x/", Interval: 10_000_000_000 } }],
  });
  const { body } = await getJson("/v1/health/node/reg-chkdef");
  const [check] = body as Record<string, unknown>[];
  assert.equal(check.CheckID, "my check");
  assert.equal(check.Status, "critical");
  assert.equal(check.ServiceName, "chkdef");
  assert.deepEqual(check.ServiceTags, ["t1"]);
  assert.equal(check.Type, "http");
  assert.deepEqual(check.Definition, { HTTP: "http://x/", Interval: "10s" });
});

test("catalog - an identical re-registration does not move the index", async () => {
  const reg = { Node: "reg-same", Address: "10.0.0.3", Service: { Service: "same-svc", Port: 1 } };
  await put("/v1/catalog/register", reg);
  const first = await getJson("/v1/catalog/service/same-svc");
  await put("/v1/catalog/register", reg);
  const second = await getJson("/v1/catalog/service/same-svc");
  assert.equal(second.index, first.index);
});

test("catalog - register in another datacenter answers 500 No path to datacenter", async () => {
  const r = await put("/v1/catalog/register", { Node: "reg-dc", Address: "10.0.0.1", Datacenter: "dc9" });
  assert.deepEqual(r, { status: 500, text: "No path to datacenter" });
});

test("catalog - deregister without Node answers 500 Must provide node", async () => {
  assert.deepEqual(await put("/v1/catalog/deregister", {}), { status: 500, text: "Must provide node" });
});

test("catalog - deregister ServiceID removes the service and its checks, keeps the node", async () => {
  await put("/v1/catalog/register", { Node: "dereg-1", Address: "10.0.0.4", Service: { Service: "gone" }, Check: { Name: "c", ServiceID: "gone" } });
  assert.deepEqual(await put("/v1/catalog/deregister", { Node: "dereg-1", ServiceID: "gone" }), { status: 200, text: "true" });
  assert.deepEqual((await getJson("/v1/catalog/service/gone")).body, []);
  assert.deepEqual((await getJson("/v1/health/node/dereg-1")).body, []);
  assert.notEqual((await getJson("/v1/catalog/node/dereg-1")).body, null);
});

test("catalog - deregister CheckID removes only that check; without either removes the node", async () => {
  await put("/v1/catalog/register", { Node: "dereg-2", Address: "10.0.0.5", Checks: [{ Name: "a" }, { Name: "b" }] });
  await put("/v1/catalog/deregister", { Node: "dereg-2", CheckID: "a" });
  const checks = (await getJson("/v1/health/node/dereg-2")).body as { CheckID: string }[];
  assert.deepEqual(
    checks.map((c) => c.CheckID),
    ["b"],
  );
  await put("/v1/catalog/deregister", { Node: "dereg-2" });
  assert.equal((await getJson("/v1/catalog/node/dereg-2")).body, null);
});

test("catalog - deregister of something absent succeeds", async () => {
  assert.deepEqual(await put("/v1/catalog/deregister", { Node: "never-there", ServiceID: "x" }), { status: 200, text: "true" });
});
