// `consulate debug`: one archive with agent self, host, members, metrics per interval and the
// logs over the duration, and — when the agent has enable_debug (-dev sets it) — the CPU
// profile over the duration, a trace over the first interval, heap and async-resource
// snapshots each interval.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  await agent.kill();
});

function cli(args: string[], httpPort = agent.httpPort): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args, `-http-addr=127.0.0.1:${httpPort}`], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

void test("debug - captures agent, host, members, metrics, logs and a CPU profile over -duration into one .tar.gz", async () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-debug-"));
  const output = join(dir, "capture");
  let finished = false;
  const run = cli(["debug", "-duration=5s", "-interval=5s", `-output=${output}`]).finally(() => (finished = true));
  // Writes all along the capture (the command's own start-up may take a while on a busy machine).
  while (!finished) {
    await (await fetch(`${agent.base}/v1/kv/during-debug`, { method: "PUT", body: "x" })).text();
    await new Promise((r) => setTimeout(r, 300));
  }
  const { code, out } = await run;
  assert.equal(code, 0, out);
  assert.match(out, /==> Starting debugger and capturing static information\.\.\.\n {5}Agent Version: '1\.20\.0'\n {10}Interval: '5s'\n {10}Duration: '5s'/);
  const all = execFileSync("tar", ["-tzf", `${output}.tar.gz`]).toString().trim().split("\n").sort();
  // Heap and async-resource snapshots each interval, under Consul's interval directory name.
  const snapshots = all.filter((f) => /^capture\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\//.test(f));
  assert.ok(snapshots.length >= 2, all.join(", "));
  assert.deepEqual([...new Set(snapshots.map((f) => f.split("/")[2]))].sort(), ["goroutine.json", "heap.heapprofile"]);
  const listing = all.filter((f) => !snapshots.includes(f));
  assert.deepEqual(listing, ["capture/agent.json", "capture/consul.log", "capture/host.json", "capture/index.json", "capture/members.json", "capture/metrics.json", "capture/profile.cpuprofile", "capture/trace.json"]);
  const heap = JSON.parse(execFileSync("tar", ["-xzOf", `${output}.tar.gz`, snapshots.find((f) => f.endsWith("heap.heapprofile")) ?? ""]).toString()) as { head: unknown };
  assert.ok(heap.head);
  const trace = JSON.parse(execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/trace.json"], { maxBuffer: 512 * 1024 * 1024 }).toString()) as { traceEvents: unknown[] };
  assert.ok(trace.traceEvents.length > 0);
  const profile = JSON.parse(execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/profile.cpuprofile"]).toString()) as { nodes: unknown[]; startTime: number; endTime: number };
  assert.ok(profile.nodes.length > 0);
  assert.ok(profile.endTime - profile.startTime >= 4_000_000, "one profile spans the whole 5s duration (V8 times in µs)");
  const log = execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/consul.log"]).toString();
  assert.match(log, /Request finished: method=PUT url=\/v1\/kv\/during-debug/);
  const metrics = execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/metrics.json"]).toString().trim().split("\n");
  assert.ok(metrics.length >= 1);
  assert.ok(Array.isArray((JSON.parse(metrics[0] ?? "") as { Gauges: unknown[] }).Gauges));
});

void test("debug - refuses an unknown target, an interval under 5s and a duration shorter than the interval", async () => {
  const unknown = await cli(["debug", "-capture=heap"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.out, /target not found for capture: heap/);
  const short = await cli(["debug", "-interval=1s"]);
  assert.equal(short.code, 1);
  assert.match(short.out, /interval must be longer than 5s, got 1s/);
  const shorter = await cli(["debug", "-duration=5s", "-interval=10s"]);
  assert.equal(shorter.code, 1);
  assert.match(shorter.out, /duration \(5s\) must be longer than interval \(10s\)/);
});

void test("debug - an agent without enable_debug: pprof is dropped with Consul's warning, the rest is captured", async () => {
  const plain = await spawnDevAgent(["-hcl=enable_debug = false"]);
  try {
    const dir = mkdtempSync(join(tmpdir(), "consulate-debug-"));
    const output = join(dir, "noprof");
    const { code, out } = await cli(["debug", "-duration=5s", "-interval=5s", "-capture=pprof", "-capture=agent", `-output=${output}`], plain.httpPort);
    assert.equal(code, 0, out);
    assert.match(out, /\[WARN\] Unable to capture pprof\. Set enable_debug to true on target agent to enable profiling\./);
    assert.match(out, /Capture: 'agent'/);
    const listing = execFileSync("tar", ["-tzf", `${output}.tar.gz`]).toString().trim().split("\n").sort();
    assert.deepEqual(listing, ["noprof/agent.json", "noprof/index.json"]);
  } finally {
    await plain.kill();
  }
});
