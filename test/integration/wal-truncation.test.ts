import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, statSync, truncateSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeFileSystem } from "../../src/storage/file-system.ts";
import { StableStore } from "../../src/storage/stable-store.ts";
import { CONSULATE_BIN, freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";

// Issue 12 item 5: with the newest WAL segment cut in half, a server used to start with half
// of its acknowledged keys gone and say nothing. Now it refuses (acknowledged entries are
// missing) until an operator passes -recover-truncated-log, and logs the torn tail at WARN.

const running = new Set<AgentProcess>();
after(async () => {
  for (const p of running) await p.kill("SIGKILL");
});

async function args(dataDir: string, extra: string[] = []): Promise<{ args: string[]; httpPort: number }> {
  const httpPort = await freePort();
  return {
    httpPort,
    args: [
      "-server",
      "-bootstrap",
      `-data-dir=${dataDir}`,
      "-bind=127.0.0.1",
      "-client=127.0.0.1",
      "-node=wal-cut",
      `-http-port=${httpPort}`,
      "-dns-port=-1",
      `-server-port=${await freePort()}`,
      `-serf-lan-port=${await freePort()}`,
      "-serf-wan-port=-1",
      ...extra,
    ],
  };
}

function runToExit(argv: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, "agent", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
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

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a WAL segment cut in half after kill -9: refused (acknowledged entries missing) until -recover-truncated-log, torn tail logged at WARN", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "consulate-walcut-"));
  const first = await args(dataDir);
  const server = await spawnAgent(first.args, { httpPort: first.httpPort, timeoutMs: 20_000 });
  running.add(server);
  const keys = 120;
  const value = "v".repeat(512);
  for (let i = 0; i < keys; i++) {
    const res = await fetch(`${server.base}/v1/kv/cut/${i}`, { method: "PUT", body: value });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  const last = await fetch(`${server.base}/v1/kv/cut/${keys - 1}`);
  const lastIndex = Number(last.headers.get("X-Consul-Index"));
  await last.arrayBuffer();
  // The commit index reaches the hardstate file in the background (at most once a second).
  const raftDir = join(dataDir, "raft");
  await eventually("the commit checkpoint", async () => (await new StableStore(nodeFileSystem, raftDir).load()).commit >= lastIndex);
  await server.kill("SIGKILL");

  const walDir = join(raftDir, "wal");
  const newest = readdirSync(walDir).filter((n) => n.endsWith(".wal")).sort().at(-1);
  assert.ok(newest, "a WAL segment exists");
  const segment = join(walDir, newest);
  truncateSync(segment, Math.floor(statSync(segment).size / 2));
  // A tail the disk extended but never wrote (zeros): a torn write, whatever the cut hit.
  appendFileSync(segment, Buffer.alloc(16));
  mkdirSync(join(dataDir, "services"), { recursive: true });
  const leftover = join(dataDir, "services", "interrupted.tmp");
  writeFileSync(leftover, "");

  const refused = await runToExit((await args(dataDir)).args);
  assert.equal(refused.code, 1, refused.output);
  assert.match(refused.output, /acknowledged entries are missing: the commit index on disk is \d+ but the Raft log in .* ends at \d+/);
  assert.match(refused.output, /-recover-truncated-log/);
  assert.match(refused.output, /\[WARN\].*Cut a torn write off the end of the Raft log.*bytes=\d+/);
  assert.match(refused.output, /\[WARN\].*Removed a file left by an interrupted write.*interrupted\.tmp/);
  assert.equal(existsSync(leftover), false, "a .tmp left by an interrupted write is removed at start");

  const recoverArgs = await args(dataDir, ["-recover-truncated-log"]);
  const recovered = await spawnAgent(recoverArgs.args, { httpPort: recoverArgs.httpPort, timeoutMs: 20_000 });
  running.add(recovered);
  // Logged at start-up before the API opens, but agent logs go out in batches every 15 ms: a
  // fast start can answer the readiness check first, so the line is waited for.
  await eventually("the WARN about missing acknowledged entries", () => Promise.resolve(/\[WARN\].*acknowledged entries missing/.test(recovered.output())), 5000);
  const list = await fetch(`${recovered.base}/v1/kv/cut/?keys`);
  const survivors = (await list.json()) as string[];
  assert.ok(survivors.length < keys, `some acknowledged keys are gone (${survivors.length} of ${keys} left)`);
  await recovered.kill("SIGTERM");

  // The accepted loss is recorded: a plain restart no longer refuses.
  const plain = await args(dataDir);
  const again = await spawnAgent(plain.args, { httpPort: plain.httpPort, timeoutMs: 20_000 });
  running.add(again);
  await again.kill("SIGKILL");
});

test("-recover-truncated-log is refused where nothing honours it (not a server with a data dir)", async () => {
  const refused = await runToExit(["-dev", "-recover-truncated-log", `-http-port=${await freePort()}`, "-dns-port=-1"]);
  assert.equal(refused.code, 1, refused.output);
  assert.match(refused.output, /-recover-truncated-log applies only to a server with a data_dir/);
});
