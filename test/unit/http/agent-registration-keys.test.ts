import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// Issue 21 item 1: snake_case keys and Connect.SidecarService on /v1/agent/service/register and
// /v1/agent/check/register, and Consul's refusal of unknown fields (agent.md §7.4, connect.md §7).

let a: TestAgent;
before(async () => {
  a = await startTestAgent();
});
after(() => a.stop());

function put(path: string, body: unknown): Promise<Response> {
  return fetch(a.base + path, { method: "PUT", body: JSON.stringify(body) });
}

async function register(body: unknown): Promise<void> {
  const res = await put("/v1/agent/service/register", body);
  assert.equal(res.status, 200, await res.text());
}

async function getJson<T = Record<string, Record<string, unknown>>>(path: string): Promise<T> {
  const res = await fetch(a.base + path);
  assert.equal(res.status, 200, path);
  return (await res.json()) as T;
}

async function deregister(id: string): Promise<void> {
  const res = await put(`/v1/agent/service/deregister/${id}`, undefined);
  assert.equal(res.status, 200, await res.text());
}

test("agent/service/register with connect.sidecar_service creates <name>-sidecar-proxy with Consul's defaults", async () => {
  await register({ name: "foo", port: 8080, tags: ["t1"], meta: { team: "a" }, connect: { sidecar_service: {} } });
  const proxy = await getJson<Record<string, unknown>>("/v1/agent/service/foo-sidecar-proxy");
  assert.equal(proxy.Kind, "connect-proxy");
  assert.equal(proxy.ID, "foo-sidecar-proxy");
  assert.equal(proxy.Service, "foo-sidecar-proxy");
  assert.equal(proxy.Port, 21000, "first port of ports.sidecar_min_port..sidecar_max_port");
  assert.deepEqual(proxy.Tags, ["t1"]);
  assert.deepEqual(proxy.Meta, { team: "a" });
  const p = proxy.Proxy as Record<string, unknown>;
  assert.equal(p.DestinationServiceName, "foo");
  assert.equal(p.DestinationServiceID, "foo");
  assert.equal(p.LocalServiceAddress, "127.0.0.1");
  assert.equal(p.LocalServicePort, 8080);

  const checks = await getJson("/v1/agent/checks");
  const listening = checks["service:foo-sidecar-proxy:1"];
  assert.equal(listening.Name, "Connect Sidecar Listening");
  assert.equal(listening.Type, "tcp");
  assert.equal(listening.Interval, "10s");
  assert.equal((listening.Definition as Record<string, unknown>).TCP, "127.0.0.1:21000");
  const aliasing = checks["service:foo-sidecar-proxy:2"];
  assert.equal(aliasing.Name, "Connect Sidecar Aliasing foo");
  assert.equal(aliasing.Type, "alias");
  assert.equal((aliasing.Definition as Record<string, unknown>).AliasService, "foo");

  // The parent carries no trace of the nested registration; the catalog has both.
  const parent = await getJson<Record<string, unknown>>("/v1/agent/service/foo");
  assert.equal(parent.Kind, undefined);
  assert.equal(parent.Connect, undefined);
  const catalog = await getJson<{ ServiceID: string }[]>("/v1/catalog/service/foo-sidecar-proxy");
  assert.deepEqual(
    catalog.map((s) => s.ServiceID),
    ["foo-sidecar-proxy"],
  );
  const connect = await getJson<{ ServiceID: string }[]>("/v1/catalog/connect/foo");
  assert.deepEqual(
    connect.map((s) => s.ServiceID),
    ["foo-sidecar-proxy"],
  );

  // A second sidecar gets the next free port; re-registering keeps the one it has.
  await register({ Name: "bar", Port: 9090, Connect: { SidecarService: { Port: 0 } } });
  assert.equal((await getJson<Record<string, unknown>>("/v1/agent/service/bar-sidecar-proxy")).Port, 21001);
  await register({ name: "foo", port: 8080, connect: { sidecar_service: {} } });
  assert.equal((await getJson<Record<string, unknown>>("/v1/agent/service/foo-sidecar-proxy")).Port, 21000);

  // Deregistering the parent deregisters its sidecar and the sidecar's checks.
  await deregister("foo");
  const services = await getJson("/v1/agent/services");
  assert.equal(services["foo-sidecar-proxy"], undefined);
  assert.equal((await getJson("/v1/agent/checks"))["service:foo-sidecar-proxy:1"], undefined);
  assert.equal(a.running.state.catalog.getService("test-node", "foo-sidecar-proxy"), undefined);
  await deregister("bar");
  assert.deepEqual(await getJson("/v1/agent/services"), {});
});

