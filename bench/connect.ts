import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { benchTempDir, removeBenchTempDir } from "./child-process.ts";
import { startConsulate, type Deployment } from "./etcd-deployments.ts";
import { count, ms, percent, reqPerSec } from "./format.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import { readCpuTicks } from "./proc-stats.ts";
import { terminalTable, type ResultRow } from "./report.ts";

// Issue 15's Connect control-plane figures, on three real servers (durable Raft, loopback):
//   C1. Leaf issuance: GET /v1/agent/connect/ca/leaf/<svc-i> for distinct services through a
//       follower (its leaf cache makes the key and CSR, the leader signs), 32 at a time.
//       Every request is a new certificate. The CA's CSRMaxPerSecond is set to 0 first:
//       Consul's default of 50/s would cap the figure at 50 by design.
//   C2. POST /v1/agent/connect/authorize against GET /v1/kv/<key> on the same server at the
//       same concurrency, alternating rounds; plus a c=1 round of each for the p99 an
//       unloaded caller sees (at c=32 the p99 is mostly queueing: ≈ 32 / rate).

export const LEAF_TARGET_PER_SEC = 500;
export const AUTHORIZE_TARGET_RATIO = 0.5;
export const AUTHORIZE_P99_TARGET_MS = 2;
const CONCURRENCY = 32;
const LEAF_MAX = 3000;
const LEAF_SECONDS = 8;
const ROUNDS = 3;
const ROUND_SECONDS = 2;
const LATENCY_SECONDS = 2;
const BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;
/** USER_HZ of /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100;

export const LEAF_TITLE = `C1. leaf issuance, 3 servers, new certificate per request (distinct services), c=${CONCURRENCY}`;
export const AUTHORIZE_TITLE = `C2. agent/connect/authorize vs KV GET on the same server, c=${CONCURRENCY}`;

function log(message: string): void {
  process.stderr.write(`[bench:connect] ${message}\n`);
}

async function call(url: string, method: string, body?: string): Promise<string> {
  const res = await httpCall(url, method, body);
  if (res.status !== 200) throw new Error(`${method} ${url} answered ${res.status}: ${res.body}`);
  return res.body;
}

async function waitForCa(base: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await httpCall(`${base}/v1/connect/ca/roots`, "GET").catch(() => undefined);
    if (res?.status === 200) {
      const body = JSON.parse(res.body) as { ActiveRootID?: string; TrustDomain?: string };
      if (body.ActiveRootID && body.TrustDomain) return body.TrustDomain;
    }
    if (Date.now() > deadline) throw new Error(`the CA never initialised: ${res?.status} ${res?.body}`);
    await sleep(100);
  }
}

interface LeafOutcome {
  issued: number;
  seconds: number;
  failures: number;
  firstFailure: string;
  p50Ms: number;
  p99Ms: number;
  distinctSerials: number;
}

/** `CONCURRENCY` callers, each taking the next service name, until LEAF_MAX or LEAF_SECONDS. */
async function issueLeaves(base: string, prefix: string): Promise<LeafOutcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  const serials = new Set<string>();
  let next = 0;
  let failures = 0;
  let firstFailure = "";
  const began = performance.now();
  const stopAt = began + LEAF_SECONDS * 1000;
  const one = (service: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(`${base}/v1/agent/connect/ca/leaf/${service}`, { agent, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.once("error", reject);
      });
      req.once("timeout", () => req.destroy(new Error("timed out")));
      req.once("error", reject);
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < LEAF_MAX && performance.now() < stopAt) {
      const service = `${prefix}-${next++}`;
      const t0 = performance.now();
      try {
        const res = await one(service);
        latencies.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
        serials.add((JSON.parse(res.body) as { SerialNumber: string }).SerialNumber);
      } catch (err) {
        failures++;
        firstFailure ||= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { issued: latencies.length - failures, seconds, failures, firstFailure, p50Ms: at(0.5), p99Ms: at(0.99), distinctSerials: serials.size };
}

async function leafCase(cluster: Deployment, agentBase: string): Promise<ResultRow> {
  // A warm-up batch (JIT, connections, the agent's roots watch), then the measured one.
  await issueLeaves(agentBase, "warm");
  // The servers' own CPU time per certificate: what a busy shared machine cannot bend, unlike the
  // rate. Per process too: the leader signs, the follower the requests reach is the agent (key,
  // CSR, forwarding), the third only follows Raft.
  const ticksBefore = cluster.pids.map(readCpuTicks);
  const o = await issueLeaves(agentBase, "svc");
  const perLeafMs = (ticks: number): number => ((ticks / TICKS_PER_SECOND) * 1000) / Math.max(1, o.issued);
  const spent = cluster.pids.map((pid, i) => perLeafMs(readCpuTicks(pid) - ticksBefore[i]));
  const cpuMsPerLeaf = spent.reduce((a, b) => a + b, 0);
  const agentAt = cluster.bases.indexOf(agentBase);
  const otherAt = [0, 1, 2].find((i) => i !== cluster.leaderAt && i !== agentAt) ?? 0;
  const split = `leader ${spent[cluster.leaderAt].toFixed(2)}, agent ${spent[agentAt].toFixed(2)}, other follower ${spent[otherAt].toFixed(2)}`;
  const rate = o.issued / o.seconds;
  log(`${count(o.issued)} leaves in ${o.seconds.toFixed(1)} s: ${rate.toFixed(0)}/s, ${cpuMsPerLeaf.toFixed(2)} ms of server CPU each (${split})`);
  return {
    name: LEAF_TITLE,
    agent: `${count(Math.round(rate))} certs/s`,
    bare: "—",
    ratio: "—",
    target: `≥ ${LEAF_TARGET_PER_SEC} certs/s`,
    pass: o.failures === 0 && rate >= LEAF_TARGET_PER_SEC && o.distinctSerials === o.issued,
    detail:
      `${count(o.issued)} certificates in ${o.seconds.toFixed(1)} s through follower ${agentBase} (leader ${cluster.bases[cluster.leaderAt]}); ` +
      `${cpuMsPerLeaf.toFixed(2)} ms of CPU per certificate over the three server processes (${split} ms); ` +
      `latency p50 ${ms(o.p50Ms)}, p99 ${ms(o.p99Ms)}; ${count(o.distinctSerials)} distinct serials; ${count(o.failures)} failures${o.firstFailure ? ` (${o.firstFailure})` : ""}`,
  };
}

const faultsOf = (o: LoadOutcome): number => o.non2xx + o.errors + o.timeouts;

async function authorizeCase(load: LoadGenerator, base: string, trustDomain: string): Promise<ResultRow> {
  // A destination with a handful of intentions; the caller matches the third.
  await call(
    `${base}/v1/config`,
    "PUT",
    JSON.stringify({
      Kind: "service-intentions",
      Name: "db",
      Sources: [
        { Name: "admin", Action: "allow" },
        { Name: "batch", Action: "deny" },
        { Name: "web", Action: "allow" },
        { Name: "*", Action: "deny" },
      ],
    }),
  );
  await call(`${base}/v1/kv/bench/key`, "PUT", "value");
  const authorizeBody = JSON.stringify({ Target: "db", ClientCertURI: `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web` });
  const check = JSON.parse(await call(`${base}/v1/agent/connect/authorize`, "POST", authorizeBody)) as { Authorized?: boolean };
  if (check.Authorized !== true) throw new Error(`authorize answered ${JSON.stringify(check)}`);
  const authorize = (connections: number, durationSeconds: number): LoadJob => ({ url: `${base}/v1/agent/connect/authorize`, method: "POST", body: authorizeBody, connections, durationSeconds });
  const kvGet = (connections: number, durationSeconds: number): LoadJob => ({ url: `${base}/v1/kv/bench/key`, method: "GET", connections, durationSeconds });
  await load.run(kvGet(CONCURRENCY, 1));
  await load.run(authorize(CONCURRENCY, 1));
  const ours: LoadOutcome[] = [];
  const kv: LoadOutcome[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    kv.push(await load.run(kvGet(CONCURRENCY, ROUND_SECONDS)));
    ours.push(await load.run(authorize(CONCURRENCY, ROUND_SECONDS)));
    log(`round ${i + 1}/${ROUNDS}: authorize ${reqPerSec(ours[i].requestsPerSecond)} vs KV GET ${reqPerSec(kv[i].requestsPerSecond)}`);
  }
  const kvAlone = await load.run(kvGet(1, LATENCY_SECONDS));
  const authAlone = await load.run(authorize(1, LATENCY_SECONDS));
  const best = (xs: LoadOutcome[]): number => Math.max(...xs.map((o) => o.requestsPerSecond));
  const ratio = best(ours) / best(kv);
  const faults = [...ours, authAlone].reduce((n, o) => n + faultsOf(o), 0);
  const p = (xs: LoadOutcome[]): string => xs.map((o) => ms(o.latencyP99Ms)).join("/");
  return {
    name: AUTHORIZE_TITLE,
    agent: reqPerSec(best(ours)),
    bare: `KV GET ${reqPerSec(best(kv))}`,
    ratio: percent(ratio),
    target: `≥ ${AUTHORIZE_TARGET_RATIO * 100} %, p99 ≤ ${AUTHORIZE_P99_TARGET_MS} ms at c=1`,
    pass: faults === 0 && ratio >= AUTHORIZE_TARGET_RATIO && authAlone.latencyP99Ms <= AUTHORIZE_P99_TARGET_MS,
    detail:
      `best of ${ROUNDS} alternating rounds; per-round ratios ${ours.map((o, i) => percent(o.requestsPerSecond / kv[i].requestsPerSecond)).join(", ")}; ` +
      `p99 at c=${CONCURRENCY} authorize ${p(ours)}, KV GET ${p(kv)}; at c=1 authorize ${reqPerSec(authAlone.requestsPerSecond)} p50 ${ms(authAlone.latencyP50Ms)} p99 ${ms(authAlone.latencyP99Ms)}, ` +
      `KV GET ${reqPerSec(kvAlone.requestsPerSecond)} p99 ${ms(kvAlone.latencyP99Ms)} (autocannon's latencies are whole ms); ${count(faults)} non-2xx/errors/timeouts`,
  };
}

function missRow(name: string, err: unknown): ResultRow {
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return { name, agent: "—", bare: "—", ratio: "—", target: "—", pass: false, detail: `failed: ${message}` };
}

/** Issue 15's two Connect cases (`npm run bench -- --suites connect`); nodeFlags go to every server (e.g. --cpu-prof). */
export async function runConnectBench(nodeFlags: readonly string[] = []): Promise<ResultRow[]> {
  const config = join(benchTempDir(), "connect.hcl");
  writeFileSync(config, "connect {\n  enabled = true\n}\n");
  const root = mkdtempSync(join(tmpdir(), "consulate-bench-connect-"));
  const load = new LoadGenerator();
  let cluster: Deployment | undefined;
  try {
    log("3 servers with connect enabled: starting");
    cluster = await startConsulate(BINDS, root, [`-config-file=${config}`], nodeFlags);
    const leader = cluster.bases[cluster.leaderAt];
    const follower = cluster.bases[(cluster.leaderAt + 1) % cluster.bases.length];
    const trustDomain = await waitForCa(leader);
    // Consul's built-in provider limits signing to CSRMaxPerSecond (default 50); 0 lifts it.
    await call(`${leader}/v1/connect/ca/configuration`, "PUT", JSON.stringify({ Provider: "consul", Config: { CSRMaxPerSecond: 0 } }));
    await waitForCa(follower);
    const rows: ResultRow[] = [];
    log(LEAF_TITLE);
    rows.push(await leafCase(cluster, follower).catch((err: unknown) => missRow(LEAF_TITLE, err)));
    log(AUTHORIZE_TITLE);
    rows.push(await authorizeCase(load, leader, trustDomain).catch((err: unknown) => missRow(AUTHORIZE_TITLE, err)));
    return rows;
  } finally {
    await load.stop();
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf("--cpu-prof-dir");
  const flags = at >= 0 ? ["--cpu-prof", `--cpu-prof-dir=${process.argv[at + 1]}`] : [];
  const rows = await runConnectBench(flags);
  process.stdout.write(`\n${terminalTable(rows)}\n\n${rows.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  removeBenchTempDir();
}
