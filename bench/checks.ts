import { Agent as HttpAgent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { count, ms, percent } from "./format.ts";
import { httpCall } from "./http-call.ts";
import { readCpuTicks } from "./proc-stats.ts";
import type { ResultRow } from "./report.ts";
import { launch } from "./servers.ts";

// Health checks at scale (issue 3): one agent runs 5,000 HTTP checks at a 10 s interval
// against a bare node:http target in another process. Measured on the agent process only:
// CPU (target: under one core) and the latency of ordinary HTTP API reads issued while the
// checks run (target: p99 under 50 ms).
//
//   npx tsx bench/checks.ts            (or runChecksBench() from the runner)

export interface ChecksBenchOptions {
  checks: number;
  intervalSeconds: number;
  /** How long CPU and API latency are measured, once every check has run at least once. */
  measureSeconds: number;
  /** Concurrent API readers during the measurement. */
  readers: number;
}

export const DEFAULT_CHECKS_BENCH: ChecksBenchOptions = { checks: 5_000, intervalSeconds: 10, measureSeconds: 30, readers: 4 };

export interface ChecksBenchResult {
  checks: number;
  passing: number;
  cpuCores: number;
  apiRequests: number;
  apiP50Ms: number;
  apiP99Ms: number;
  apiMaxMs: number;
  registerSeconds: number;
  rows: ResultRow[];
}

const CLOCK_TICKS_PER_SECOND = 100;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function registerAll(base: string, target: string, n: number, intervalSeconds: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const body = JSON.stringify({
        ID: `svc-${i}`,
        Name: `svc-${i % 500}`,
        Port: 8000 + (i % 1000),
        Check: { HTTP: `${target}/health/${i}`, Interval: `${intervalSeconds}s`, Timeout: "5s" },
      });
      const res = await httpCall(`${base}/v1/agent/service/register`, "PUT", body);
      if (res.status !== 200) throw new Error(`register svc-${i}: ${res.status} ${res.body}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Timed GETs over keep-alive connections, as a dashboard or client library would issue them. */
async function readApi(base: string, readers: number, untilMs: number, services: number): Promise<number[]> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: readers });
  const latencies: number[] = [];
  const paths = (i: number): string => {
    const pick = i % 4;
    const svc = `svc-${i % Math.min(500, services)}`;
    if (pick === 0) return `/v1/health/service/${svc}?passing`;
    if (pick === 1) return `/v1/catalog/service/${svc}`;
    if (pick === 2) return `/v1/agent/service/svc-${i % services}`;
    return `/v1/kv/bench/key-${i % 100}`;
  };
  const get = (path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(`${base}${path}`, { agent }, (res) => {
        res.resume();
        res.once("end", () => {
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.once("error", reject);
      req.end();
    });
  let i = 0;
  const reader = async (): Promise<void> => {
    while (performance.now() < untilMs) {
      await get(paths(i++));
      // A steady, modest read load rather than a saturation test.
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all(Array.from({ length: readers }, reader));
  agent.destroy();
  return latencies;
}

export async function runChecksBench(options: Partial<ChecksBenchOptions> = {}): Promise<ChecksBenchResult> {
  const o = { ...DEFAULT_CHECKS_BENCH, ...options };
  const target = await launch("bare", { raiseFdLimit: true });
  const agent = await launch("agent", { raiseFdLimit: true });
  try {
    const registerStart = performance.now();
    await registerAll(agent.base, target.base, o.checks, o.intervalSeconds);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    // Every check's first run is staggered within one interval; let them all run once.
    await new Promise((r) => setTimeout(r, (o.intervalSeconds + 2) * 1000));

    const pid = agent.proc.pid;
    const ticksBefore = readCpuTicks(pid);
    const startedAt = performance.now();
    const latencies = await readApi(agent.base, o.readers, startedAt + o.measureSeconds * 1000, o.checks);
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const cpuCores = (readCpuTicks(pid) - ticksBefore) / CLOCK_TICKS_PER_SECOND / elapsedSeconds;

    const passingAnswer = await httpCall(`${agent.base}/v1/health/state/passing`, "GET", undefined, 30_000);
    const passing = (JSON.parse(passingAnswer.body) as { ServiceID: string }[]).filter((c) => c.ServiceID.startsWith("svc-")).length;

    const sorted = [...latencies].sort((a, b) => a - b);
    const result: Omit<ChecksBenchResult, "rows"> = {
      checks: o.checks,
      passing,
      cpuCores,
      apiRequests: latencies.length,
      apiP50Ms: percentile(sorted, 50),
      apiP99Ms: percentile(sorted, 99),
      apiMaxMs: sorted.at(-1) ?? NaN,
      registerSeconds,
    };
    const detail = `${count(o.checks)} HTTP checks at ${o.intervalSeconds}s, ${count(passing)} passing; ${count(result.apiRequests)} API reads, p50 ${result.apiP50Ms.toFixed(2)} ms, max ${ms(result.apiMaxMs)}; registration took ${result.registerSeconds.toFixed(1)} s`;
    const rows: ResultRow[] = [
      {
        name: `checks: CPU with ${count(o.checks)} HTTP checks`,
        agent: `${cpuCores.toFixed(2)} cores`,
        bare: "—",
        ratio: percent(cpuCores),
        target: "< 1 core",
        pass: cpuCores < 1 && passing === o.checks,
        detail,
      },
      {
        name: "checks: HTTP API p99 while they run",
        agent: `${result.apiP99Ms.toFixed(2)} ms`,
        bare: "—",
        ratio: "—",
        target: "< 50 ms",
        pass: result.apiP99Ms < 50,
        detail,
      },
    ];
    return { ...result, rows };
  } finally {
    await agent.proc.stop();
    await target.proc.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await runChecksBench();
  console.log(`checks:             ${count(r.checks)} HTTP checks every 10 s (${count(r.passing)} passing after the first round)`);
  console.log(`registration:       ${r.registerSeconds.toFixed(1)} s`);
  console.log(`agent CPU:          ${r.cpuCores.toFixed(3)} cores  (target < 1)  ${r.cpuCores < 1 ? "PASS" : "MISS"}`);
  console.log(`API reads:          ${count(r.apiRequests)}  p50 ${r.apiP50Ms.toFixed(2)} ms  p99 ${r.apiP99Ms.toFixed(2)} ms  max ${r.apiMaxMs.toFixed(2)} ms  (target p99 < 50 ms)  ${r.apiP99Ms < 50 ? "PASS" : "MISS"}`);
}
