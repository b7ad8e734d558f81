import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileRegistrationStore, registrationFileName } from "../../../src/storage/agent-registrations.ts";
import { eventually } from "./check-test-support.ts";
import { catalogCheck, check, service, settle, startHarness, type AgentHarness, type HarnessOptions } from "../agent/agent-harness.ts";

// These tests' clock steps were written against this seed's check staggering.
const startAgentRig = (options: HarnessOptions = {}): Promise<AgentHarness> => startHarness({ rngSeed: 11, ...options });

test("agent checks - an HTTP service check runs within one interval and its result reaches the catalog", async (t) => {
  let healthy = true;
  const target = createServer((_req, res) => void res.writeHead(healthy ? 200 : 500).end(healthy ? "ok" : "down"));
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
  const { agent, state, clock } = await startAgentRig();
  t.after(async () => {
    await agent.stop();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  await agent.addService(service({ ID: "web-1", Name: "web", Check: { HTTP: url, Interval: "10s" } }), { replaceExistingChecks: false, source: "api" });
  assert.equal(catalogCheck(state, "service:web-1")?.Status, "critical", "critical until the first run");
  clock.advance(10_100);
  await eventually(() => (catalogCheck(state, "service:web-1")?.Status === "passing" ? true : undefined));
  assert.equal(catalogCheck(state, "service:web-1")?.Output, `HTTP GET ${url}: 200 OK Output: ok`);

  healthy = false;
  clock.advance(10_100);
  await eventually(() => (catalogCheck(state, "service:web-1")?.Status === "critical" ? true : undefined));
  assert.equal(catalogCheck(state, "service:web-1")?.Output, `HTTP GET ${url}: 500 Internal Server Error Output: down`);
});

test("agent checks - an output-only change reaches the catalog after check_update_interval, a status change at once", async (t) => {
  const { agent, state, clock } = await startAgentRig({ checkSettings: { checkUpdateIntervalMs: 60_000 } });
  t.after(() => agent.stop());
  await agent.addCheck(check({ Name: "beat", TTL: "1h" }), "api");
  await agent.updateTtlCheck("beat", "passing", "v1");
  assert.deepEqual({ ...catalogCheck(state, "beat") }.Output, "v1");
  await agent.updateTtlCheck("beat", "passing", "v2");
  assert.equal(agent.localState.check("beat")?.Output, "v2", "the agent shows the new output at once");
  assert.equal(catalogCheck(state, "beat")?.Output, "v1", "the catalog write waits");
  clock.advance(90_000);
  await settle();
  assert.equal(catalogCheck(state, "beat")?.Output, "v2");
  await agent.updateTtlCheck("beat", "critical", "v3");
  assert.equal(catalogCheck(state, "beat")?.Status, "critical");
  assert.equal(catalogCheck(state, "beat")?.Output, "v3");
});

test("agent checks - DeregisterCriticalServiceAfter reaps after the one-minute minimum on the 30 s cadence", async (t) => {
  const { agent, state, clock } = await startAgentRig();
  t.after(() => agent.stop());
  await agent.addService(service({ ID: "job", Name: "job", Check: { TTL: "5s", DeregisterCriticalServiceAfter: "10s" } }), {
    replaceExistingChecks: false,
    source: "api",
  });
  clock.advance(60_000);
  await settle();
  assert.ok(agent.localState.service("job"), "10s is raised to the 1m minimum: not reaped at 60s");
  clock.advance(30_000);
  await settle();
  assert.equal(agent.localState.service("job"), undefined);
  assert.equal(state.catalog.nodeServices("node-a").some((s) => s.ID === "job"), false);
});

test("agent checks - a service whose check recovers is not reaped", async (t) => {
  const { agent, clock } = await startAgentRig();
  t.after(() => agent.stop());
  await agent.addService(service({ ID: "svc", Name: "svc", Check: { TTL: "10m", DeregisterCriticalServiceAfter: "1m" } }), {
    replaceExistingChecks: false,
    source: "api",
  });
  clock.advance(45_000);
  await agent.updateTtlCheck("service:svc", "passing", "");
  clock.advance(120_000);
  await settle();
  assert.ok(agent.localState.service("svc"));
});

test("agent checks - an alias check follows the aliased local service live", async (t) => {
  const { agent } = await startAgentRig();
  t.after(() => agent.stop());
  await agent.addService(service({ ID: "web", Name: "web", Check: { CheckID: "web-ttl", Name: "web ttl", TTL: "1h" } }), { replaceExistingChecks: false, source: "api" });
  await agent.addService(service({ ID: "web-proxy", Name: "web-proxy", Check: { AliasService: "web" } }), { replaceExistingChecks: false, source: "api" });
  await settle();
  const alias = () => agent.localState.check("service:web-proxy");
  assert.deepEqual({ s: alias()?.Status, o: alias()?.Output }, { s: "critical", o: 'Aliased check "web ttl" failing: ' });
  await agent.updateTtlCheck("web-ttl", "passing", "fine");
  await settle();
  assert.deepEqual({ s: alias()?.Status, o: alias()?.Output }, { s: "passing", o: "All checks passing." });
  await agent.updateTtlCheck("web-ttl", "warning", "slow");
  await settle();
  assert.deepEqual({ s: alias()?.Status, o: alias()?.Output }, { s: "warning", o: 'Aliased check "web ttl" failing: slow' });
  await agent.removeService("web");
  await settle();
  assert.deepEqual({ s: alias()?.Status, o: alias()?.Output }, { s: "critical", o: "Service web could not be found on node " });
});

test("agent checks - an alias with AliasNode follows the catalog rows of that node", async (t) => {
  const { agent } = await startAgentRig();
  t.after(() => agent.stop());
  await agent.addService(service({ ID: "db", Name: "db", Check: { CheckID: "db-ttl", Name: "db ttl", TTL: "1h", Status: "passing" } }), {
    replaceExistingChecks: false,
    source: "api",
  });
  await agent.addCheck(check({ Name: "db-alias", AliasNode: "node-a", AliasService: "db" }), "api");
  await settle();
  assert.equal(agent.localState.check("db-alias")?.Status, "passing");
  await agent.updateTtlCheck("db-ttl", "critical", "gone");
  await settle();
  assert.equal(agent.localState.check("db-alias")?.Status, "critical");
  assert.equal(agent.localState.check("db-alias")?.Output, 'Aliased check "db ttl" failing: gone');
});

test("agent checks - API registrations persist with their token in Consul's layout and come back after a restart", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-reg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await startAgentRig({ registrations: new FileRegistrationStore(dir) });
  await first.agent.addService(
    service({ ID: "api-1", Name: "api", Tags: ["v1"], Port: 8080, Check: { TTL: "30s", Status: "passing" }, Token: "secret-token" }),
    { replaceExistingChecks: false, source: "api" },
  );
  await first.agent.addCheck(check({ Name: "disk", TTL: "1m" }), "api");
  await first.agent.stop();

  assert.deepEqual(readdirSync(join(dir, "services")), [registrationFileName("api-1")]);
  const file = JSON.parse(readFileSync(join(dir, "services", registrationFileName("api-1")), "utf8")) as Record<string, unknown>;
  assert.equal(file.Token, "secret-token");
  assert.equal(file.Source, "remote");
  assert.equal((file.Service as Record<string, unknown>).Service, "api");
  assert.equal(readdirSync(join(dir, "checks")).length, 2);

  const second = await startAgentRig({ registrations: new FileRegistrationStore(dir) });
  t.after(() => second.agent.stop());
  await second.agent.restoreRegistrations();
  const svc = second.agent.localState.service("api-1");
  assert.deepEqual({ tags: svc?.Tags, port: svc?.Port }, { tags: ["v1"], port: 8080 });
  assert.equal(second.agent.localState.serviceEntries().find(([id]) => id === "api-1")?.[1].token, "secret-token");
  assert.equal(second.agent.localState.check("service:api-1")?.Status, "critical", "restored checks start critical");
  assert.ok(second.agent.localState.check("disk"));
  assert.equal(second.state.catalog.nodeServices("node-a").some((s) => s.ID === "api-1"), true);
  // The restored TTL check is live again.
  await second.agent.updateTtlCheck("service:api-1", "passing", "");
  assert.equal(catalogCheck(second.state, "service:api-1")?.Status, "passing");

  await second.agent.removeService("api-1");
  await second.agent.removeCheck("disk");
  assert.deepEqual(readdirSync(join(dir, "services")), []);
  assert.deepEqual(readdirSync(join(dir, "checks")), []);
});

test("agent checks - a config registration with the same ID wins over the persisted one", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-reg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await startAgentRig({ registrations: new FileRegistrationStore(dir) });
  await first.agent.addService(service({ ID: "cache", Name: "cache", Port: 1 }), { replaceExistingChecks: false, source: "api" });
  await first.agent.stop();

  const second = await startAgentRig({ registrations: new FileRegistrationStore(dir) });
  t.after(() => second.agent.stop());
  await second.agent.loadDefinitions([{ id: "cache", name: "cache", port: 2 }], []);
  await second.agent.restoreRegistrations();
  assert.equal(second.agent.localState.service("cache")?.Port, 2);
  assert.deepEqual(readdirSync(join(dir, "services")), []);
});

test("agent checks - config reload does not duplicate checks or runners", async (t) => {
  const { agent } = await startAgentRig();
  t.after(() => agent.stop());
  const defs = [{ id: "svc", name: "svc", checks: [{ tcp: "127.0.0.1:1", interval: "10s" }, { ttl: "30s" }] }];
  await agent.loadDefinitions(defs, []);
  await agent.loadDefinitions(defs, []);
  assert.deepEqual(
    agent.localState.checks().map((c) => c.CheckID).sort(),
    ["service:svc:1", "service:svc:2"],
  );
  assert.equal(agent.scheduler.scheduledChecks, 1);
});
