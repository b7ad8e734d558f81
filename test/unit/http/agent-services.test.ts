import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// /v1/agent/services, /v1/agent/service/*, /v1/agent/health/service/*: spec/agent.md §7, §10.

async function withAgent(fn: (a: TestAgent) => Promise<void>): Promise<void> {
  const a = await startTestAgent();
  try {
    await fn(a);
  } finally {
    await a.stop();
  }
}

function put(a: TestAgent, path: string, body?: unknown): Promise<Response> {
  return fetch(a.base + path, { method: "PUT", body: body === undefined ? undefined : JSON.stringify(body) });
}

async function register(a: TestAgent, body: unknown, query = ""): Promise<void> {
  const res = await put(a, `/v1/agent/service/register${query}`, body);
  assert.equal(res.status, 200, await res.text());
}

async function getJson(a: TestAgent, path: string): Promise<Record<string, Record<string, unknown>>> {
  const res = await fetch(a.base + path);
  assert.equal(res.status, 200, path);
  return (await res.json()) as Record<string, Record<string, unknown>>;
}

test("agent/service/register - python-consul lower-case body with a ttl check (service:<id>, critical)", () =>
  withAgent(async (a) => {
    await register(a, { name: "web", port: 80, check: { ttl: "10s" } });
    const services = await getJson(a, "/v1/agent/services");
    assert.deepEqual(services.web, {
      ID: "web",
      Service: "web",
      Tags: [],
      Meta: {},
      Port: 80,
      Address: "",
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Datacenter: "dc1",
    });
    const checks = await getJson(a, "/v1/agent/checks");
    assert.equal(checks["service:web"].Status, "critical");
    assert.equal(checks["service:web"].Name, "Service 'web' check");
    assert.equal(checks["service:web"].Type, "ttl");
    assert.equal(checks["service:web"].ServiceName, "web");
  }));

test("agent/service/register - the write returns once the catalog has the service (anti-entropy sync)", () =>
  withAgent(async (a) => {
    await register(a, { ID: "redis1", Name: "redis", Tags: ["primary"], Port: 8000, Address: "127.0.0.1", Meta: { redis_version: "4.0" }, Checks: null });
    const row = a.running.state.catalog.getService("test-node", "redis1");
    assert.equal(row?.Service, "redis");
    assert.deepEqual(row?.TaggedAddresses, { lan_ipv4: { Address: "127.0.0.1", Port: 8000 }, wan_ipv4: { Address: "127.0.0.1", Port: 8000 } });
  }));

test("agent/service/register - Go client body: HTTP check registered critical (not executed yet), Interval/Timeout kept", () =>
  withAgent(async (a) => {
    await register(a, {
      ID: "redis1",
      Name: "redis",
      Port: 8000,
      Weights: { Passing: 10, Warning: 1 },
      Check: { HTTP: "http://127.0.0.1:8000/health", Interval: "10s", Timeout: "1s", DeregisterCriticalServiceAfter: "90m" },
      Checks: null,
    });
    const c = (await getJson(a, "/v1/agent/checks"))["service:redis1"];
    assert.equal(c.Type, "http");
    assert.equal(c.Status, "critical");
    assert.equal(c.Interval, "10s");
    assert.equal(c.Timeout, "1s");
    assert.deepEqual(c.Definition, { HTTP: "http://127.0.0.1:8000/health", Interval: "10s", Timeout: "1s", DeregisterCriticalServiceAfter: "1h30m0s" });
    assert.deepEqual((await getJson(a, "/v1/agent/services")).redis1.Weights, { Passing: 10, Warning: 1 });
  }));

test("agent/service/register - several checks get IDs service:<id>:<n> over Check then Checks", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Check: { TTL: "10s" }, Checks: [{ TTL: "20s" }, { CheckID: "own", TTL: "30s", Status: "passing" }] });
    const checks = await getJson(a, "/v1/agent/checks");
    assert.deepEqual(Object.keys(checks), ["own", "service:web:1", "service:web:2"]);
    assert.equal(checks.own.Status, "passing");
  }));

test("agent/service/register - replace-existing-checks removes checks not in the request; without it they stay", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Checks: [{ CheckID: "a", TTL: "10s" }, { CheckID: "b", TTL: "10s" }] });
    await register(a, { Name: "web", Checks: [{ CheckID: "a", TTL: "10s" }] });
    assert.deepEqual(Object.keys(await getJson(a, "/v1/agent/checks")), ["a", "b"]);
    await register(a, { Name: "web", Checks: [{ CheckID: "a", TTL: "10s" }] }, "?replace-existing-checks=true");
    assert.deepEqual(Object.keys(await getJson(a, "/v1/agent/checks")), ["a"]);
    assert.equal(a.running.state.catalog.getCheck("test-node", "b"), undefined, "the catalog follows");
    await register(a, { Name: "web" }, "?replace-existing-checks");
    assert.deepEqual(Object.keys(await getJson(a, "/v1/agent/checks")), []);
  }));

