import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// Health checks on the real agent process: persistence across restarts, script checks
// under enable_script_checks, TCP checks, and config reloads that do not duplicate anything.

const dirs: string[] = [];
const agents: AgentProcess[] = [];
after(async () => {
  for (const a of agents) await a.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "consulate-hc-"));
  dirs.push(d);
  return d;
}

async function start(args: string[]): Promise<AgentProcess> {
  const a = await spawnDevAgent(args);
  agents.push(a);
  return a;
}

async function put(agent: AgentProcess, path: string, body?: unknown): Promise<Response> {
  return fetch(`${agent.base}${path}`, { method: "PUT", body: body === undefined ? undefined : JSON.stringify(body) });
}

async function checks(agent: AgentProcess): Promise<Record<string, { Status: string; Output: string; ServiceID: string }>> {
  return (await (await fetch(`${agent.base}/v1/agent/checks`)).json()) as Record<string, { Status: string; Output: string; ServiceID: string }>;
}

async function until<T>(read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("health checks - API registrations survive a restart with -data-dir; config ones are not persisted", async () => {
  const dir = tempDir();
  const first = await start([`-data-dir=${dir}`]);
  assert.equal((await put(first, "/v1/agent/service/register", { ID: "orders-1", Name: "orders", Port: 7000, Token: "t0k", Check: { TTL: "30s" } })).status, 200);
  assert.equal((await put(first, "/v1/agent/check/register", { Name: "disk", TTL: "1m", Status: "passing" })).status, 200);
  await first.kill("SIGKILL");

  const second = await start([`-data-dir=${dir}`]);
  const services = (await (await fetch(`${second.base}/v1/agent/services`)).json()) as Record<string, { Port: number }>;
  assert.equal(services["orders-1"]?.Port, 7000);
  const restored = await checks(second);
  assert.equal(restored["service:orders-1"]?.Status, "critical", "restored checks start critical");
  assert.equal(restored.disk?.Status, "critical");
  const catalog = (await (await fetch(`${second.base}/v1/catalog/service/orders`)).json()) as unknown[];
  assert.equal(catalog.length, 1);
  assert.equal((await put(second, "/v1/agent/check/pass/service:orders-1")).status, 200);
  assert.equal((await checks(second))["service:orders-1"]?.Status, "passing");

  assert.equal((await put(second, "/v1/agent/service/deregister/orders-1")).status, 200);
  await second.kill("SIGKILL");
  const third = await start([`-data-dir=${dir}`]);
  const after = (await (await fetch(`${third.base}/v1/agent/services`)).json()) as Record<string, unknown>;
  assert.equal(after["orders-1"], undefined, "a deregistration is persisted too");
});

test("health checks - script checks run with enable_script_checks: exit 1 is warning with its output", async () => {
  const dir = tempDir();
  const file = join(dir, "scripts.hcl");
  writeFileSync(file, "enable_script_checks = true\n");
  const agent = await start([`-config-file=${file}`]);
  const res = await put(agent, "/v1/agent/check/register", { Name: "script", Args: ["sh", "-c", "echo degraded; exit 1"], Interval: "1s" });
  assert.equal(res.status, 200);
  const c = await until(async () => {
    const s = (await checks(agent)).script;
    return s?.Status === "warning" ? s : undefined;
  });
  assert.equal(c.Output, "degraded\n");
});

test("health checks - a TCP check against a listening port passes with Consul's output", async () => {
  const agent = await start([]);
  const addr = `127.0.0.1:${agent.httpPort}`;
  assert.equal((await put(agent, "/v1/agent/check/register", { Name: "api-port", TCP: addr, Interval: "1s" })).status, 200);
  const c = await until(async () => {
    const s = (await checks(agent))["api-port"];
    return s?.Status === "passing" ? s : undefined;
  });
  assert.equal(c.Output, `TCP connect ${addr}: Success`);
  const health = (await (await fetch(`${agent.base}/v1/health/state/passing`)).json()) as { CheckID: string }[];
  assert.ok(health.some((h) => h.CheckID === "api-port"));
});

test("health checks - SIGHUP reload keeps config checks once and running", async () => {
  const dir = tempDir();
  const file = join(dir, "svc.json");
  writeFileSync(file, JSON.stringify({ service: { name: "cfg", port: 1, checks: [{ ttl: "1m" }, { ttl: "2m" }] } }));
  const agent = await start([`-config-file=${file}`]);
  agent.child.kill("SIGHUP");
  await new Promise((r) => setTimeout(r, 500));
  agent.child.kill("SIGHUP");
  await until(async () => (agent.output().split("Reloaded configuration").length >= 3 ? true : undefined));
  const ids = Object.keys(await checks(agent)).sort();
  assert.deepEqual(ids, ["service:cfg:1", "service:cfg:2"]);
  assert.equal((await put(agent, "/v1/agent/check/pass/service:cfg:1")).status, 200, "the TTL runner survived the reload");
  const catalog = (await (await fetch(`${agent.base}/v1/health/checks/cfg`)).json()) as unknown[];
  assert.equal(catalog.length, 2);
});
