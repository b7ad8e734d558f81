// `consulate debug`: one archive with agent self, host, members, metrics per interval and the
// logs over the duration; what it cannot capture (pprof) is refused, not skipped.
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

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args, `-http-addr=127.0.0.1:${agent.httpPort}`], { stdio: ["ignore", "pipe", "pipe"] });
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

void test("debug - captures agent, host, members, metrics and logs over -duration into one .tar.gz", async () => {
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
  const listing = execFileSync("tar", ["-tzf", `${output}.tar.gz`]).toString().trim().split("\n").sort();
  assert.deepEqual(listing, ["capture/agent.json", "capture/consul.log", "capture/host.json", "capture/index.json", "capture/members.json", "capture/metrics.json"]);
  const log = execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/consul.log"]).toString();
  assert.match(log, /Request finished: method=PUT url=\/v1\/kv\/during-debug/);
  const metrics = execFileSync("tar", ["-xzOf", `${output}.tar.gz`, "capture/metrics.json"]).toString().trim().split("\n");
  assert.ok(metrics.length >= 1);
  assert.ok(Array.isArray((JSON.parse(metrics[0] ?? "") as { Gauges: unknown[] }).Gauges));
});

void test("debug - refuses pprof, an interval under 5s and a duration shorter than the interval", async () => {
  const pprof = await cli(["debug", "-capture=pprof"]);
  assert.equal(pprof.code, 1);
  assert.match(pprof.out, /pprof target needs the agent's \/debug\/pprof endpoints/);
  const short = await cli(["debug", "-interval=1s"]);
  assert.equal(short.code, 1);
  assert.match(short.out, /interval must be longer than 5s, got 1s/);
  const shorter = await cli(["debug", "-duration=5s", "-interval=10s"]);
  assert.equal(shorter.code, 1);
  assert.match(shorter.out, /duration \(5s\) must be longer than interval \(10s\)/);
});
