import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateCa, generateCert } from "../src/cli/tls-certs.ts";
import { benchTempDir, removeBenchTempDir } from "./child-process.ts";
import { startConsulate, type Deployment } from "./etcd-deployments.ts";
import { count, median, ms, percent, reqPerSec } from "./format.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import { readCpuTicks } from "./proc-stats.ts";
import { terminalTable, type ResultRow } from "./report.ts";
import { withServer, type LaunchOptions } from "./servers.ts";

// Issue 14: what TLS costs, each case against its own plaintext or bare yardstick in the same
// run, rounds alternating between the two so drift on the machine hits both alike, each side
// credited with its best round (as the throughput cases do).
//   T1. HTTPS KV GET on the agent (-dev, tls.defaults with a `tls cert create -server`
//       certificate) against a bare node:https server with the same certificate and key.
//   T2. Durable KV PUT at c=64 on three servers whose RPC and Raft run over TLS (internal_rpc
//       verify_incoming, verify_outgoing, verify_server_hostname) against the same three
//       servers in plaintext. Both clusters are up at once; the load goes to each leader.

export const HTTPS_GET_TARGET_RATIO = 0.6;
export const CLUSTER_PUT_TARGET_RATIO = 0.8;
const GET_CONNECTIONS = 50;
const GET_ROUNDS = 5;
const GET_ROUND_SECONDS = 1;
const PUT_CONNECTIONS = 64;
const PUT_ROUNDS = 5;
const PUT_ROUND_SECONDS = 2;
const WARMUP_SECONDS = 1;
const CLUSTER_BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;

export const HTTPS_GET_TITLE = "T1. HTTPS KV GET one small key (keep-alive, no client certificate)";
export const CLUSTER_PUT_TITLE = `T2. durable KV PUT, 3 servers, c=${PUT_CONNECTIONS}: RPC/Raft over TLS vs plaintext`;

function log(message: string): void {
  process.stderr.write(`[bench:tls] ${message}\n`);
}

interface CertFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The agent CA and one server certificate, made by the same code as `consulate tls`. */
async function makeCertificates(dir: string): Promise<CertFiles> {
  const now = new Date();
  const ca = await generateCa({ days: 1, now });
  const server = await generateCert({
    kind: "server",
    caPem: ca.certPem,
    caKeyPem: ca.keyPem,
    datacenter: "dc1",
    domain: "consul",
    days: 1,
    now,
    additionalDnsNames: [],
    additionalIps: [],
  });
  const files = { caFile: join(dir, "consul-agent-ca.pem"), certFile: join(dir, "dc1-server-consul-0.pem"), keyFile: join(dir, "dc1-server-consul-0-key.pem") };
  writeFileSync(files.caFile, ca.certPem);
  writeFileSync(files.certFile, server.certPem);
  writeFileSync(files.keyFile, server.keyPem, { mode: 0o600 });
  return files;
}

const faultsOf = (o: LoadOutcome): number => o.non2xx + o.errors + o.timeouts;
const best = (outcomes: LoadOutcome[]): number => Math.max(...outcomes.map((o) => o.requestsPerSecond));

interface Rounds {
  ours: LoadOutcome[];
  yardstick: LoadOutcome[];
  /** Server CPU (user + system) per answered request in each round, µs; when the pids were given. */
  oursCpuUs: number[];
  yardstickCpuUs: number[];
}

/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const TICKS_PER_SECOND = 100;

async function measured(load: LoadGenerator, job: LoadJob, pid: number | undefined, cpuUs: number[]): Promise<LoadOutcome> {
  const before = pid === undefined ? 0 : readCpuTicks(pid);
  const outcome = await load.run(job);
  if (pid !== undefined && outcome.completed > 0) cpuUs.push(((readCpuTicks(pid) - before) * (1e6 / TICKS_PER_SECOND)) / outcome.completed);
  return outcome;
}

/**
 * Warm-up, then rounds alternating between the yardstick and ours. With the servers' pids, each
 * round also records the server's CPU time per answered request: on a shared machine a round's
 * rate mostly says how much CPU the server was given, its CPU per request what it did with it.
 */
async function alternate(load: LoadGenerator, ours: LoadJob, yardstick: LoadJob, rounds: number, pids: { ours?: number; yardstick?: number } = {}): Promise<Rounds> {
  await load.run({ ...yardstick, durationSeconds: WARMUP_SECONDS });
  await load.run({ ...ours, durationSeconds: WARMUP_SECONDS });
  const result: Rounds = { ours: [], yardstick: [], oursCpuUs: [], yardstickCpuUs: [] };
  for (let i = 0; i < rounds; i++) {
    result.yardstick.push(await measured(load, yardstick, pids.yardstick, result.yardstickCpuUs));
    result.ours.push(await measured(load, ours, pids.ours, result.oursCpuUs));
    log(`round ${i + 1}/${rounds}: ${reqPerSec(result.ours[i].requestsPerSecond)} vs ${reqPerSec(result.yardstick[i].requestsPerSecond)}`);
  }
  return result;
}

function cpuDetail(rounds: Rounds, yardstickLabel: string): string {
  if (rounds.oursCpuUs.length === 0 || rounds.yardstickCpuUs.length === 0) return "";
  const us = (xs: number[]): string => `${Math.round(median(xs))} µs (least ${Math.round(Math.min(...xs))})`;
  const ratio = Math.min(...rounds.yardstickCpuUs) / Math.min(...rounds.oursCpuUs);
  return `; server CPU per request, median of rounds: ours ${us(rounds.oursCpuUs)}, ${yardstickLabel} ${us(rounds.yardstickCpuUs)} — ${yardstickLabel}'s least ÷ ours ${percent(ratio)}`;
}

