import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";

// The autopilot configuration is Raft state: seeded once from the agent's `autopilot` block,
// changed through the API, and kept across kill -9 and a restart with different agent values.

const procs: AgentProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "consulate-autopilot-"));
after(async () => {
  for (const p of procs) await p.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

type Config = { MaxTrailingLogs: number; MinQuorum: number; ServerStabilizationTime: string; CreateIndex: number; ModifyIndex: number };

async function startServer(ports: number[], maxTrailingLogs: number): Promise<AgentProcess> {
  const [http, server, serfLan] = ports;
  const proc = await spawnAgent(
    [
      "-server",
      "-bootstrap",
      `-data-dir=${dataDir}`,
      "-bind=127.0.0.1",
      "-client=127.0.0.1",
      "-node=autopilot-1",
      `-http-port=${http}`,
      "-dns-port=-1",
      `-server-port=${server}`,
      `-serf-lan-port=${serfLan}`,
      "-serf-wan-port=-1",
      `-hcl=autopilot { max_trailing_logs = ${maxTrailingLogs} }`,
    ],
    { httpPort: http, timeoutMs: 20_000 },
  );
  procs.push(proc);
  return proc;
}

async function eventuallyConfig(base: string, ok: (c: Config) => boolean): Promise<Config> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${base}/v1/operator/autopilot/configuration`);
    const body = res.status === 200 ? ((await res.json()) as Config) : undefined;
    if (body && ok(body)) return body;
    if (Date.now() > deadline) throw new Error(`autopilot configuration never matched: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("autopilot configuration - seeded from agent config, CAS-updated, kept across kill -9 and restart", async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const first = await startServer(ports, 111);
  const seeded = await eventuallyConfig(first.base, (c) => c.ModifyIndex > 0);
  assert.equal(seeded.MaxTrailingLogs, 111);

  const stale = await fetch(`${first.base}/v1/operator/autopilot/configuration?cas=${seeded.ModifyIndex + 1000}`, { method: "PUT", body: JSON.stringify({ MinQuorum: 9 }) });
  assert.equal(await stale.text(), "false");
  const put = await fetch(`${first.base}/v1/operator/autopilot/configuration?cas=${seeded.ModifyIndex}`, {
    method: "PUT",
    body: JSON.stringify({ MinQuorum: 3, ServerStabilizationTime: "30s" }),
  });
  assert.equal(await put.text(), "true");
  const changed = await eventuallyConfig(first.base, (c) => c.MinQuorum === 3);
  assert.equal(changed.CreateIndex, seeded.CreateIndex);

  await first.kill("SIGKILL");
  // Different agent values on restart: the stored configuration wins, as in Consul.
  const second = await startServer(ports, 222);
  const after = await eventuallyConfig(second.base, (c) => c.ModifyIndex > 0);
  assert.deepEqual(
    { MaxTrailingLogs: after.MaxTrailingLogs, MinQuorum: after.MinQuorum, ServerStabilizationTime: after.ServerStabilizationTime, ModifyIndex: after.ModifyIndex },
    { MaxTrailingLogs: 111, MinQuorum: 3, ServerStabilizationTime: "30s", ModifyIndex: changed.ModifyIndex },
  );
  const health = await fetch(`${second.base}/v1/operator/autopilot/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { Healthy: boolean }).Healthy, true);
});
