import { mkdtempSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode } from "./child-process.ts";
import { startConsulate } from "./etcd-deployments.ts";
import { count, mb } from "./format.ts";
import { httpCall } from "./http-call.ts";
import type { ResultRow } from "./report.ts";
import type { ScaleLoopDone, ScaleLoopJob, ScaleRegisterDone, ScaleRegisterJob } from "./scale-jobs.ts";

// Issue 17's cluster case: 3 durable servers holding a large catalog, heavy readers looping at
// the leader, one writer at c=1. Reported: whether the leader held (no election), and the
// writer's rate and p99 with the readers against the same writer alone just before.

export interface ScaleClusterOptions {
  nodes: number;
  servicesPerNode: number;
  readers: number;
  phaseSeconds: number;
}

export const DEFAULT_SCALE_CLUSTER: ScaleClusterOptions = { nodes: 3_000, servicesPerNode: 17, readers: 8, phaseSeconds: 20 };

const WORKER = fileURLToPath(new URL("./scale-client-worker.ts", import.meta.url));
const CLUSTER_BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;
const LEADER_POLL_MS = 250;

const isMessage =
  <T>(kind: string) =>
  (m: unknown): m is T =>
    typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === kind;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface WriterOutcome {
  writes: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

/** KV PUTs at the leader, one at a time, for `seconds`. */
async function writeAtC1(leaderBase: string, seconds: number): Promise<WriterOutcome> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const t = performance.now();
    const status = await new Promise<number>((resolve) => {
      const req = request(`${leaderBase}/v1/kv/bench/scale-writer/${i % 100}`, { method: "PUT", agent }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      });
      req.once("error", () => resolve(0));
      req.end(`value-${i}`);
    });
    if (status === 200) latencies.push(performance.now() - t);
    else failures++;
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { writes: latencies.length, perSecond: latencies.length / ((performance.now() - started) / 1000), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), failures };
}

/** Polls every member's view of the leader; counts the polls where they disagreed, had none, or it changed. */
function watchLeader(bases: string[], expected: string): { stop(): Promise<{ polls: number; lost: number; firstLoss: string }> } {
  let running = true;
  let polls = 0;
  let lost = 0;
  let firstLoss = "";
  const loop = (async () => {
    while (running) {
      const seen = await Promise.all(
        bases.map((b) =>
          httpCall(`${b}/v1/status/leader?stale`, "GET", undefined, 5000).then(
            (r) => (r.status === 200 ? (JSON.parse(r.body) as string) : `HTTP ${r.status}`),
            (err: unknown) => `error ${err instanceof Error ? err.message : String(err)}`,
          ),
        ),
      );
      polls++;
      const bad = seen.find((l) => l !== expected);
      if (bad !== undefined) {
        lost++;
        firstLoss ||= `a member saw leader ${JSON.stringify(bad)} instead of ${expected}`;
      }
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, lost, firstLoss };
    },
  };
}

export async function runScaleClusterBench(options: Partial<ScaleClusterOptions> = {}, log: (m: string) => void = () => {}): Promise<ResultRow[]> {
  const o = { ...DEFAULT_SCALE_CLUSTER, ...options };
  const instances = o.nodes * o.servicesPerNode;
  const dataRoot = mkdtempSync(join(tmpdir(), "consulate-bench-scale-"));
  const worker = spawnNode(WORKER, [], { label: "scale-cluster-client", ipc: true, viaTsx: true });
  try {
    log("scale cluster: starting 3 durable servers");
    const cluster = await startConsulate(CLUSTER_BINDS, dataRoot);
    try {
      const leaderBase = new URL(cluster.put.url).origin;
      const bases = cluster.members.map((m) => new URL(m.write(0).url).origin);
      const leaderName = JSON.parse((await httpCall(`${leaderBase}/v1/status/leader`)).body) as string;

      log(`scale cluster: registering ${count(instances)} instances at the leader`);
      const registered = nextMessage(worker, isMessage<ScaleRegisterDone>("registered"), 30 * 60_000);
      const job: ScaleRegisterJob = { kind: "register", base: leaderBase, nodes: o.nodes, servicesPerNode: o.servicesPerNode, concurrency: 32 };
      worker.child.send(job);
      const reg = await registered;
      if (reg.failures > 0) throw new Error(`${reg.failures} registrations failed: ${reg.firstFailure}`);

      log(`scale cluster: writer alone for ${o.phaseSeconds} s`);
      const alone = await writeAtC1(leaderBase, o.phaseSeconds);

      log(`scale cluster: writer with ${o.readers} heavy readers for ${o.phaseSeconds} s`);
      const watch = watchLeader(bases, leaderName);
      const loopJob: ScaleLoopJob = {
        kind: "loop",
        base: leaderBase,
        paths: ["/v1/catalog/services", "/v1/health/service/svc-0", "/v1/catalog/service/svc-1"],
        clients: o.readers,
        seconds: o.phaseSeconds,
      };
      const looped = nextMessage(worker, isMessage<ScaleLoopDone>("looped"), o.phaseSeconds * 1000 + 120_000);
      worker.child.send(loopJob);
      const loaded = await writeAtC1(leaderBase, o.phaseSeconds);
      const reads = await looped;
      const leader = await watch.stop();

      const size = `${count(instances)} instances, 3 servers`;
      const ratio = loaded.perSecond / alone.perSecond;
      const readSorted = [...reads.latenciesMs].sort((a, b) => a - b);
      const detail =
        `${count(reg.instances)} registered at the leader in ${reg.seconds.toFixed(1)} s (${count(Math.round(reg.instances / reg.seconds))}/s); ` +
        `writer alone ${alone.perSecond.toFixed(0)} PUT/s, p50 ${alone.p50Ms.toFixed(1)} ms, p99 ${alone.p99Ms.toFixed(1)} ms; ` +
        `with readers ${loaded.perSecond.toFixed(0)} PUT/s, p50 ${loaded.p50Ms.toFixed(1)} ms, p99 ${loaded.p99Ms.toFixed(1)} ms, ${loaded.failures + alone.failures} failed; ` +
        `${o.readers} readers: ${count(reads.requests)} reads, p50 ${percentile(readSorted, 50).toFixed(0)} ms, p99 ${percentile(readSorted, 99).toFixed(0)} ms, ${mb(reads.bytes)}, ${reads.failures} failures; ` +
        `leader polled ${leader.polls} times on every server: ${leader.lost === 0 ? "always the same" : `${leader.lost} polls off (${leader.firstLoss})`}`;
      return [
        {
          name: `C1. no election while ${o.readers} clients loop on heavy reads (${size})`,
          agent: leader.lost === 0 ? "held" : `${leader.lost} bad polls`,
          bare: "—",
          ratio: "—",
          target: "no election",
          pass: leader.lost === 0,
          detail,
        },
        {
          name: `C2. writer at c=1 with the readers vs alone (${size})`,
          agent: `${loaded.perSecond.toFixed(0)} PUT/s, p99 ${loaded.p99Ms.toFixed(0)} ms`,
          bare: `alone ${alone.perSecond.toFixed(0)} PUT/s`,
          ratio: `${(ratio * 100).toFixed(0)} %`,
          target: "≥ 50 %, p99 ≤ 100 ms",
          pass: ratio >= 0.5 && loaded.p99Ms <= 100 && loaded.failures === 0,
          detail,
        },
      ];
    } finally {
      await cluster.stop();
    }
  } finally {
    await worker.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}