function row(name: string, rounds: Rounds, yardstickLabel: string, target: number): ResultRow {
  const ours = best(rounds.ours);
  const yardstick = best(rounds.yardstick);
  const ratio = yardstick > 0 ? ours / yardstick : 0;
  const faults = rounds.ours.reduce((n, o) => n + faultsOf(o), 0);
  const p = (outcomes: LoadOutcome[], pick: (o: LoadOutcome) => number): string => outcomes.map((o) => ms(pick(o))).join("/");
  return {
    name,
    agent: reqPerSec(ours),
    bare: `${yardstickLabel} ${reqPerSec(yardstick)}`,
    ratio: percent(ratio),
    target: `≥ ${target * 100} %`,
    pass: faults === 0 && ratio >= target,
    detail:
      `best of ${rounds.ours.length} alternating rounds; per-round ratios ${rounds.ours.map((o, i) => (rounds.yardstick[i].requestsPerSecond > 0 ? percent(o.requestsPerSecond / rounds.yardstick[i].requestsPerSecond) : "— (yardstick starved)")).join(", ")}; ` +
      `p99 per round ours ${p(rounds.ours, (o) => o.latencyP99Ms)}, ${yardstickLabel} ${p(rounds.yardstick, (o) => o.latencyP99Ms)}; ` +
      `${count(rounds.ours.reduce((n, o) => n + o.completed, 0))} requests, ${count(faults)} non-2xx/errors/timeouts` +
      cpuDetail(rounds, yardstickLabel),
  };
}

async function httpsGetCase(load: LoadGenerator, certs: CertFiles, agentLaunch: LaunchOptions): Promise<ResultRow> {
  const https = { certFile: certs.certFile, keyFile: certs.keyFile };
  return withServer("agent", { ...agentLaunch, https }, (agent) =>
    withServer("bare", { https }, async (bare) => {
      const put = await httpCall(`${agent.base}/v1/kv/bench/key`, "PUT", "value");
      if (put.status !== 200) throw new Error(`seeding bench/key answered ${put.status}: ${put.body}`);
      if (agent.httpsBase === undefined || bare.httpsBase === undefined) throw new Error("a server started without HTTPS");
      const job = (base: string): LoadJob => ({ url: `${base}/v1/kv/bench/key`, method: "GET", connections: GET_CONNECTIONS, durationSeconds: GET_ROUND_SECONDS });
      log(HTTPS_GET_TITLE);
      const rounds = await alternate(load, job(agent.httpsBase), job(bare.httpsBase), GET_ROUNDS, { ours: agent.proc.pid, yardstick: bare.proc.pid });
      return row(HTTPS_GET_TITLE, rounds, "node:https", HTTPS_GET_TARGET_RATIO);
    }),
  );
}

async function clusterPutCase(load: LoadGenerator, certs: CertFiles, nodeFlags: string[]): Promise<ResultRow> {
  const config = join(benchTempDir(), "internal-rpc-tls.hcl");
  writeFileSync(
    config,
    `tls {\n  defaults {\n    ca_file = ${JSON.stringify(certs.caFile)}\n    cert_file = ${JSON.stringify(certs.certFile)}\n    key_file = ${JSON.stringify(certs.keyFile)}\n  }\n` +
      `  internal_rpc {\n    verify_incoming = true\n    verify_outgoing = true\n    verify_server_hostname = true\n  }\n}\n`,
  );
  const roots = [mkdtempSync(join(tmpdir(), "consulate-bench-tls-")), mkdtempSync(join(tmpdir(), "consulate-bench-plain-"))];
  const started: Deployment[] = [];
  try {
    log("3 servers over internal-RPC TLS: starting");
    const tls = await startConsulate(CLUSTER_BINDS, roots[0], [`-config-file=${config}`], nodeFlags);
    started.push(tls);
    log("3 servers in plaintext: starting");
    const plain = await startConsulate(CLUSTER_BINDS, roots[1], [], nodeFlags);
    started.push(plain);
    const job = (d: Deployment): LoadJob => ({ ...d.put, connections: PUT_CONNECTIONS, durationSeconds: PUT_ROUND_SECONDS });
    log(CLUSTER_PUT_TITLE);
    return row(CLUSTER_PUT_TITLE, await alternate(load, job(tls), job(plain), PUT_ROUNDS), "plaintext", CLUSTER_PUT_TARGET_RATIO);
  } finally {
    await Promise.all(started.map((d) => d.stop()));
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  }
}

function missRow(name: string, err: unknown): ResultRow {
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return { name, agent: "—", bare: "—", ratio: "—", target: "—", pass: false, detail: `failed: ${message}` };
}

/** Issue 14's two TLS cases (`npm run bench -- --suites tls`); `agentLaunch` carries --cpu-prof-dir's flags. */
export async function runTlsBench(agentLaunch: LaunchOptions = {}): Promise<ResultRow[]> {
  const certs = await makeCertificates(benchTempDir());
  const load = new LoadGenerator();
  try {
    const rows: ResultRow[] = [];
    rows.push(await httpsGetCase(load, certs, agentLaunch).catch((err: unknown) => missRow(HTTPS_GET_TITLE, err)));
    rows.push(await clusterPutCase(load, certs, agentLaunch.nodeFlags ?? []).catch((err: unknown) => missRow(CLUSTER_PUT_TITLE, err)));
    return rows;
  } finally {
    await load.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runTlsBench();
  process.stdout.write(`\n${terminalTable(rows)}\n\n${rows.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  removeBenchTempDir();
}