test("agent/service/register sidecar_service fields override the defaults; its checks replace the default ones", async () => {
  await register({
    name: "api",
    port: 7000,
    connect: {
      sidecar_service: {
        port: 19000,
        proxy: { local_service_port: 7001, upstreams: [{ destination_name: "db", local_bind_port: 9191 }] },
        checks: [{ name: "own", ttl: "30s" }],
      },
    },
  });
  const proxy = await getJson<Record<string, unknown>>("/v1/agent/service/api-sidecar-proxy");
  assert.equal(proxy.Port, 19000);
  const p = proxy.Proxy as { LocalServicePort: number; LocalServiceAddress: string; Upstreams: Record<string, unknown>[] };
  assert.equal(p.LocalServicePort, 7001);
  assert.equal(p.LocalServiceAddress, "127.0.0.1");
  assert.equal(p.Upstreams[0].DestinationName, "db");
  assert.equal(p.Upstreams[0].LocalBindPort, 9191);
  const checks = await getJson("/v1/agent/checks");
  assert.equal(checks["service:api-sidecar-proxy"].Name, "own");
  assert.equal(checks["service:api-sidecar-proxy:1"], undefined);
  await deregister("api");
});

test("agent/service/register refuses a sidecar_service with an ID or a nested sidecar, as NodeService.Validate does", async () => {
  const withId = await put("/v1/agent/service/register", { Name: "x", Port: 1, Connect: { SidecarService: { ID: "mine" } } });
  assert.equal(withId.status, 400);
  assert.equal(await withId.text(), "Validation failed: 1 error occurred:\n\t* A SidecarService cannot specify an ID as this is managed by the agent\n\n");
  const nested = await put("/v1/agent/service/register", { Name: "x", Port: 1, Connect: { SidecarService: { Connect: { SidecarService: {} } } } });
  assert.equal(nested.status, 400);
  assert.equal(await nested.text(), "Validation failed: 1 error occurred:\n\t* A SidecarService cannot have a nested SidecarService\n\n");
  const badCheck = await put("/v1/agent/service/register", { Name: "x", Port: 1, Connect: { SidecarService: { Check: { HTTP: "http://x" } } } });
  assert.equal(badCheck.status, 400);
  assert.match(await badCheck.text(), /^Invalid check in sidecar_service: Interval must be > 0/);
  assert.deepEqual(await getJson("/v1/agent/services"), {});
});

