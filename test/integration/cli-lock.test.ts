import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// `consulate lock` processes contending on a real `consulate agent -dev`. Each child appends
// "start"/"end" lines with nanosecond timestamps to a shared file, so overlaps are visible.

let agent: AgentProcess;
let dir: string;
before(async () => {
  agent = await spawnDevAgent();
  dir = await mkdtemp(join(tmpdir(), "cli-lock-"));
});
after(async () => {
  await agent?.kill();
  await rm(dir, { recursive: true, force: true });
});

interface LockRun {
  code: Promise<number | null>;
  output: () => string;
}

function runLock(args: string[]): LockRun {
  const child = spawn(process.execPath, [CONSULATE_BIN, "lock", ...args], {
    env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return { code: new Promise((resolve) => child.once("exit", (c) => resolve(c))), output: () => out };
}

function recordingChild(file: string, seconds: number): string {
  return `echo "start $(date +%s%N)" >> ${file}; sleep ${seconds}; echo "end $(date +%s%N)" >> ${file}`;
}

/** The largest number of children that were inside their critical section at once. */
function maxConcurrency(log: string): number {
  const events = log
    .trim()
    .split("\n")
    .map((line) => {
      const [kind, stamp] = line.split(" ");
      return { delta: kind === "start" ? 1 : -1, at: BigInt(stamp) };
    })
    .sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
  let current = 0;
  let max = 0;
  for (const e of events) {
    current += e.delta;
    max = Math.max(max, current);
  }
  return max;
}

async function kvGet(key: string): Promise<{ Session?: string; Flags: number }[] | undefined> {
  const res = await fetch(`${agent.base}/v1/kv/${key}`);
  if (res.status === 404) return undefined;
  return (await res.json()) as { Session?: string; Flags: number }[];
}

void test("lock - two processes on one prefix never run their children concurrently", async () => {
  const file = join(dir, "mutex.log");
  const runs = [runLock(["mutex", recordingChild(file, 0.7)]), runLock(["mutex", recordingChild(file, 0.7)])];
  const codes = await Promise.all(runs.map((r) => r.code));
  assert.deepEqual(codes, [0, 0], runs.map((r) => r.output()).join("\n"));
  const log = await readFile(file, "utf8");
  assert.equal(log.trim().split("\n").length, 4);
  assert.equal(maxConcurrency(log), 1);
  // Released and cleaned up: the .lock key is gone.
  assert.equal(await kvGet("mutex/.lock"), undefined);
});

void test("lock - a semaphore with -n 2 lets two of three holders run together, never three", async () => {
  const file = join(dir, "sem.log");
  const runs = [0, 1, 2].map(() => runLock(["-n=2", "sem", recordingChild(file, 1.5)]));
  const codes = await Promise.all(runs.map((r) => r.code));
  assert.deepEqual(codes, [0, 0, 0], runs.map((r) => r.output()).join("\n"));
  const log = await readFile(file, "utf8");
  assert.equal(log.trim().split("\n").length, 6);
  assert.equal(maxConcurrency(log), 2);
  assert.equal(await kvGet("sem/.lock"), undefined);
});

void test("lock - -child-exit-code turns a failed child into exit 2, otherwise 0", async () => {
  const propagated = runLock(["-child-exit-code", "codes", "exit 7"]);
  assert.equal(await propagated.code, 2);
  assert.match(propagated.output(), /Error running handler: exit status 7/);
  const swallowed = runLock(["codes", "exit 7"]);
  assert.equal(await swallowed.code, 0);
});

void test("lock - losing the lock (session destroyed) kills the child", async () => {
  const file = join(dir, "lost.log");
  const run = runLock(["-verbose", "lost", `echo started >> ${file}; exec sleep 30`]);
  let session: string | undefined;
  for (let i = 0; i < 200 && session === undefined; i++) {
    const entries = await kvGet("lost/.lock");
    session = entries?.[0]?.Session;
    if (session === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(session, "the lock is held");
  // Go's api.Lock flag value, exact beyond 2^53 in the raw body.
  assert.match(await (await fetch(`${agent.base}/v1/kv/lost/.lock`)).text(), /"Flags":\s*3304740253564472344\b/);
  const started = Date.now();
  const destroyed = await fetch(`${agent.base}/v1/session/destroy/${session}`, { method: "PUT" });
  assert.equal(destroyed.status, 200);
  assert.equal(await run.code, 0);
  assert.ok(Date.now() - started < 10_000, "child killed well before its 30 s sleep ended");
  assert.match(run.output(), /Lock lost, killing child/);
  assert.match(run.output(), /Terminating child pid \d+/);
});
