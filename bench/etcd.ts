import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { removeBenchTempDir } from "./child-process.ts";
import { ensureEtcd, READ_MODES, startConsulate, startEtcd, type BenchRequest, type Deployment, type ReadMode } from "./etcd-deployments.ts";
import { measureFailover, WRITE_INTERVAL_MS, type FailoverOutcome } from "./failover.ts";
import { count, median, ms, reqPerSec, times } from "./format.ts";
import { LoadGenerator, type LoadOutcome } from "./load.ts";
import { terminalTable, type ResultRow } from "./report.ts";

// Issue 8: consulate servers against etcd (Debian's etcd-server) through its JSON gateway, in
// the same run, on loopback, with durable data dirs on the same disk: KV PUT, KV GET in both
// read modes (see ReadMode for the pairing), and leader failover. Each system is started,
// warmed up, loaded, and stopped before the next one starts, so no two systems ever compete
// for the machine's two cores.

const PUT_CONCURRENCIES = [1, 16, 64] as const;
const READ_CONCURRENCIES = [16, 64] as const;
const WARMUP_SECONDS = 1;
const MEASURE_SECONDS = 3;
const SINGLE_TARGET_RATIO = 2;
const CLUSTER_TARGET_RATIO = 1.5;
const FAILOVER_TRIALS = 3;
const FAILOVER_TARGET_MS = 3000;
const CLUSTER_BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;

type ByConcurrency = Map<number, LoadOutcome>;

interface Measured {
  put: ByConcurrency;
  reads: Record<ReadMode, ByConcurrency>;
}

type Target = { ratio: number; p99NoWorse: boolean } | undefined;

function log(message: string): void {
  process.stderr.write(`[bench:etcd] ${message}\n`);
}

async function loadAt(load: LoadGenerator, request: BenchRequest, concurrencies: readonly number[], label: string): Promise<ByConcurrency> {
  const results: ByConcurrency = new Map();
  for (const c of concurrencies) {
    const outcome = await load.run({ ...request, connections: c, durationSeconds: MEASURE_SECONDS });
    log(`${label} c=${c}: ${reqPerSec(outcome.requestsPerSecond)}, p50 ${outcome.latencyP50Ms} ms, p99 ${outcome.latencyP99Ms} ms, non-2xx ${outcome.non2xx}, errors ${outcome.errors}`);
    results.set(c, outcome);
  }
  return results;
}

async function measure(load: LoadGenerator, deployment: Deployment, label: string): Promise<Measured> {
  await load.run({ ...deployment.put, connections: 16, durationSeconds: WARMUP_SECONDS });
  const put = await loadAt(load, deployment.put, PUT_CONCURRENCIES, `${label} PUT`);
  await load.run({ ...deployment.reads.lease, connections: 16, durationSeconds: WARMUP_SECONDS });
  const lease = await loadAt(load, deployment.reads.lease, READ_CONCURRENCIES, `${label} GET (${READ_LABELS.lease.short})`);
  const quorum = await loadAt(load, deployment.reads.quorum, READ_CONCURRENCIES, `${label} GET (${READ_LABELS.quorum.short})`);
  return { put, reads: { lease, quorum } };
}

