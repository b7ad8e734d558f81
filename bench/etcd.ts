import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { benchTempDir, removeBenchTempDir, spawnNode, type SpawnedProcess } from "./child-process.ts";
import { count, ms, reqPerSec } from "./format.ts";
import { freePort } from "./free-port.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import { terminalTable, type ResultRow } from "./report.ts";

// Issue 8, item 6: durable KV PUT of consulate servers against etcd (Debian's etcd-server)
// through its JSON gateway, in the same run, on loopback, with data dirs on the same disk.
// Each system is started, warmed up, loaded at each concurrency, and stopped before the next
// one starts, so no two systems ever compete for the machine's two cores.

const CONCURRENCIES = [1, 16, 64] as const;
const WARMUP_SECONDS = 1;
const MEASURE_SECONDS = 3;
const READY_DEADLINE_MS = 30_000;
const SINGLE_TARGET_RATIO = 2;
const CLUSTER_TARGET_RATIO = 1.5;
const CLUSTER_BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;
const CONSULATE_BIN = fileURLToPath(new URL("../bin/consulate.js", import.meta.url));
const KEY = "bench/put";
const VALUE = "value";

interface Deployment {
  /** The URL the load generator PUTs to (the leader, in both systems, so neither pays a forward). */
  putUrl: string;
  method: LoadJob["method"];
  body: string;
  stop(): Promise<void>;
}

type Measured = Map<number, LoadOutcome>;

function log(message: string): void {
  process.stderr.write(`[bench:etcd] ${message}\n`);
}

