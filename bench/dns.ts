import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode, type SpawnedProcess } from "./child-process.ts";
import type { DnsLoadJob, DnsLoadOutcome } from "./dns-load-worker.ts";
import { freePort } from "./free-port.ts";
import type { ResultRow } from "./report.ts";

// DNS queries/s for `web.service.consul` A and SRV against a 20-instance service, each divided
// by a bare node:dgram server's figure measured in the same run with the same load generator.
// Target: ≥ 50 % of the bare ceiling with p99 under 5 ms at that load.
//
//   node --import tsx bench/dns.ts        (or call runDnsBench() from bench/run.ts)

export type BenchRow = ResultRow;

const SERVERS = fileURLToPath(new URL("./dns-servers.ts", import.meta.url));
const LOAD_WORKER = fileURLToPath(new URL("./dns-load-worker.ts", import.meta.url));

const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 5;

export interface DnsBenchOptions {
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export const DNS_BENCH_DEFAULTS: DnsBenchOptions = { concurrency: 32, warmupSeconds: 1, durationSeconds: 5 };

function isOutcome(m: unknown): m is DnsLoadOutcome {
  return typeof m === "object" && m !== null && "queriesPerSecond" in m;
}

async function startServer(kind: "agent" | "bare"): Promise<{ proc: SpawnedProcess; port: number }> {
  const port = await freePort();
  const proc = spawnNode(SERVERS, [kind, String(port)], { label: `dns-${kind}`, ipc: true, viaTsx: true });
  await nextMessage(proc, (m): m is "ready" => m === "ready", 30_000);
  return { proc, port };
}

async function measure(job: DnsLoadJob): Promise<DnsLoadOutcome> {
  const worker = spawnNode(LOAD_WORKER, [], { label: "dns-load", ipc: true, viaTsx: true });
  try {
    const answer = nextMessage(worker, isOutcome, (job.warmupSeconds + job.durationSeconds) * 1000 + 30_000);
    worker.child.send(job);
    return await answer;
  } finally {
    await worker.stop();
  }
}

const fmt = (qps: number): string => `${Math.round(qps).toLocaleString("en-US")} q/s`;

export async function runDnsBench(options: DnsBenchOptions = DNS_BENCH_DEFAULTS): Promise<BenchRow[]> {
  const agent = await startServer("agent");
  const bare = await startServer("bare");
  const rows: BenchRow[] = [];
  try {
    for (const type of ["A", "SRV"] as const) {
      const job = { name: "web.service.consul", type, ...options };
      // Interleaved, bare first, so slow drift on the machine hits both sides alike.
      const bareOutcome = await measure({ ...job, port: bare.port });
      const agentOutcome = await measure({ ...job, port: agent.port });
      const ratio = agentOutcome.queriesPerSecond / bareOutcome.queriesPerSecond;
      const pass = ratio >= TARGET_RATIO && agentOutcome.latencyP99Ms < TARGET_P99_MS && agentOutcome.errors === 0;
      rows.push({
        name: `DNS web.service.consul ${type} (20 instances, UDP, ${options.concurrency} in flight)`,
        agent: fmt(agentOutcome.queriesPerSecond),
        bare: fmt(bareOutcome.queriesPerSecond),
        ratio: `${(ratio * 100).toFixed(0)} %`,
        target: `≥ ${TARGET_RATIO * 100} %, p99 < ${TARGET_P99_MS} ms`,
        pass,
        detail:
          `agent p50 ${agentOutcome.latencyP50Ms.toFixed(2)} ms, p99 ${agentOutcome.latencyP99Ms.toFixed(2)} ms, ` +
          `timeouts ${agentOutcome.timeouts}, non-NOERROR ${agentOutcome.errors}; ` +
          `bare p50 ${bareOutcome.latencyP50Ms.toFixed(2)} ms, p99 ${bareOutcome.latencyP99Ms.toFixed(2)} ms`,
      });
    }
  } finally {
    await agent.proc.stop();
    await bare.proc.stop();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runDnsBench();
  for (const r of rows) console.log(`${r.name}\n  agent ${r.agent}  bare ${r.bare}  ratio ${r.ratio}  ${r.pass ? "PASS" : "MISS"}\n  ${r.detail}`);
}