/** Runs `use` on a deployment in a fresh data dir, and always stops it and removes the dir. */
async function withDeployment<T>(label: string, start: (dataRoot: string) => Promise<Deployment>, use: (d: Deployment) => Promise<T>): Promise<T> {
  const dataRoot = mkdtempSync(join(tmpdir(), "consulate-bench-etcd-"));
  try {
    log(`${label}: starting`);
    const deployment = await start(dataRoot);
    try {
      return await use(deployment);
    } finally {
      await deployment.stop();
    }
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

const faultsOf = (o: LoadOutcome): number => o.non2xx + o.errors + o.timeouts;

function comparisonRows(title: string, op: "PUT" | "GET", concurrencies: readonly number[], ours: ByConcurrency, etcd: ByConcurrency, targetFor: (c: number) => Target): ResultRow[] {
  return concurrencies.map((c) => {
    const a = ours.get(c);
    const e = etcd.get(c);
    if (!a || !e) throw new Error(`missing measurement at c=${c}`);
    const ratio = e.requestsPerSecond > 0 ? a.requestsPerSecond / e.requestsPerSecond : 0;
    const target = targetFor(c);
    const p99Ok = !target?.p99NoWorse || a.latencyP99Ms <= e.latencyP99Ms;
    const pass = target === undefined || (ratio >= target.ratio && p99Ok && faultsOf(a) === 0);
    return {
      name: `${title}, c=${c}: ${op}/s vs etcd`,
      agent: reqPerSec(a.requestsPerSecond),
      bare: `etcd ${reqPerSec(e.requestsPerSecond)}`,
      ratio: `${ratio.toFixed(2)}×`,
      target: target ? `≥ ${target.ratio}× etcd${target.p99NoWorse ? ", p99 ≤ etcd" : ""}` : "—",
      pass,
      detail:
        `consulate p50 ${ms(a.latencyP50Ms)}, p99 ${ms(a.latencyP99Ms)}, ${count(a.completed)} ${op}s, ${count(faultsOf(a))} non-2xx/errors/timeouts; ` +
        `etcd p50 ${ms(e.latencyP50Ms)}, p99 ${ms(e.latencyP99Ms)}, ${count(e.completed)} ${op}s, ${count(faultsOf(e))} non-2xx/errors/timeouts`,
    };
  });
}

const READ_LABELS: Record<ReadMode, { short: string; title: string }> = {
  lease: { short: "default / serializable", title: "KV GET default vs etcd serializable" },
  quorum: { short: "?consistent / linearizable", title: "KV GET ?consistent vs etcd linearizable" },
};

const SINGLE = "1 server vs 1 etcd node";
const CLUSTER = "3 servers vs 3 etcd members";
const SINGLE_TITLE = `E1. durable KV PUT, ${SINGLE}`;
const CLUSTER_TITLE = `E3. durable KV PUT, ${CLUSTER}`;
const readTitle = (mode: ReadMode, size: "E1" | "E3"): string => `${size}. ${READ_LABELS[mode].title}, ${size === "E1" ? SINGLE : `${CLUSTER}, at the leader`}`;
const FAILOVER_TITLE = `E3. leader failover, ${CLUSTER}: kill -9 → first acknowledged write`;

const singleTarget = (c: number): Target => (c === 64 ? { ratio: SINGLE_TARGET_RATIO, p99NoWorse: false } : undefined);
const clusterTarget = (c: number): Target => (c >= 16 ? { ratio: CLUSTER_TARGET_RATIO, p99NoWorse: true } : undefined);

function sizeRows(size: "E1" | "E3", ours: Measured, etcd: Measured): ResultRow[] {
  const targetFor = size === "E1" ? singleTarget : clusterTarget;
  return [
    ...comparisonRows(size === "E1" ? SINGLE_TITLE : CLUSTER_TITLE, "PUT", PUT_CONCURRENCIES, ours.put, etcd.put, targetFor),
    // Issue 8 sets targets for PUTs and failover only; reads are measured beside etcd, not judged.
    ...READ_MODES.flatMap((mode) => comparisonRows(readTitle(mode, size), "GET", READ_CONCURRENCIES, ours.reads[mode], etcd.reads[mode], () => undefined)),
  ];
}

function missRow(name: string, detail: string): ResultRow {
  return { name, agent: "—", bare: "—", ratio: "—", target: "measured against etcd", pass: false, detail };
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message.split("\n")[0] : String(err));

function failoverRow(ours: FailoverOutcome[], etcd: FailoverOutcome[]): ResultRow {
  const oursMs = median(ours.map((o) => o.failoverMs));
  const etcdMs = median(etcd.map((o) => o.failoverMs));
  const trials = (outcomes: FailoverOutcome[]): string => outcomes.map((o) => ms(o.failoverMs)).join(", ");
  const failed = (outcomes: FailoverOutcome[]): number => outcomes.reduce((n, o) => n + o.failedWritesAfterKill, 0);
  return {
    name: FAILOVER_TITLE,
    agent: ms(oursMs),
    bare: `etcd ${ms(etcdMs)}`,
    ratio: times(oursMs, etcdMs),
    target: `≤ ${ms(FAILOVER_TARGET_MS)}`,
    pass: ours.every((o) => Number.isFinite(o.failoverMs)) && oursMs <= FAILOVER_TARGET_MS,
    detail:
      `median of ${ours.length}, fresh cluster per trial, default timing; a write every ${WRITE_INTERVAL_MS} ms round-robin over the live members, the first one sent after the kill and acknowledged counts; ` +
      `consulate ${trials(ours)} (${count(failed(ours))} writes refused or timed out meanwhile); etcd ${trials(etcd)} (${count(failed(etcd))} refused or timed out)`,
  };
}

async function failoverTrials(etcdPath: string): Promise<ResultRow> {
  const ours: FailoverOutcome[] = [];
  const etcd: FailoverOutcome[] = [];
  // Trials alternate between the systems so drift on the machine hits both alike.
  for (let trial = 1; trial <= FAILOVER_TRIALS; trial++) {
    const e = await withDeployment(`etcd 3 members, failover ${trial}/${FAILOVER_TRIALS}`, (root) => startEtcd(etcdPath, CLUSTER_BINDS, root), measureFailover);
    log(`etcd failover ${trial}: ${ms(e.failoverMs)}`);
    etcd.push(e);
    const a = await withDeployment(`consulate 3 servers, failover ${trial}/${FAILOVER_TRIALS}`, (root) => startConsulate(CLUSTER_BINDS, root), measureFailover);
    log(`consulate failover ${trial}: ${ms(a.failoverMs)}`);
    ours.push(a);
  }
  return failoverRow(ours, etcd);
}

/** Issue 8: consulate servers against etcd, same run, same disk, loopback. */
export async function runEtcdBench(): Promise<ResultRow[]> {
  const etcd = ensureEtcd();
  if ("missing" in etcd) return [SINGLE_TITLE, CLUSTER_TITLE, FAILOVER_TITLE].map((name) => missRow(name, etcd.missing));
  const load = new LoadGenerator();
  const rows: ResultRow[] = [];
  try {
    const measureWith = (d: Deployment, label: string): Promise<Measured> => measure(load, d, label);
    const etcdSingle = await withDeployment("etcd 1 node", (root) => startEtcd(etcd.path, ["127.0.0.1"], root), (d) => measureWith(d, "etcd 1 node"));
    const oursSingle = await withDeployment("consulate 1 server", (root) => startConsulate(["127.0.0.1"], root), (d) => measureWith(d, "consulate 1 server"));
    rows.push(...sizeRows("E1", oursSingle, etcdSingle));
    try {
      const etcdCluster = await withDeployment("etcd 3 members", (root) => startEtcd(etcd.path, CLUSTER_BINDS, root), (d) => measureWith(d, "etcd 3 members"));
      const oursCluster = await withDeployment("consulate 3 servers", (root) => startConsulate(CLUSTER_BINDS, root), (d) => measureWith(d, "consulate 3 servers"));
      rows.push(...sizeRows("E3", oursCluster, etcdCluster));
    } catch (err) {
      rows.push(missRow(CLUSTER_TITLE, `3-node comparison failed: ${firstLine(err)}`));
    }
  } finally {
    await load.stop();
  }
  try {
    rows.push(await failoverTrials(etcd.path));
  } catch (err) {
    rows.push(missRow(FAILOVER_TITLE, `failover comparison failed: ${firstLine(err)}`));
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runEtcdBench();
  process.stdout.write(`\n${terminalTable(rows)}\n\n${rows.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  removeBenchTempDir();
}