test("agent/service/register - re-registration keeps the current status of an existing check", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Check: { TTL: "10s" } });
    assert.equal((await put(a, "/v1/agent/check/pass/service:web")).status, 200);
    await register(a, { Name: "web", Tags: ["v2"], Check: { TTL: "10s" } });
    const c = (await getJson(a, "/v1/agent/checks"))["service:web"];
    assert.equal(c.Status, "passing");
    assert.deepEqual(c.ServiceTags, ["v2"]);
  }));

test("agent/service/register - errors: decode, missing name, any-address, bad check (400) and script checks (500)", () =>
  withAgent(async (a) => {
    const cases: [unknown, number, string][] = [
      [undefined, 400, "Request decode failed: EOF"],
      [{ Port: 80 }, 400, "Missing service name"],
      [{ Name: "w", Address: "0.0.0.0" }, 400, "Invalid service address"],
      [{ Name: "w", Check: { Interval: "10s" } }, 400, "Invalid check: TTL must be > 0 for TTL checks"],
      [{ Name: "w", Check: { TTL: "10s", Status: "up" } }, 400, "Status for checks must 'passing', 'warning', 'critical'"],
      [
        { Name: "w", Check: { ScriptArgs: ["/bin/true"], Interval: "10s" } },
        500,
        "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
      ],
    ];
    for (const [body, status, message] of cases) {
      const res = await put(a, "/v1/agent/service/register", body);
      assert.equal(res.status, status, message);
      assert.equal(await res.text(), message);
    }
    assert.deepEqual(await getJson(a, "/v1/agent/services"), {}, "nothing was registered");
  }));

test("agent/service/deregister - removes the service and its checks; unknown ID is 404 with Consul's text", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Check: { TTL: "10s" } });
    assert.equal((await put(a, "/v1/agent/service/deregister/web")).status, 200);
    assert.deepEqual(await getJson(a, "/v1/agent/services"), {});
    assert.deepEqual(await getJson(a, "/v1/agent/checks"), {});
    assert.equal(a.running.state.catalog.getService("test-node", "web"), undefined);
    const res = await put(a, "/v1/agent/service/deregister/web");
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'Unknown service ID "web". Ensure that the service ID is passed, not the service name.');
  }));

test("agent/service/:id - object plus ContentHash, same value in X-Consul-ContentHash; unknown ID 404", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Port: 80 });
    const res = await fetch(`${a.base}/v1/agent/service/web`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.match(String(body.ContentHash), /^[0-9a-f]{16}$/);
    assert.equal(res.headers.get("x-consul-contenthash"), body.ContentHash);
    assert.equal(res.headers.get("x-consul-index"), null, "agent answers carry no X-Consul-Index");
    const missing = await fetch(`${a.base}/v1/agent/service/nope`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "unknown service ID: nope");
  }));

test("agent/service/:id - ?hash blocks until the service changes, or answers the same hash at ?wait", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Port: 80 });
    const hash = (await fetch(`${a.base}/v1/agent/service/web`)).headers.get("x-consul-contenthash");
    const started = Date.now();
    const timedOut = await fetch(`${a.base}/v1/agent/service/web?hash=${hash}&wait=200ms`);
    assert.ok(Date.now() - started >= 150, "waited");
    assert.equal(timedOut.headers.get("x-consul-contenthash"), hash);

    const blocked = fetch(`${a.base}/v1/agent/service/web?hash=${hash}&wait=30s`);
    await new Promise((r) => setTimeout(r, 50));
    await register(a, { Name: "web", Port: 81 });
    const res = await blocked;
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.Port, 81);
    assert.notEqual(res.headers.get("x-consul-contenthash"), hash);
  }));

test("agent/services - ?filter selects services; a bad filter is 400", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Tags: ["v1"], Port: 80, Meta: { env: "prod" } });
    await register(a, { Name: "db", Port: 5432 });
    const byTag = await getJson(a, `/v1/agent/services?filter=${encodeURIComponent('"v1" in Tags')}`);
    assert.deepEqual(Object.keys(byTag), ["web"]);
    const byMeta = await getJson(a, `/v1/agent/services?filter=${encodeURIComponent('Meta.env == "prod" or Port == 5432')}`);
    assert.deepEqual(Object.keys(byMeta), ["db", "web"]);
    const bad = await fetch(`${a.base}/v1/agent/services?filter=${encodeURIComponent("Nope == 1")}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^Failed to create boolean expression evaluator/);
  }));

test("agent/health/service/id - 200 passing, 429 warning, 503 critical, with X-Consul-Reason and text mode", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Check: { TTL: "10s", Status: "passing" } });
    const url = `${a.base}/v1/agent/health/service/id/web`;
    let res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-consul-reason"), "passing");
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.AggregatedStatus, "passing");
    assert.equal((body.Service as Record<string, unknown>).ID, "web");
    assert.equal((body.Checks as Record<string, unknown>[])[0].CheckID, "service:web");

    await put(a, "/v1/agent/check/warn/service:web");
    res = await fetch(`${url}?format=text`);
    assert.equal(res.status, 429);
    assert.equal(await res.text(), "warning");

    await put(a, "/v1/agent/check/fail/service:web");
    res = await fetch(url, { headers: { Accept: "text/plain" } });
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "critical");
  }));

test("agent/health/service/id - unknown service: 404 with a null service; missing ID 400", () =>
  withAgent(async (a) => {
    let res = await fetch(`${a.base}/v1/agent/health/service/id/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { AggregatedStatus: "critical", Service: null, Checks: null });
    res = await fetch(`${a.base}/v1/agent/health/service/id/nope?format=text`);
    assert.equal(await res.text(), "ServiceId nope not found");
    res = await fetch(`${a.base}/v1/agent/health/service/id/`);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), "Missing serviceID");
  }));

