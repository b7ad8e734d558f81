import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "../../../src/agent/agent.ts";
import { ConsulError } from "../../../src/errors/catalog.ts";
import { NODE, check, service, settle, startHarness } from "./agent-harness.ts";

// agent.md §0: the agent keeps its own services/checks and copies them into the catalog
// (immediately after each change and periodically, repairing drift).

test("anti-entropy - a registered service and its check reach the catalog once the write returns", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "web", Port: 80, Check: { TTL: "10s" } }), { replaceExistingChecks: false, source: "api" });
  assert.deepEqual(h.state.catalog.nodeServices(NODE).map((s) => s.ID), ["consul", "web"]);
  const c = h.state.catalog.getCheck(NODE, "service:web");
  assert.equal(c?.Status, "critical");
  assert.equal(c?.ServiceName, "web");
  await h.agent.stop();
});

test("anti-entropy - the periodic full sync re-registers a service deregistered from the catalog", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "web", Port: 80, Check: { TTL: "10s" } }), { replaceExistingChecks: false, source: "api" });
  await h.consensus.propose({ Type: "catalog-deregister", Node: NODE, ServiceID: "web" });
  assert.equal(h.state.catalog.getService(NODE, "web"), undefined);
  // The full sync comes after one interval plus up to one interval of stagger (60 s + [0, 60 s)).
  h.clock.advance(120_000);
  await settle();
  assert.equal(h.state.catalog.getService(NODE, "web")?.Port, 80);
  assert.equal(h.state.catalog.getCheck(NODE, "service:web")?.ServiceID, "web");
  assert.ok(h.agent.antiEntropy.stats.fullSyncs >= 2);
  await h.agent.stop();
});

test("anti-entropy - a full sync removes services and checks on our node that the agent does not own", async () => {
  const h = await startHarness();
  const node = h.state.catalog.getNode(NODE)!;
  await h.consensus.propose({
    Type: "catalog-register",
    Node: { ID: node.ID, Node: NODE, Address: node.Address, Datacenter: "dc1", TaggedAddresses: node.TaggedAddresses, Meta: node.Meta },
    SkipNodeUpdate: true,
    Service: { ID: "stray", Service: "stray", Tags: [], Address: "", Meta: {}, Port: 1, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} },
    Checks: [],
  });
  assert.ok(h.state.catalog.getService(NODE, "stray"));
  assert.equal(await h.agent.syncFull(), true);
  assert.equal(h.state.catalog.getService(NODE, "stray"), undefined);
  // serfHealth and the `consul` service belong to the servers and stay.
  assert.ok(h.state.catalog.getService(NODE, "consul"));
  assert.ok(h.state.catalog.getCheck(NODE, "serfHealth"));
  await h.agent.stop();
});

test("anti-entropy - a full sync re-registers the node when it was removed from the catalog", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "db", Port: 5432 }), { replaceExistingChecks: false, source: "api" });
  await h.consensus.propose({ Type: "catalog-deregister", Node: NODE });
  assert.equal(h.state.catalog.getNode(NODE), undefined);
  await h.agent.syncFull();
  assert.ok(h.state.catalog.getNode(NODE));
  assert.ok(h.state.catalog.getService(NODE, "db"));
  assert.equal(h.state.catalog.getCheck(NODE, "serfHealth")?.Status, "passing");
  await h.agent.stop();
});

test("anti-entropy - enable_tag_override: catalog tag edits survive and show locally", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "web", Tags: ["a"], EnableTagOverride: true }), { replaceExistingChecks: false, source: "api" });
  const row = h.state.catalog.getService(NODE, "web")!;
  const { CreateIndex: _c, ModifyIndex: _m, ...fields } = row;
  const node = h.state.catalog.getNode(NODE)!;
  await h.consensus.propose({
    Type: "catalog-register",
    Node: { ID: node.ID, Node: NODE, Address: node.Address, Datacenter: "dc1", TaggedAddresses: node.TaggedAddresses, Meta: node.Meta },
    SkipNodeUpdate: true,
    Service: { ...fields, Tags: ["edited"] },
    Checks: [],
  });
  await h.agent.syncFull();
  assert.deepEqual(h.state.catalog.getService(NODE, "web")?.Tags, ["edited"]);
  assert.deepEqual(h.agent.localState.service("web")?.Tags, ["edited"]);
  await h.agent.stop();
});

