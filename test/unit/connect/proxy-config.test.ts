// The built-in proxy's configuration: what it reads from a connect-proxy registration and from
// flags, and what it refuses by name instead of ignoring.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configFromRegistration, ProxyConfigError, splitHostPort, upstreamFromFlag } from "../../../src/connect-proxy/proxy-config.ts";
import { destinationOfHost } from "../../../src/connect-native/mesh-fetch.ts";
import { consulSerial } from "../../../src/connect/mesh/peer-identity.ts";

const sidecar = {
  ID: "web-sidecar-proxy",
  Kind: "connect-proxy",
  Port: 21000,
  Address: "",
  Proxy: {
    DestinationServiceName: "web",
    DestinationServiceID: "web",
    LocalServiceAddress: "127.0.0.1",
    LocalServicePort: 8080,
    Upstreams: [{ DestinationName: "db", LocalBindPort: 9191 }],
  },
};

test("a sidecar registration becomes a public listener on its port and one upstream per entry", () => {
  const c = configFromRegistration(sidecar);
  assert.equal(c.service, "web");
  assert.deepEqual(c.publicListener, { bindAddress: "0.0.0.0", bindPort: 21000, localServiceAddress: "127.0.0.1", localServicePort: 8080, localConnectTimeoutMs: 1000, handshakeTimeoutMs: 10_000 });
  assert.deepEqual(c.upstreams, [{ destinationType: "service", destinationName: "db", datacenter: "", localBindAddress: "127.0.0.1", localBindPort: 9191, connectTimeoutMs: 10_000 }]);
});

test("Proxy.Config keys override the defaults", () => {
  const c = configFromRegistration({
    ...sidecar,
    Proxy: {
      ...sidecar.Proxy,
      Config: { bind_address: "127.0.0.2", bind_port: 22000, local_service_address: "127.0.0.3:9000", local_connect_timeout_ms: 250, handshake_timeout_ms: "500" },
      Upstreams: [{ DestinationName: "db", Datacenter: "dc2", LocalBindAddress: "127.0.0.4", LocalBindPort: 9191, Config: { connect_timeout_ms: 300 } }],
    },
  });
  assert.deepEqual(c.publicListener, { bindAddress: "127.0.0.2", bindPort: 22000, localServiceAddress: "127.0.0.3", localServicePort: 9000, localConnectTimeoutMs: 250, handshakeTimeoutMs: 500 });
  assert.deepEqual(c.upstreams[0], { destinationType: "service", destinationName: "db", datacenter: "dc2", localBindAddress: "127.0.0.4", localBindPort: 9191, connectTimeoutMs: 300 });
});

test("what the built-in proxy cannot honour is refused by name", () => {
  const withUpstream = (u: Record<string, unknown>) => ({ ...sidecar, Proxy: { ...sidecar.Proxy, Upstreams: [{ DestinationName: "db", LocalBindPort: 9191, ...u }] } });
  assert.equal(configFromRegistration(withUpstream({ DestinationType: "prepared_query" })).upstreams[0].destinationType, "prepared_query");
  assert.throws(() => configFromRegistration(withUpstream({ DestinationType: "peer" })), (e: Error) => e instanceof ProxyConfigError && /Upstreams\[0\]: DestinationType "peer" is not supported/.test(e.message));
  assert.throws(() => configFromRegistration(withUpstream({ DestinationPeer: "other" })), /DestinationPeer/);
  assert.throws(() => configFromRegistration(withUpstream({ LocalBindSocketPath: "/tmp/s" })), /LocalBindSocketPath/);
  assert.throws(() => configFromRegistration(withUpstream({ LocalBindPort: 0 })), /LocalBindPort is required/);
  assert.throws(() => configFromRegistration({ ...sidecar, Kind: "" }), /is not a connect-proxy/);
  assert.throws(() => configFromRegistration({ ...sidecar, Proxy: { ...sidecar.Proxy, Config: { bind_port: "x" } } }), /bind_port must be a non-negative number/);
});

test("-upstream name:port and host:port parsing", () => {
  assert.deepEqual(upstreamFromFlag("db:8181"), { destinationType: "service", destinationName: "db", datacenter: "", localBindAddress: "127.0.0.1", localBindPort: 8181, connectTimeoutMs: 10_000 });
  assert.throws(() => upstreamFromFlag("db"), /must be <service>:<port>/);
  assert.throws(() => upstreamFromFlag("db:70000"), /must be <service>:<port>/);
  assert.deepEqual(splitHostPort("[::1]:80", "x"), { host: "::1", port: 80 });
  assert.deepEqual(splitHostPort(":80", "x"), { host: "", port: 80 });
});

test("mesh fetch hosts name services the way Go's connect resolver reads them", () => {
  assert.deepEqual(destinationOfHost("web.service.consul"), { destination: "web", datacenter: "" });
  assert.deepEqual(destinationOfHost("web.service.dc2.consul"), { destination: "web", datacenter: "dc2" });
  assert.deepEqual(destinationOfHost("web.connect.example."), { destination: "web", datacenter: "" });
  assert.deepEqual(destinationOfHost("web"), { destination: "web", datacenter: "" });
  assert.throws(() => destinationOfHost("example.com"), { name: "ConnectError", code: "BadDestination" });
});

test("certificate serials are written the way Consul writes them", () => {
  assert.equal(consulSerial("0A1F"), "0a:1f");
  assert.equal(consulSerial("A1F"), "0a:1f");
});