function findEtcd(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v etcd"], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** etcd on PATH, installing Debian's etcd-server when running as root; why not, otherwise. */
function ensureEtcd(): { path: string } | { missing: string } {
  const present = findEtcd();
  if (present) return { path: present };
  if (process.getuid?.() !== 0) return { missing: "etcd is not installed and this is not root (apt-get install -y etcd-server)" };
  log("etcd missing: apt-get install -y etcd-server");
  const install = spawnSync("sh", ["-c", "apt-get install -y etcd-server || (apt-get update && apt-get install -y etcd-server)"], { encoding: "utf8" });
  const after = findEtcd();
  if (after) return { path: after };
  return { missing: `etcd could not be installed (apt-get exit ${install.status}): ${install.stderr.split("\n").slice(-3).join(" ")}` };
}

let binaryLogs = 0;

/** Like spawnNode, for a non-Node binary: output to a log file, SIGTERM then SIGKILL on stop. */
function spawnBinary(path: string, args: string[], label: string): SpawnedProcess {
  const logPath = join(benchTempDir(), `etcd-${++binaryLogs}-${label}.log`);
  const logFd = openSync(logPath, "w");
  const child = spawn(path, args, { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not spawn ${label}`);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    pid: child.pid,
    exited,
    logTail: () => {
      try {
        return readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n");
      } catch {
        return "";
      }
    },
    async stop(graceMs = 3000) {
      if (gone) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, procs: SpawnedProcess[]): Promise<T> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError = "";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${lastError})\n${procs.map((p) => p.logTail()).join("\n---\n")}`);
    await sleep(100);
  }
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const ETCD_PUT_BODY = JSON.stringify({ key: b64(KEY), value: b64(VALUE) });

interface EtcdStatus {
  header?: { member_id?: string };
  leader?: string;
}

async function startEtcd(etcd: string, members: readonly string[], dataRoot: string): Promise<Deployment> {
  const specs: { name: string; host: string; clientPort: number; peerPort: number; dataDir: string }[] = [];
  for (const [i, host] of members.entries()) {
    specs.push({ name: `etcd-${i + 1}`, host, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(dataRoot, `etcd-${i + 1}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://${s.host}:${s.peerPort}`).join(",");
  const procs = specs.map((s) =>
    spawnBinary(
      etcd,
      [
        "--name", s.name,
        "--data-dir", s.dataDir,
        "--listen-client-urls", `http://${s.host}:${s.clientPort}`,
        "--advertise-client-urls", `http://${s.host}:${s.clientPort}`,
        "--listen-peer-urls", `http://${s.host}:${s.peerPort}`,
        "--initial-advertise-peer-urls", `http://${s.host}:${s.peerPort}`,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", "consulate-bench",
        "--logger", "zap",
        "--log-level", "warn",
      ],
      s.name,
    ),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    const statuses = async (): Promise<EtcdStatus[]> =>
      Promise.all(specs.map(async (s) => JSON.parse((await httpCall(`http://${s.host}:${s.clientPort}/v3/maintenance/status`, "POST", "{}", 2000)).body) as EtcdStatus));
    const leaderUrl = await eventually(
      "an etcd leader",
      async () => {
        const all = await statuses();
        const at = all.findIndex((st) => st.leader !== undefined && st.leader !== "0" && st.leader === st.header?.member_id);
        return at >= 0 && all.every((st) => st.leader === all[at].leader) ? `http://${specs[at].host}:${specs[at].clientPort}` : undefined;
      },
      procs,
    );
    const putUrl = `${leaderUrl}/v3/kv/put`;
    await eventually("a first etcd PUT", async () => ((await httpCall(putUrl, "POST", ETCD_PUT_BODY, 2000)).status === 200 ? true : undefined), procs);
    return { putUrl, method: "POST", body: ETCD_PUT_BODY, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startConsulate(binds: readonly string[], dataRoot: string): Promise<Deployment> {
  const specs: { name: string; bind: string; httpPort: number; serverPort: number; serfPort: number; dataDir: string }[] = [];
  for (const [i, bind] of binds.entries()) {
    specs.push({ name: `server-${i + 1}`, bind, httpPort: await freePort(), serverPort: await freePort(), serfPort: await freePort(), dataDir: join(dataRoot, `consulate-${i + 1}`) });
  }
  const clustered = specs.length > 1;
  const procs = specs.map((s) =>
    spawnNode(
      CONSULATE_BIN,
      [
        "agent",
        "-server",
        ...(clustered ? [`-bootstrap-expect=${specs.length}`, ...specs.map((o) => `-retry-join=${o.bind}:${o.serfPort}`)] : ["-bootstrap"]),
        `-data-dir=${s.dataDir}`,
        `-bind=${s.bind}`,
        "-client=127.0.0.1",
        `-node=${s.name}`,
        `-http-port=${s.httpPort}`,
        "-dns-port=-1",
        "-grpc-port=-1",
        `-server-port=${s.serverPort}`,
        `-serf-lan-port=${s.serfPort}`,
        "-log-level=warn",
      ],
      { label: `consulate-${s.name}` },
    ),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    const leaderBase = await eventually(
      "a consulate leader",
      async () => {
        const leaders = await Promise.all(specs.map(async (s) => JSON.parse((await httpCall(`http://127.0.0.1:${s.httpPort}/v1/status/leader`, "GET", undefined, 2000)).body) as string));
        const agreed = leaders[0] !== "" && leaders.every((l) => l === leaders[0]);
        const leader = specs.find((s) => `${s.bind}:${s.serverPort}` === leaders[0]);
        return agreed && leader ? `http://127.0.0.1:${leader.httpPort}` : undefined;
      },
      procs,
    );
    const putUrl = `${leaderBase}/v1/kv/${KEY}`;
    await eventually("a first consulate PUT", async () => ((await httpCall(putUrl, "PUT", VALUE, 2000)).status === 200 ? true : undefined), procs);
    return { putUrl, method: "PUT", body: VALUE, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function measure(load: LoadGenerator, deployment: Deployment, label: string): Promise<Measured> {
  const job = (connections: number, durationSeconds: number): LoadJob => ({ url: deployment.putUrl, method: deployment.method, body: deployment.body, connections, durationSeconds });
  await load.run(job(16, WARMUP_SECONDS));
  const results: Measured = new Map();
  for (const c of CONCURRENCIES) {
    const outcome = await load.run(job(c, MEASURE_SECONDS));
    log(`${label} c=${c}: ${reqPerSec(outcome.requestsPerSecond)}, p50 ${outcome.latencyP50Ms} ms, p99 ${outcome.latencyP99Ms} ms, non-2xx ${outcome.non2xx}, errors ${outcome.errors}`);
    results.set(c, outcome);
  }
  return results;
}

/** Starts a deployment in a fresh data dir, loads it, and always stops it and removes the dir. */
async function measureDeployment(load: LoadGenerator, label: string, start: (dataRoot: string) => Promise<Deployment>): Promise<Measured> {
  const dataRoot = mkdtempSync(join(tmpdir(), "consulate-bench-etcd-"));
  try {
    log(`${label}: starting`);
    const deployment = await start(dataRoot);
    try {
      return await measure(load, deployment, label);
    } finally {
      await deployment.stop();
    }
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

const faultsOf = (o: LoadOutcome): number => o.non2xx + o.errors + o.timeouts;

function comparisonRows(title: string, ours: Measured, etcd: Measured, targetFor: (c: number) => { ratio: number; p99NoWorse: boolean } | undefined): ResultRow[] {
  return CONCURRENCIES.map((c) => {
    const a = ours.get(c);
    const e = etcd.get(c);
    if (!a || !e) throw new Error(`missing measurement at c=${c}`);
    const ratio = e.requestsPerSecond > 0 ? a.requestsPerSecond / e.requestsPerSecond : 0;
    const target = targetFor(c);
    const p99Ok = !target?.p99NoWorse || a.latencyP99Ms <= e.latencyP99Ms;
    const pass = target === undefined || (ratio >= target.ratio && p99Ok && faultsOf(a) === 0);
    return {
      name: `${title}, c=${c}: PUT/s vs etcd`,
      agent: reqPerSec(a.requestsPerSecond),
      bare: `etcd ${reqPerSec(e.requestsPerSecond)}`,
      ratio: `${ratio.toFixed(2)}×`,
      target: target ? `≥ ${target.ratio}× etcd${target.p99NoWorse ? ", p99 ≤ etcd" : ""}` : "—",
      pass,
      detail:
        `consulate p50 ${ms(a.latencyP50Ms)}, p99 ${ms(a.latencyP99Ms)}, ${count(a.completed)} PUTs, ${count(faultsOf(a))} non-2xx/errors/timeouts; ` +
        `etcd p50 ${ms(e.latencyP50Ms)}, p99 ${ms(e.latencyP99Ms)}, ${count(e.completed)} PUTs, ${count(faultsOf(e))} non-2xx/errors/timeouts`,
    };
  });
}

const SINGLE_TITLE = "E1. durable KV PUT, 1 server vs 1 etcd node";
const CLUSTER_TITLE = "E3. durable KV PUT, 3 servers vs 3 etcd members";

function missRows(detail: string): ResultRow[] {
  return [SINGLE_TITLE, CLUSTER_TITLE].map((title) => ({ name: title, agent: "—", bare: "—", ratio: "—", target: "measured against etcd", pass: false, detail }));
}

/** Issue 8 item 6: consulate servers against etcd, same run, same disk, loopback. */
export async function runEtcdBench(): Promise<ResultRow[]> {
  const etcd = ensureEtcd();
  if ("missing" in etcd) return missRows(etcd.missing);
  const load = new LoadGenerator();
  const rows: ResultRow[] = [];
  try {
    const etcdSingle = await measureDeployment(load, "etcd 1 node", (root) => startEtcd(etcd.path, ["127.0.0.1"], root));
    const oursSingle = await measureDeployment(load, "consulate 1 server", (root) => startConsulate(["127.0.0.1"], root));
    rows.push(...comparisonRows(SINGLE_TITLE, oursSingle, etcdSingle, (c) => (c === 64 ? { ratio: SINGLE_TARGET_RATIO, p99NoWorse: false } : undefined)));
    try {
      const etcdCluster = await measureDeployment(load, "etcd 3 members", (root) => startEtcd(etcd.path, CLUSTER_BINDS, root));
      const oursCluster = await measureDeployment(load, "consulate 3 servers", (root) => startConsulate(CLUSTER_BINDS, root));
      rows.push(...comparisonRows(CLUSTER_TITLE, oursCluster, etcdCluster, (c) => (c >= 16 ? { ratio: CLUSTER_TARGET_RATIO, p99NoWorse: true } : undefined)));
    } catch (err) {
      rows.push({ ...missRows("")[1], detail: `3-node comparison failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}` });
    }
  } finally {
    await load.stop();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runEtcdBench();
  process.stdout.write(`\n${terminalTable(rows)}\n\n${rows.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  removeBenchTempDir();
}
