import { after, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";

// Dead-server cleanup on real processes: three servers, one killed. While MinQuorum is 3 the
// leader's autopilot keeps the dead voter; once MinQuorum is lowered it removes it from Raft.

const procs: AgentProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200 && res.status !== 429) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Health = { Healthy: boolean; FailureTolerance: number; Servers: { ID: string; Name: string; SerfStatus: string; Leader: boolean; Healthy: boolean }[] };
type RaftConfiguration = { Servers: { ID: string; Node: string; Leader: boolean }[] };

test("autopilot - a killed server is removed from Raft only once MinQuorum allows it", { timeout: 120_000 }, async () => {
  const specs: ServerSpec[] = [];
  for (const name of ["ap1", "ap2", "ap3"]) {
    const spec = await serverSpec(name, "127.0.0.1");
    dirs.push(spec.dataDir);
    specs.push(spec);
  }
  const running = new Map<string, AgentProcess>();
  for (const spec of specs) {
    const args = serverArgs(spec, 3, specs.filter((s) => s !== spec));
    // Ready as soon as HTTP answers: the leader comes once all three see each other.
    const proc = await spawnAgent(args, { httpPort: spec.httpPort, timeoutMs: 20_000, ready: async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200 });
    procs.push(proc);
    running.set(spec.name, proc);
  }
  const any = (): AgentProcess => [...running.values()][0];
  await eventually("all three servers healthy on the leader", async () => {
    const h = await getJson<Health>(`${any().base}/v1/operator/autopilot/health`);
    return h.Healthy && h.Servers.length === 3;
  }, 30_000);
  const put = await fetch(`${any().base}/v1/operator/autopilot/configuration`, { method: "PUT", body: JSON.stringify({ MinQuorum: 3 }) });
  assert.equal(await put.text(), "true");

  const before = await getJson<RaftConfiguration>(`${any().base}/v1/operator/raft/configuration`);
  const victim = before.Servers.find((s) => !s.Leader);
  assert.ok(victim);
  const victimProc = running.get(victim.Node);
  assert.ok(victimProc);
  await victimProc.kill("SIGKILL");
  running.delete(victim.Node);

  await eventually("gossip reports the killed server failed", async () => {
    const h = await getJson<Health>(`${any().base}/v1/operator/autopilot/health`);
    return h.Servers.some((s) => s.ID === victim.ID && s.SerfStatus === "failed" && !s.Healthy) && !h.Healthy;
  }, 30_000);
  // Two reconcile rounds (10 s apart) with MinQuorum 3: the dead voter stays.
  await new Promise((r) => setTimeout(r, 12_000));
  const held = await getJson<RaftConfiguration>(`${any().base}/v1/operator/raft/configuration`);
  assert.equal(held.Servers.length, 3, "MinQuorum 3 keeps the dead voter");

  const lower = await fetch(`${any().base}/v1/operator/autopilot/configuration`, { method: "PUT", body: JSON.stringify({ MinQuorum: 0 }) });
  assert.equal(await lower.text(), "true");
  await eventually("the dead server is removed from the Raft configuration", async () => {
    const cfg = await getJson<RaftConfiguration>(`${any().base}/v1/operator/raft/configuration`);
    return cfg.Servers.length === 2 && !cfg.Servers.some((s) => s.ID === victim.ID);
  }, 25_000);
  const health = await getJson<Health>(`${any().base}/v1/operator/autopilot/health`);
  assert.equal(health.Servers.length, 2);
  assert.equal(health.FailureTolerance, 0);
});
