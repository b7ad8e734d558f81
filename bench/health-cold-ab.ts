import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { Agent as HttpAgent, request } from "node:http";
import { freePort } from "./free-port.ts";
import { firstOk } from "./http-call.ts";
import { readCpuTicks, waitUntilIdle } from "./proc-stats.ts";
import { RawHttpConnection } from "./raw-http-connection.ts";
import { instanceRegistration } from "./scale-jobs.ts";

// Same-run A/B of cold health/service answers (issue 17, S4): two -dev agents, one per bundle
// (a copy of an older dist/consulate.mjs and the current one), get the same catalog (`nodes`
// nodes × `services` services, one passing check each, as the scale suite registers). Then
// every svc-k is read once on each agent, alternating which goes first: each read is a cold
// `nodes`-instance answer on both. Printed per read: wall ms (and when the first body byte
// came: how much of the wall the transfer after the encoding was), the agent's main-thread CPU
// (/proc/<pid>/schedstat, ns) and all-thread CPU (/proc ticks, GC threads included). Wall
// figures follow the machine's load; the CPU figures are the ones to compare.
//
//   npx tsx bench/health-cold-ab.ts <old.mjs> <new.mjs> [nodes=10000] [services=4]
//
// Copy each build's dist/ to a directory inside the worktree (e.g. .ab-old/): a bundle outside
// it does not find node_modules (msgpackr and the rest are not bundled).
//
// PROF_DIR=<dir> profiles the second agent (--cpu-prof; stopped with SIGINT so it is written);
// NEW_NODE_FLAGS="--max-semi-space-size=64 …" adds node flags to the second agent (e.g. to try V8
// settings); NEW_STDOUT=<file> keeps that agent's stdout there (e.g. its --trace-gc lines).

const CLOCK_TICKS_PER_SECOND = 100;
const REGISTER_CONCURRENCY = 32;

interface RunningAgent {
  child: ChildProcess;
  pid: number;
  base: string;
  http: HttpAgent;
}

async function start(bundle: string, nodeFlags: string[], stdoutFile?: string): Promise<RunningAgent> {
  const port = await freePort();
  const args = [bundle, "agent", "-dev", "-log-level", "warn", "-http-port", String(port), "-dns-port", String(await freePort()), "-server-port", String(await freePort()),
    "-serf-lan-port", String(await freePort()), "-serf-wan-port", String(await freePort()), "-grpc-port", "-1"];
  const child = spawn(process.execPath, [...nodeFlags, ...args], { stdio: ["ignore", stdoutFile ? openSync(stdoutFile, "w") : "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await firstOk(`${base}/v1/status/leader`, 20_000, 5, () => child.exitCode === null);
  return { child, pid: child.pid ?? 0, base, http: new HttpAgent({ keepAlive: true, maxSockets: 1 }) };
}

/** The main thread's CPU time so far, ns (first field of /proc/<pid>/schedstat). */
function mainThreadNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
}

async function registerAll(base: string, nodes: number, services: number): Promise<void> {
  const connections = Array.from({ length: REGISTER_CONCURRENCY }, () => new RawHttpConnection(base));
  const total = nodes * services;
  let next = 0;
  await Promise.all(
    connections.map(async (c) => {
      while (next < total) {
        const i = next++;
        const r = await c.request("PUT", "/v1/catalog/register", JSON.stringify(instanceRegistration(Math.floor(i / services), i % services)));
        if (r.status !== 200) throw new Error(`register: ${r.status} ${r.body.toString()}`);
      }
    }),
  );
  for (const c of connections) c.close();
}

function timedGet(agent: HttpAgent, url: string): Promise<{ ms: number; firstByteMs: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    request(url, { agent }, (res) => {
      let bytes = 0;
      let firstByteMs = 0;
      res.on("data", (c: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += c.length;
      });
      res.once("end", () => resolve({ ms: performance.now() - started, firstByteMs, bytes }));
      res.once("error", reject);
    })
      .once("error", reject)
      .end();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function main(): Promise<void> {
  const [oldBundle, newBundle, nodesArg, servicesArg] = process.argv.slice(2);
  if (!oldBundle || !newBundle) throw new Error("usage: health-cold-ab.ts <old.mjs> <new.mjs> [nodes] [services]");
  const nodes = Number(nodesArg ?? 10_000);
  const services = Number(servicesArg ?? 4);
  const prof = [...(process.env.PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.PROF_DIR] : []), ...(process.env.NEW_NODE_FLAGS ?? "").split(" ").filter(Boolean)];
  const agents: Record<"old" | "new", RunningAgent | undefined> = { old: undefined, new: undefined };
  try {
    agents.old = await start(oldBundle, []);
    agents.new = await start(newBundle, prof, process.env.NEW_STDOUT);
    for (const name of ["old", "new"] as const) {
      const a = agents[name];
      if (!a) continue;
      const before = readCpuTicks(a.pid);
      await registerAll(a.base, nodes, services);
      console.log(`${name}: registered ${nodes * services}, ${(((readCpuTicks(a.pid) - before) / CLOCK_TICKS_PER_SECOND / (nodes * services)) * 1e6).toFixed(0)} µs of CPU each`);
      await waitUntilIdle(a.pid, 500, 60_000);
    }
    const main: Record<"old" | "new", number[]> = { old: [], new: [] };
    const all: Record<"old" | "new", number[]> = { old: [], new: [] };
    const wall: Record<"old" | "new", number[]> = { old: [], new: [] };
    for (let s = 0; s < services; s++) {
      const order = s % 2 === 0 ? (["old", "new"] as const) : (["new", "old"] as const);
      const line: string[] = [];
      for (const name of order) {
        const a = agents[name];
        if (!a) continue;
        await waitUntilIdle(a.pid, 200, 20_000);
        const ns = mainThreadNs(a.pid);
        const ticks = readCpuTicks(a.pid);
        const r = await timedGet(a.http, `${a.base}/v1/health/service/svc-${s}`);
        main[name].push((mainThreadNs(a.pid) - ns) / 1e6);
        wall[name].push(r.ms);
        all[name].push(((readCpuTicks(a.pid) - ticks) * 1000) / CLOCK_TICKS_PER_SECOND);
        line.push(`${name} ${r.ms.toFixed(0)} ms (first body byte at ${r.firstByteMs.toFixed(0)} ms, main thread ${main[name].at(-1)?.toFixed(0)} ms, all threads ${all[name].at(-1)} ms, ${r.bytes} bytes)`);
      }
      console.log(`svc-${s}: ${line.join(", ")}; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    }
    for (const name of ["old", "new"] as const) console.log(`${name}: median main thread ${median(main[name]).toFixed(0)} ms, all threads ${median(all[name])} ms, wall ${median(wall[name]).toFixed(0)} ms per cold read`);
  } finally {
    for (const a of Object.values(agents)) {
      a?.http.destroy();
      a?.child.kill("SIGINT");
    }
  }
}

await main();
