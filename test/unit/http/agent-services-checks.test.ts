import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// /v1/agent/checks and /v1/agent/check/*: spec/agent.md §8.

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

async function expectStatus(res: Promise<Response>, status: number, text = ""): Promise<void> {
  const r = await res;
  const body = await r.text();
  assert.equal(r.status, status, body);
  assert.equal(body, text);
}

async function checks(a: TestAgent): Promise<Record<string, Record<string, unknown>>> {
  const res = await fetch(`${a.base}/v1/agent/checks`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, Record<string, unknown>>;
}

test("agent/check/register - a node TTL check: ID defaults to Name, critical, unset durations print 0s", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "mem", TTL: "15s", Notes: "memory" }), 200);
    assert.deepEqual((await checks(a)).mem, {
      Node: "test-node",
      CheckID: "mem",
      Name: "mem",
      Status: "critical",
      Notes: "memory",
      Output: "",
      ServiceID: "",
      ServiceName: "",
      ServiceTags: [],
      Type: "ttl",
      Interval: "0s",
      Timeout: "0s",
      ExposedPort: 0,
      Definition: { TTL: "15s" },
      CreateIndex: 0,
      ModifyIndex: 0,
    });
    assert.equal(a.running.state.catalog.getCheck("test-node", "mem")?.Status, "critical");
  }));

test("agent/check/register - python-consul lower-case body bound to a service by service_id", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/service/register", { name: "web", tags: ["t"] }), 200);
    await expectStatus(put(a, "/v1/agent/check/register", { name: "web-alive", id: "web-alive", service_id: "web", ttl: "10s", status: "passing" }), 200);
    const c = (await checks(a))["web-alive"];
    assert.equal(c.ServiceID, "web");
    assert.equal(c.ServiceName, "web");
    assert.deepEqual(c.ServiceTags, ["t"]);
    assert.equal(c.Status, "passing");
  }));

test("agent/check/register - errors with Consul's texts and codes", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { TTL: "10s" }), 400, "Missing check name");
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "x", TTL: "10s", Status: "ok" }), 400, "Bad check status");
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "x" }), 400, "Invalid check: TTL must be > 0 for TTL checks");
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "x", TCP: "localhost:1" }), 400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or gRPC checks");
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "x", TTL: "10s", ServiceID: "nope" }), 404, 'ServiceID "nope" does not exist');
    await expectStatus(
      put(a, "/v1/agent/check/register", { Name: "x", Args: ["/bin/true"], Interval: "10s" }),
      500,
      "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
    );
    await expectStatus(put(a, "/v1/agent/check/register", "[]"), 400, "Request decode failed: json: cannot unmarshal string into Go value of type structs.CheckDefinition");
    assert.deepEqual(await checks(a), {});
  }));

test("agent/check/register - tcp/grpc/alias checks are kept as registered (critical) with their type", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "tcp", TCP: "127.0.0.1:1", Interval: "5s" }), 200);
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "grpc", GRPC: "127.0.0.1:1", Interval: "5s", Status: "warning" }), 200);
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "alias", AliasService: "web" }), 200);
    const all = await checks(a);
    assert.deepEqual(
      Object.values(all).map((c) => [c.CheckID, c.Type, c.Status, c.Interval]),
      [
        ["alias", "alias", "critical", "0s"],
        ["grpc", "grpc", "warning", "5s"],
        ["tcp", "tcp", "critical", "5s"],
      ],
    );
  }));

test("agent/check/deregister - removes the check; unknown ID is 404 with Consul's text", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "mem", TTL: "15s" }), 200);
    await expectStatus(put(a, "/v1/agent/check/deregister/mem"), 200);
    assert.deepEqual(await checks(a), {});
    assert.equal(a.running.state.catalog.getCheck("test-node", "mem"), undefined);
    await expectStatus(put(a, "/v1/agent/check/deregister/mem"), 404, 'Unknown check ID "mem". Ensure that the check ID is passed, not the check name.');
  }));

test("agent/check/pass|warn|fail - set status and Output = ?note, synced to the catalog", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "app", TTL: "30s" }), 200);
    for (const [verb, status] of [
      ["pass", "passing"],
      ["warn", "warning"],
      ["fail", "critical"],
    ] as const) {
      await expectStatus(put(a, `/v1/agent/check/${verb}/app?note=${verb}+note`), 200);
      const c = (await checks(a)).app;
      assert.equal(c.Status, status);
      assert.equal(c.Output, `${verb} note`);
      assert.equal(a.running.state.catalog.getCheck("test-node", "app")?.Status, status);
    }
  }));

test("agent/check/update - body {Status, Output}; bad status 400; unknown 404; non-TTL 500", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "app", TTL: "30s" }), 200);
    await expectStatus(put(a, "/v1/agent/check/update/app", { Status: "passing", Output: "all good" }), 200);
    assert.equal((await checks(a)).app.Output, "all good");
    await expectStatus(put(a, "/v1/agent/check/update/app", { status: "warning", output: "lower-case keys" }), 200);
    assert.equal((await checks(a)).app.Status, "warning");
    await expectStatus(put(a, "/v1/agent/check/update/app", { Status: "ok" }), 400, "Invalid check status: 'ok'");
    await expectStatus(put(a, "/v1/agent/check/update/app", { Output: "x" }), 400, "Invalid check status: ''");
    await expectStatus(put(a, "/v1/agent/check/update/nope", { Status: "passing" }), 404, 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.');
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "web-http", HTTP: "http://127.0.0.1:1/", Interval: "10s" }), 200);
    await expectStatus(put(a, "/v1/agent/check/pass/web-http"), 500, 'CheckID "web-http" does not have associated TTL');
  }));

test("ttl - a check not updated within its TTL turns critical with output 'TTL expired'", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "short", TTL: "150ms", Status: "passing" }), 200);
    assert.equal((await checks(a)).short.Status, "passing");
    const deadline = Date.now() + 3_000;
    let c = (await checks(a)).short;
    while (c.Status !== "critical" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      c = (await checks(a)).short;
    }
    assert.equal(c.Status, "critical");
    assert.equal(c.Output, "TTL expired");
    // The expiry is a local change like any other: anti-entropy pushes it.
    while (a.running.state.catalog.getCheck("test-node", "short")?.Status !== "critical" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(a.running.state.catalog.getCheck("test-node", "short")?.Output, "TTL expired");
  }));

test("agent/checks - ?filter on status and service name; a bad filter is 400", () =>
  withAgent(async (a) => {
    await expectStatus(put(a, "/v1/agent/service/register", { Name: "web", Check: { TTL: "10s", Status: "passing" } }), 200);
    await expectStatus(put(a, "/v1/agent/check/register", { Name: "disk", TTL: "10s" }), 200);
    const res = await fetch(`${a.base}/v1/agent/checks?filter=${encodeURIComponent('Status == "critical"')}`);
    assert.deepEqual(Object.keys((await res.json()) as object), ["disk"]);
    const bySvc = await fetch(`${a.base}/v1/agent/checks?filter=${encodeURIComponent("ServiceName == web")}`);
    assert.deepEqual(Object.keys((await bySvc.json()) as object), ["service:web"]);
    const bad = await fetch(`${a.base}/v1/agent/checks?filter=${encodeURIComponent("Status ==")}`);
    assert.equal(bad.status, 400);
  }));