test("agent/health/service/name - the worst instance decides; node checks count; 404 is an empty list", () =>
  withAgent(async (a) => {
    await register(a, { ID: "web1", Name: "web", Check: { TTL: "10s", Status: "passing" } });
    await register(a, { ID: "web2", Name: "web", Check: { TTL: "10s", Status: "warning" } });
    let res = await fetch(`${a.base}/v1/agent/health/service/name/web`);
    assert.equal(res.status, 429);
    const list = (await res.json()) as Record<string, unknown>[];
    assert.deepEqual(list.map((x) => x.AggregatedStatus).sort(), ["passing", "warning"]);

    const node = await put(a, "/v1/agent/check/register", { Name: "disk", TTL: "10s" });
    assert.equal(node.status, 200);
    res = await fetch(`${a.base}/v1/agent/health/service/name/web?format=text`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "critical");

    res = await fetch(`${a.base}/v1/agent/health/service/name/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), []);
    res = await fetch(`${a.base}/v1/agent/health/service/name/nope?format=text`);
    assert.equal(await res.text(), "ServiceName nope Not Found");
  }));

test("agent/service/maintenance - enable adds _service_maintenance:<id> (critical, default reason); disable removes it", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Check: { TTL: "10s", Status: "passing" } });
    assert.equal((await put(a, "/v1/agent/service/maintenance/web?enable=true")).status, 200);
    const c = (await getJson(a, "/v1/agent/checks"))["_service_maintenance:web"];
    assert.equal(c.Status, "critical");
    assert.equal(c.Name, "Service Maintenance Mode");
    assert.equal(c.Notes, "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.");
    assert.equal(c.ServiceID, "web");
    assert.equal(a.running.state.catalog.getCheck("test-node", "_service_maintenance:web")?.Status, "critical");
    const health = await fetch(`${a.base}/v1/agent/health/service/id/web?format=text`);
    assert.equal(health.status, 503);
    assert.equal(await health.text(), "maintenance");

    assert.equal((await put(a, "/v1/agent/service/maintenance/web?enable=true&reason=again")).status, 200);
    assert.equal((await getJson(a, "/v1/agent/checks"))["_service_maintenance:web"].Notes, c.Notes, "enabling twice is a no-op");
    assert.equal((await put(a, "/v1/agent/service/maintenance/web?enable=false")).status, 200);
    assert.equal((await getJson(a, "/v1/agent/checks"))["_service_maintenance:web"], undefined);
    assert.equal(a.running.state.catalog.getCheck("test-node", "_service_maintenance:web"), undefined);
  }));

test("agent/service/maintenance - reason is used as Notes; parameter errors and unknown service", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web" });
    assert.equal((await put(a, "/v1/agent/service/maintenance/web?enable=1&reason=deploying")).status, 200);
    assert.equal((await getJson(a, "/v1/agent/checks"))["_service_maintenance:web"].Notes, "deploying");
    const cases: [string, number, string][] = [
      ["/v1/agent/service/maintenance/web", 400, "Missing value for enable"],
      ["/v1/agent/service/maintenance/web?enable=yes", 400, 'Invalid value for enable: "yes"'],
      ["/v1/agent/service/maintenance/?enable=true", 400, "Missing service ID"],
      ["/v1/agent/service/maintenance/nope?enable=true", 404, 'Unknown service ID "nope". Ensure that the service ID is passed, not the service name.'],
    ];
    for (const [path, status, message] of cases) {
      const res = await put(a, path);
      assert.equal(res.status, status, path);
      assert.equal(await res.text(), message);
    }
  }));

test("anti-entropy - a service deregistered behind the agent's back (catalog) comes back on the next full sync", () =>
  withAgent(async (a) => {
    await register(a, { Name: "web", Port: 80, Check: { TTL: "10s" } });
    const { result } = await a.running.agent.consensus.propose({ Type: "catalog-deregister", Node: "test-node", ServiceID: "web" });
    assert.equal(result.ok, true);
    assert.equal(a.running.state.catalog.getService("test-node", "web"), undefined);
    assert.deepEqual(Object.keys(await getJson(a, "/v1/agent/services")), ["web"], "local state is the source of truth");
    assert.equal(await a.running.agent.syncFull(), true);
    assert.equal(a.running.state.catalog.getService("test-node", "web")?.Port, 80);
    assert.equal(a.running.state.catalog.getCheck("test-node", "service:web")?.ServiceID, "web");
  }));