test("ttl - a TTL check not updated within its TTL turns critical with output 'TTL expired' and syncs", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "web", Check: { TTL: "10s", Status: "passing" } }), { replaceExistingChecks: false, source: "api" });
  assert.equal(h.agent.localState.check("service:web")?.Status, "passing");
  h.clock.advance(9_000);
  await h.agent.updateTtlCheck("service:web", "passing", "alive");
  h.clock.advance(9_000); // the update restarted the TTL
  assert.equal(h.agent.localState.check("service:web")?.Status, "passing");
  h.clock.advance(1_000);
  const c = h.agent.localState.check("service:web");
  assert.equal(c?.Status, "critical");
  assert.equal(c?.Output, "TTL expired (last output before timeout follows): alive");
  await settle();
  assert.equal(h.state.catalog.getCheck(NODE, "service:web")?.Status, "critical");
  await h.agent.stop();
});

test("ttl - expiry without any previous output says exactly 'TTL expired'", async () => {
  const h = await startHarness();
  await h.agent.addCheck(check({ Name: "app", TTL: "5s", Status: "passing" }), "api");
  h.clock.advance(5_000);
  assert.equal(h.agent.localState.check("app")?.Output, "TTL expired");
  await h.agent.stop();
  assert.equal(h.clock.pendingTimers(), 0);
});

test("ttl - output longer than the limit is cut with Consul's suffix", async () => {
  const h = await startHarness({ checkSettings: { checkOutputMaxSize: 10 } });
  await h.agent.addCheck(check({ Name: "app", TTL: "5s" }), "api");
  await h.agent.updateTtlCheck("app", "warning", "0123456789abcdef");
  assert.equal(h.agent.localState.check("app")?.Output, "0123456789 ... (captured 10 of 16 bytes)");
  await h.agent.stop();
});

test("script checks - refused unless enable_script_checks (API) or enable_local_script_checks (config)", async () => {
  const h = await startHarness();
  const script = { Name: "s", Args: ["/bin/true"], Interval: "10s" };
  await assert.rejects(h.agent.addCheck(check(script), "api"), (e: unknown) => {
    assert.ok(e instanceof ConsulError);
    assert.equal(e.statusCode, 500);
    assert.equal(e.message, "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
    return true;
  });
  await assert.rejects(h.agent.loadDefinitions([], [script]), /Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true/);
  h.agent.checkSettings.enableLocalScriptChecks = true;
  await h.agent.loadDefinitions([], [script]);
  assert.equal(h.agent.localState.check("s")?.Type, "script");
  await assert.rejects(h.agent.addCheck(check({ ...script, Name: "t" }), "api"));
  h.agent.checkSettings.enableScriptChecks = true;
  await h.agent.addCheck(check({ ...script, Name: "t" }), "api");
  assert.equal(h.agent.localState.check("t")?.Status, "critical");
  await h.agent.stop();
});

test("config definitions - snake_case services and checks register, and a reload drops the ones removed", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "api-registered" }), { replaceExistingChecks: false, source: "api" });
  await h.agent.loadDefinitions(
    [
      {
        name: "web",
        id: "web-1",
        port: 8080,
        tags: ["v1"],
        enable_tag_override: true,
        tagged_addresses: { lan: { address: "10.0.0.1", port: 8080 } },
        checks: [{ id: "web-ttl", ttl: "30s" }, { http: "http://localhost:8080/health", interval: "10s", deregister_critical_service_after: "90m" }],
      },
    ],
    [{ name: "disk", ttl: "1m", status: "passing" }],
  );
  const web = h.agent.localState.service("web-1");
  assert.equal(web?.EnableTagOverride, true);
  assert.deepEqual(web?.TaggedAddresses, { lan: { Address: "10.0.0.1", Port: 8080 } });
  assert.deepEqual(
    h.agent.localChecks().map((c) => c.CheckID).sort(),
    ["disk", "service:web-1:2", "web-ttl"],
  );
  assert.equal(h.agent.localState.check("service:web-1:2")?.Type, "http");
  assert.deepEqual(h.agent.localState.check("service:web-1:2")?.Definition, {
    HTTP: "http://localhost:8080/health",
    Interval: "10s",
    DeregisterCriticalServiceAfter: "1h30m0s",
  });
  assert.ok(h.state.catalog.getService(NODE, "web-1"));

  await h.agent.loadDefinitions([], []);
  assert.equal(h.agent.localState.service("web-1"), undefined);
  assert.equal(h.agent.localState.check("disk"), undefined);
  assert.ok(h.agent.localState.service("api-registered"), "API registrations survive a reload");
  assert.equal(h.state.catalog.getService(NODE, "web-1"), undefined);
  await h.agent.stop();
});