test("agent/service/register snake_case aliases decode like their PascalCase fields", async () => {
  await register({
    name: "snake",
    port: 80,
    enable_tag_override: true,
    tagged_addresses: { lan: { address: "10.0.0.1", port: 80 } },
    checks: [
      { name: "h", http: "https://127.0.0.1:1/", interval: "1h", tls_skip_verify: true, tls_server_name: "n", deregister_critical_service_after: "90m", success_before_passing: 2, failures_before_critical: 3 },
      { name: "g", grpc: "127.0.0.1:1", interval: "1h", grpc_use_tls: true },
      { name: "s", alias_service: "snake" },
    ],
  });
  await register({
    Name: "pascal",
    Port: 80,
    EnableTagOverride: true,
    TaggedAddresses: { lan: { Address: "10.0.0.1", Port: 80 } },
    Checks: [
      { Name: "h", HTTP: "https://127.0.0.1:1/", Interval: "1h", TLSSkipVerify: true, TLSServerName: "n", DeregisterCriticalServiceAfter: "90m", SuccessBeforePassing: 2, FailuresBeforeCritical: 3 },
      { Name: "g", GRPC: "127.0.0.1:1", Interval: "1h", GRPCUseTLS: true },
      { Name: "s", AliasService: "pascal" },
    ],
  });
  const services = await getJson("/v1/agent/services");
  const strip = (s: Record<string, unknown>): Record<string, unknown> => ({ ...s, ID: "", Service: "" });
  assert.deepEqual(strip(services.snake), strip(services.pascal));
  assert.equal(services.snake.EnableTagOverride, true);
  const checks = await getJson("/v1/agent/checks");
  for (const n of [1, 2]) {
    assert.deepEqual(checks[`service:snake:${n}`].Definition, checks[`service:pascal:${n}`].Definition, `check ${n}`);
  }
  assert.equal((checks["service:snake:1"].Definition as Record<string, unknown>).TLSSkipVerify, true);
  assert.equal((checks["service:snake:2"].Definition as Record<string, unknown>).GRPCUseTLS, true);
  assert.equal(checks["service:snake:3"].Type, "alias");
  const entry = a.running.agent.localState.checkEntry("service:snake:1");
  assert.equal(entry?.definition?.successBeforePassing, 2);
  assert.equal(entry?.definition?.failuresBeforeCritical, 3);
  assert.equal(entry?.definition?.deregisterCriticalServiceAfterMs, 90 * 60_000);

  // A proxy registered with snake_case proxy keys.
  await register({
    name: "web-proxy",
    kind: "connect-proxy",
    port: 21500,
    proxy: { destination_service_name: "web", local_service_address: "127.0.0.2", local_service_port: 8080, upstreams: [{ destination_name: "db", local_bind_port: 9000 }] },
  });
  const proxy = (await getJson<Record<string, unknown>>("/v1/agent/service/web-proxy")).Proxy as Record<string, unknown>;
  assert.equal(proxy.DestinationServiceName, "web");
  assert.equal(proxy.LocalServiceAddress, "127.0.0.2");
  assert.equal(proxy.LocalServicePort, 8080);
  assert.equal((proxy.Upstreams as Record<string, unknown>[])[0].LocalBindPort, 9000);
  for (const id of ["snake", "pascal", "web-proxy"]) await deregister(id);
});

test("agent/service/register and check/register refuse unknown fields with Consul's decode error; Connect ignores them", async () => {
  const cases: [string, unknown, string][] = [
    ["/v1/agent/service/register", { Name: "x", Service: "x" }, 'Request decode failed: json: unknown field "Service"'],
    ["/v1/agent/service/register", { Name: "x", Check: { TTL: "10s", Bogus: 1 } }, 'Request decode failed: json: unknown field "Bogus"'],
    ["/v1/agent/service/register", { Name: "x", Checks: [{ TTL: "10s", script: "x" }] }, 'Request decode failed: json: unknown field "script"'],
    ["/v1/agent/service/register", { Name: "x", Kind: "connect-proxy", Port: 1, Proxy: { DestinationServiceName: "y", Nope: 1 } }, 'Request decode failed: json: unknown field "Nope"'],
    ["/v1/agent/service/register", { Name: "x", Connect: { SidecarService: { WriteRequest: {} } } }, 'Request decode failed: json: unknown field "WriteRequest"'],
    ["/v1/agent/service/register", { Name: "x", Weights: { Passing: 1, Critical: 1 } }, 'Request decode failed: json: unknown field "Critical"'],
    ["/v1/agent/check/register", { Name: "c", TTL: "10s", Output: "x" }, 'Request decode failed: json: unknown field "Output"'],
    ["/v1/agent/check/update/c", { Status: "passing", Note: "x" }, 'Request decode failed: json: unknown field "Note"'],
  ];
  for (const [path, body, text] of cases) {
    const res = await put(path, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(await res.text(), text);
  }
  assert.deepEqual(await getJson("/v1/agent/services"), {});
  // ServiceConnect decodes leniently upstream: an unknown key there is ignored.
  await register({ Name: "lenient", Connect: { Native: false, Legacy: true }, Namespace: "", Meta: { anything_goes: "1" } });
  // Check registration takes snake_case aliases too.
  const check = await put("/v1/agent/check/register", { name: "c", service_id: "lenient", ttl: "10s", deregister_critical_service_after: "5m" });
  assert.equal(check.status, 200, await check.text());
  assert.equal((await getJson("/v1/agent/checks")).c.ServiceID, "lenient");
  await deregister("lenient");
});
