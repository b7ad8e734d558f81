import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";

// Issue 12 item 4: a second agent on a running server's data dir must be refused (exit 1,
// naming the dir and the holder's pid); kill -9 of the holder must not lock the dir forever.

const running = new Set<AgentProcess>();
after(async () => {
  for (const p of running) await p.kill("SIGKILL");
});

async function serverArgs(dataDir: string, name: string): Promise<{ args: string[]; httpPort: number }> {
  const httpPort = await freePort();
  return {
    httpPort,
    args: [
      "-server",
      "-bootstrap",
      `-data-dir=${dataDir}`,
      "-bind=127.0.0.1",
      "-client=127.0.0.1",
      `-node=${name}`,
      `-http-port=${httpPort}`,
      "-dns-port=-1",
      `-server-port=${await freePort()}`,
      `-serf-lan-port=${await freePort()}`,
      "-serf-wan-port=-1",
    ],
  };
}

function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, "agent", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test("a second agent on a locked data dir exits 1 naming the dir and the holder's pid; after kill -9 the dir is usable again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "consulate-lock-"));
  const one = await serverArgs(dataDir, "lock-one");
  const first = await spawnAgent(one.args, { httpPort: one.httpPort, timeoutMs: 20_000 });
  running.add(first);
  const put = await fetch(`${first.base}/v1/kv/owner`, { method: "PUT", body: "first" });
  assert.equal(put.status, 200);

  const two = await serverArgs(dataDir, "lock-two");
  const refused = await runToExit(two.args);
  assert.equal(refused.code, 1, refused.output);
  assert.match(refused.output, new RegExp(`data dir ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by another agent \\(pid ${first.child.pid}\\)`));
  // The first server is unharmed and still the only writer.
  const still = await fetch(`${first.base}/v1/kv/owner?raw`);
  assert.equal(await still.text(), "first");

  await first.kill("SIGKILL");
  const three = await serverArgs(dataDir, "lock-one");
  const after9 = await spawnAgent(three.args, { httpPort: three.httpPort, timeoutMs: 20_000 });
  running.add(after9);
  const kept = await fetch(`${after9.base}/v1/kv/owner?raw`);
  assert.equal(await kept.text(), "first");
});