test("config definitions - connect.sidecar_service in a service-definition file registers the sidecar; a reload without the block removes it", async () => {
  const h = await startHarness();
  await h.agent.loadDefinitions([{ name: "web", port: 8080, connect: { sidecar_service: { proxy: { upstreams: [{ destination_name: "db", local_bind_port: 9191 }] } } } }], []);
  const proxy = h.agent.localState.service("web-sidecar-proxy");
  assert.equal(proxy?.Kind, "connect-proxy");
  assert.equal(proxy?.Service, "web-sidecar-proxy");
  assert.equal(proxy?.Port, 21000);
  assert.equal(proxy?.Proxy.DestinationServiceID, "web");
  assert.equal(proxy?.Proxy.LocalServicePort, 8080);
  assert.deepEqual(
    h.agent.localChecks().map((c) => [c.CheckID, c.Name]).sort(),
    [
      ["service:web-sidecar-proxy:1", "Connect Sidecar Listening"],
      ["service:web-sidecar-proxy:2", "Connect Sidecar Aliasing web"],
    ],
  );
  assert.ok(h.state.catalog.getService(NODE, "web-sidecar-proxy"));
  await h.agent.loadDefinitions([{ name: "web", port: 8080 }], []);
  assert.ok(h.agent.localState.service("web"));
  assert.equal(h.agent.localState.service("web-sidecar-proxy"), undefined);
  assert.deepEqual(h.agent.localChecks(), []);
  await h.agent.stop();
});

test("sidecar ports - the range is honoured, and a full or disabled range is refused with Consul's text", async () => {
  const h = await startHarness({ sidecarPorts: { min: 30000, max: 30000 } });
  await h.agent.addService(service({ Name: "a", Port: 1, Connect: { SidecarService: {} } }), { replaceExistingChecks: false, source: "api" });
  assert.equal(h.agent.localState.service("a-sidecar-proxy")?.Port, 30000);
  await assert.rejects(
    h.agent.addService(service({ Name: "b", Port: 2, Connect: { SidecarService: {} } }), { replaceExistingChecks: false, source: "api" }),
    /no port provided for sidecar_service and none left in the configured range \[30000, 30000\]/,
  );
  h.agent.sidecarPorts = { min: -1, max: -1 };
  await assert.rejects(
    h.agent.addService(service({ Name: "c", Port: 3, Connect: { SidecarService: {} } }), { replaceExistingChecks: false, source: "api" }),
    /no port provided for sidecar_service and auto-assignment disabled in config/,
  );
  await h.agent.stop();
});

test("config definitions - an invalid definition is reported and nothing changes", async () => {
  const h = await startHarness();
  await assert.rejects(h.agent.loadDefinitions([{ name: "ok" }, { port: 1 }], []), /Failed to register service definition 2: Missing service name/);
  assert.equal(h.agent.localState.service("ok"), undefined);
  await h.agent.stop();
});

test("leave - deregisterAll removes every local service and check from the catalog", async () => {
  const h = await startHarness();
  await h.agent.addService(service({ Name: "web", Check: { TTL: "10s" } }), { replaceExistingChecks: false, source: "api" });
  await h.agent.enableNodeMaintenance("");
  await h.agent.deregisterAll();
  assert.deepEqual(h.agent.localServices(), []);
  assert.deepEqual(h.agent.localChecks(), []);
  assert.deepEqual(h.state.catalog.nodeServices(NODE).map((s) => s.ID), ["consul"]);
  assert.deepEqual(h.state.catalog.nodeChecks(NODE).map((c) => c.CheckID), ["serfHealth"]);
  assert.equal(h.clock.pendingTimers() > 0, true, "anti-entropy keeps its periodic timer until stop");
  await h.agent.stop();
  assert.equal(h.clock.pendingTimers(), 0);
});

test("node maintenance - adds the critical _node_maintenance check with the default reason; twice is a no-op", async () => {
  const h = await startHarness();
  await h.agent.enableNodeMaintenance("");
  await h.agent.enableNodeMaintenance("other");
  const c = h.state.catalog.getCheck(NODE, "_node_maintenance");
  assert.equal(c?.Status, "critical");
  assert.equal(c?.Name, "Node Maintenance Mode");
  assert.equal(c?.Notes, "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.");
  await h.agent.disableNodeMaintenance();
  assert.equal(h.state.catalog.getCheck(NODE, "_node_maintenance"), undefined);
  await h.agent.stop();
});

test("config definitions - loading before start does not wait; the first full sync pushes them", async () => {
  const h = await startHarness();
  await h.agent.stop();
  // A fresh agent, not started yet.
  const early = new Agent({
    identity: { ...h.agent.identity, nodeName: "node-b", nodeId: "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee" },
    consensus: h.consensus,
    state: h.state,
    clock: h.clock,
    rng: h.agent.rng,
    logger: h.agent.logger,
  });
  await early.loadDefinitions([{ name: "cache", port: 6379 }], []);
  assert.equal(h.state.catalog.getService("node-b", "cache"), undefined);
  await early.start();
  await early.syncChanges();
  assert.equal(h.state.catalog.getService("node-b", "cache")?.Port, 6379);
  await early.stop();
});
