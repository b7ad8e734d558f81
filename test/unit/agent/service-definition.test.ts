import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeServiceDefinition, toServiceFields, validateServiceDefinition } from "../../../src/agent/service-definition.ts";
import { decodeCheckDefinition } from "../../../src/agent/check-definition.ts";
import { checkDefinitionProblem, checkKind } from "../../../src/checks/definition.ts";
import { ConsulError } from "../../../src/errors/catalog.ts";

// agent.md §7.4 (service register body and validation) and §8.3/§8.4 (check type and validation).

function invalid(body: Record<string, unknown>): string {
  try {
    validateServiceDefinition(decodeServiceDefinition(body));
  } catch (e) {
    assert.ok(e instanceof ConsulError);
    assert.equal(e.statusCode, 400);
    return e.message;
  }
  assert.fail("expected a validation error");
}

test("service register - python-consul lower-case body decodes like the PascalCase one", () => {
  const lower = decodeServiceDefinition({ name: "redis", id: "redis1", port: 8000, tags: ["a"], check: { ttl: "15s" } });
  const upper = decodeServiceDefinition({ Name: "redis", ID: "redis1", Port: 8000, Tags: ["a"], Check: { TTL: "15s" } });
  assert.deepEqual(lower, upper);
  assert.equal(lower.checks[0].ttlMs, 15_000);
});

test("service register - ID defaults to Name, Weights to {1,1}, Tags and Meta never null", () => {
  const row = toServiceFields(decodeServiceDefinition({ Name: "web", Checks: null }));
  assert.equal(row.ID, "web");
  assert.deepEqual(row.Weights, { Passing: 1, Warning: 1 });
  assert.deepEqual(row.Tags, []);
  assert.deepEqual(row.Meta, {});
});

test("service register - an IPv4 service address adds lan_ipv4/wan_ipv4 tagged addresses unless given", () => {
  const row = toServiceFields(
    decodeServiceDefinition({ Name: "web", Address: "10.1.2.3", Port: 80, TaggedAddresses: { wan_ipv4: { Address: "1.2.3.4", Port: 81 } } }),
  );
  assert.deepEqual(row.TaggedAddresses, { wan_ipv4: { Address: "1.2.3.4", Port: 81 }, lan_ipv4: { Address: "10.1.2.3", Port: 80 } });
  assert.equal(toServiceFields(decodeServiceDefinition({ Name: "web", Address: "db.local" })).TaggedAddresses, undefined);
});

test("service register - an all-empty Check object is ignored", () => {
  assert.deepEqual(decodeServiceDefinition({ Name: "web", Check: {} }).checks, []);
});

test("service register - validation messages", () => {
  assert.equal(invalid({ Port: 1 }), "Missing service name");
  assert.equal(invalid({ Name: "w", Address: "0.0.0.0" }), "Invalid service address");
  assert.equal(invalid({ Name: "w", Address: "::" }), "Invalid service address");
  assert.equal(invalid({ Name: "w", Weights: { Passing: 0, Warning: 1 } }), "Invalid Weights: Passing must be greater than 0");
  assert.equal(invalid({ Name: "w", Weights: { Passing: 1, Warning: -1 } }), "Invalid Weights: Warning must be greater or equal than 0");
  assert.equal(
    invalid({ Name: "w", Meta: { "consul-x": "1" } }),
    "Invalid Service Meta: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use",
  );
  assert.equal(
    invalid({ Name: "w", Meta: { "a b": "1" } }),
    "Invalid Service Meta: Couldn't load metadata pair ('a b', '1'): Key contains invalid characters",
  );
  assert.equal(
    invalid({ Name: "p", Kind: "connect-proxy" }),
    "Validation failed: 2 errors occurred:\n\t* Port or SocketPath must be set for a connect-proxy\n\t* Proxy.DestinationServiceName must be non-empty for Connect proxy services\n\n",
  );
  assert.equal(invalid({ Name: "w", Check: { HTTP: "http://x" } }), "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or gRPC checks");
  assert.equal(invalid({ Name: "w", Check: { TTL: "1s", Interval: "1s" } }), "Invalid check: Interval and TTL cannot both be specified");
  assert.equal(invalid({ Name: "w", Checks: [{ Notes: "x" }] }), "Invalid check: TTL must be > 0 for TTL checks");
  assert.equal(invalid({ Name: "w", Check: { TTL: "1s", Status: "ok" } }), "Status for checks must 'passing', 'warning', 'critical'");
});

test("service register - snake_case proxy keys map onto Consul's names", () => {
  const d = decodeServiceDefinition({
    name: "web-proxy",
    kind: "connect-proxy",
    port: 21000,
    proxy: { destination_service_name: "web", local_service_port: 8080, upstreams: [{ destination_name: "db", local_bind_port: 9191 }], config: { keep_me: 1 } },
  });
  validateServiceDefinition(d);
  assert.deepEqual(d.proxy, {
    DestinationServiceName: "web",
    LocalServicePort: 8080,
    Upstreams: [{ DestinationName: "db", LocalBindPort: 9191 }],
    Config: { keep_me: 1 },
  });
});

test("check type - precedence follows Consul's CheckType.Type", () => {
  assert.equal(checkKind(decodeCheckDefinition({ TTL: "10s" })), "ttl");
  assert.equal(checkKind(decodeCheckDefinition({ HTTP: "http://x", Interval: "10s" })), "http");
  assert.equal(checkKind(decodeCheckDefinition({ GRPC: "x:1", HTTP: "http://x", Interval: "10s" })), "grpc");
  assert.equal(checkKind(decodeCheckDefinition({ tcp: "x:1", interval: "5s" })), "tcp");
  assert.equal(checkKind(decodeCheckDefinition({ alias_service: "web" })), "alias");
  assert.equal(checkKind(decodeCheckDefinition({ args: ["/bin/true"], interval: "5s", docker_container_id: "c1" })), "docker");
  assert.equal(checkKind(decodeCheckDefinition({ ScriptArgs: ["/bin/true"], Interval: "5s" })), "script");
  assert.equal(checkKind(decodeCheckDefinition({ h2ping: "x:1", interval: "5s" })), "h2ping");
  assert.equal(checkKind(decodeCheckDefinition({ os_service: "svc", interval: "5s" })), "os_service");
});

test("check type - durations may be Go strings or nanosecond numbers", () => {
  assert.equal(decodeCheckDefinition({ TTL: 15_000_000_000 }).ttlMs, 15_000);
  assert.equal(decodeCheckDefinition({ deregister_critical_service_after: "90m" }).deregisterCriticalServiceAfterMs, 5_400_000);
  assert.equal(checkDefinitionProblem(decodeCheckDefinition({ TTL: "1s", OutputMaxSize: -1 })), "MaxOutputMaxSize must be positive");
});

test("check type - Header accepts lists or a single string per key", () => {
  assert.deepEqual(decodeCheckDefinition({ Header: { A: ["1", "2"], B: "3" } }).header, { A: ["1", "2"], B: ["3"] });
});
