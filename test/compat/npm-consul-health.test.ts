import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Consul from "consul";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// The seed flow of every microservice framework, with the npm `consul` client (v2) unchanged
// against a real `consulate agent -dev`: register with an HTTP check on /health, be
// discovered while passing, dropped while failing, back on recovery, gone after deregistration.

let agent: AgentProcess;
let consul: Consul;
let app: Server;
let appPort = 0;
let healthy = true;

before(async () => {
  app = createServer((req, res) => {
    if (req.url === "/health") res.writeHead(healthy ? 200 : 500).end(healthy ? "ok" : "unhealthy");
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appPort = (app.address() as AddressInfo).port;
  agent = await spawnDevAgent();
  consul = new Consul({ host: "127.0.0.1", port: agent.httpPort });
});

after(async () => {
  consul?.destroy();
  await agent?.kill();
  app?.closeAllConnections();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
});

interface HealthEntry {
  Service: { ID: string; Service: string; Tags: string[]; Address: string; Port: number };
  Checks: { CheckID: string; Status: string; Output: string }[];
}

/** Waits (real time: the agent runs real checks) until `read` yields a value. */
async function until<T>(read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const passingIds = async (): Promise<string[]> =>
  ((await consul.health.service({ service: "arithmetic", passing: true })) as HealthEntry[]).map((e) => e.Service.ID);

test("npm consul - a service with an HTTP check is discovered while passing, dropped while failing, back on recovery, gone after deregistration", async () => {
  const id = `arithmetic-${randomUUID()}`;
  await consul.agent.service.register({
    id,
    name: "arithmetic",
    tags: ["math", "v1"],
    address: "127.0.0.1",
    port: appPort,
    check: { name: "arithmetic health", http: `http://127.0.0.1:${appPort}/health`, interval: "1s", timeout: "1s" },
  });

  // A blocking-query watch sees every change of the passing set.
  const watch = consul.watch({ method: consul.health.service, options: { service: "arithmetic", passing: "true" } });
  const observed: string[][] = [];
  watch.on("change", (data: HealthEntry[]) => observed.push(data.map((e) => e.Service.ID)));
  watch.on("error", () => {});

  try {
    const entries = await until(async () => {
      const list = (await consul.health.service({ service: "arithmetic", passing: true })) as HealthEntry[];
      return list.length === 1 ? list : undefined;
    });
    const entry = entries[0];
    assert.deepEqual(
      { id: entry.Service.ID, tags: entry.Service.Tags, address: entry.Service.Address, port: entry.Service.Port },
      { id, tags: ["math", "v1"], address: "127.0.0.1", port: appPort },
    );
    const check = entry.Checks.find((c) => c.CheckID === `service:${id}`);
    assert.equal(check?.Status, "passing");
    assert.equal(check?.Output, `HTTP GET http://127.0.0.1:${appPort}/health: 200 OK Output: ok`);

    healthy = false;
    await until(async () => ((await passingIds()).length === 0 ? true : undefined));
    const all = (await consul.health.service("arithmetic")) as HealthEntry[];
    assert.equal(all.length, 1, "still registered, just not passing");
    assert.equal(all[0].Checks.find((c) => c.CheckID === `service:${id}`)?.Status, "critical");

    healthy = true;
    await until(async () => ((await passingIds()).includes(id) ? true : undefined));

    await until(async () => (observed.some((ids) => ids.length === 0) && observed.at(-1)?.includes(id) ? true : undefined));
  } finally {
    watch.end();
  }

  await consul.agent.service.deregister(id);
  assert.deepEqual(await consul.health.service("arithmetic"), []);
  const services = (await consul.agent.service.list()) as Record<string, unknown>;
  assert.equal(services[id], undefined);
});

test("npm consul - a TTL heartbeat keeps a service passing (Spring Cloud style agent.check.pass('service:<id>'))", async () => {
  const id = `heartbeat-${randomUUID()}`;
  await consul.agent.service.register({ id, name: "heartbeat", port: 9000, check: { name: "heartbeat ttl", ttl: "30s", timeout: "1s" } });
  const before = (await consul.health.service({ service: "heartbeat", passing: true })) as HealthEntry[];
  assert.equal(before.length, 0, "a TTL check starts critical");

  await consul.agent.check.pass(`service:${id}`);
  const after = (await consul.health.service({ service: "heartbeat", passing: true })) as HealthEntry[];
  assert.deepEqual(after.map((e) => e.Service.ID), [id]);

  await consul.agent.check.fail({ id: `service:${id}`, note: "shutting down" });
  const failing = (await consul.health.checks("heartbeat")) as { Status: string; Output: string }[];
  assert.deepEqual(failing.map((c) => [c.Status, c.Output]), [["critical", "shutting down"]]);

  await consul.agent.check.register({ name: "port-probe", tcp: `127.0.0.1:${appPort}`, interval: "10s", timeout: "1s" });
  await assert.rejects(consul.agent.check.pass("port-probe"), /CheckID "port-probe" does not have associated TTL/);
  await consul.agent.check.deregister("port-probe");
  await consul.agent.service.deregister(id);
});
