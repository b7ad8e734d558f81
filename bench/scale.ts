import { Agent as HttpAgent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchTempDir, nextMessage, spawnNode, type SpawnedProcess } from "./child-process.ts";
import type { FanoutJob, FanoutParked, FanoutReport, FanoutReportRequest } from "./fanout.ts";
import { count, mb, median, ms, times } from "./format.ts";
import { consulIndex, httpCall } from "./http-call.ts";
import { megabytes, readCpuTicks, readRssBytes, waitUntilIdle } from "./proc-stats.ts";
import type { ResultRow } from "./report.ts";
import { instanceRegistration, type ScaleLoopDone, type ScaleLoopJob, type ScaleRegisterDone, type ScaleRegisterJob } from "./scale-jobs.ts";
import type { ScaleClusterOptions } from "./scale-cluster.ts";
import { launch } from "./servers.ts";

// Issue 17: one -dev agent holding a large catalog (10,000 nodes × 17 services, each instance
// with a passing check, registered through PUT /v1/catalog/register at c=32), then what a big
// catalog must not break: the catalog summary, the first answer of a 10,000-instance service,
// the event loop and small reads while heavy readers loop, memory, watcher wake-up and
// snapshots. Absolute targets from the issue; same-run comparisons (idle vs loaded small reads,
// cold vs warm answers) in the ratio column and the details.
//
//   npm run bench -- --suites scale [--scale-nodes 1000] [--scale-read-seconds 21]

export interface ScaleBenchOptions {
  nodes: number;
  servicesPerNode: number;
  registerConcurrency: number;
  /** Heavy-read phase length; ≥ 20 s so one whole metrics interval (10 s) falls inside it. */
  readSeconds: number;
  heavyClients: number;
  watchers: number;
}

export const DEFAULT_SCALE_BENCH: ScaleBenchOptions = {
  nodes: 10_000,
  servicesPerNode: 17,
  registerConcurrency: 32,
  readSeconds: 21,
  heavyClients: 2,
  watchers: 1_000,
};

const WORKER = fileURLToPath(new URL("./scale-client-worker.ts", import.meta.url));
const BLOCKING_WORKER = fileURLToPath(new URL("./blocking-client-worker.ts", import.meta.url));
const SMALL_SERVICE = "small";
const SMALL_INSTANCES = 5;
const SMALL_READ_EVERY_MS = 10;
const WRITE_EVERY_MS = 500;
const CATALOG_SERVICES_READS = 21;
const WATCH_GRACE_MS = 5_000;
/** /proc CPU times count USER_HZ ticks, 100 per second on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const isMessage =
  <T>(kind: string) =>
  (m: unknown): m is T =>
    typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === kind;

/** A timed GET over a keep-alive agent; resolves with ms to the end of the body. */
function timedGet(agent: HttpAgent, url: string): Promise<{ ms: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { agent }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.once("end", () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end();
  });
}

async function put(base: string, path: string, body: unknown): Promise<void> {
  const res = await httpCall(`${base}${path}`, "PUT", JSON.stringify(body));
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${res.body}`);
}

function smallRegistration(i: number, version: string): object {
  return {
    Node: `small-node-${i}`,
    Address: `10.255.0.${i}`,
    Service: { ID: SMALL_SERVICE, Service: SMALL_SERVICE, Port: 9000, Meta: { version } },
    Check: { CheckID: `service:${SMALL_SERVICE}`, Name: "small health", Status: "passing", ServiceID: SMALL_SERVICE },
  };
}

interface LoadedReads {
  heavy: ScaleLoopDone;
  smallIdle: number[];
  smallLoaded: number[];
  writes: number;
  loopDelay: { p50: number; p99: number; max: number };
}

/** Small reads (status/leader and a 5-instance health answer) every few ms for `seconds`. */
async function smallReads(base: string, seconds: number): Promise<number[]> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const path = i % 2 === 0 ? "/v1/status/leader" : `/v1/health/service/${SMALL_SERVICE}`;
    const r = await timedGet(agent, `${base}${path}`);
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    latencies.push(r.ms);
    await new Promise((resolve) => setTimeout(resolve, SMALL_READ_EVERY_MS));
  }
  agent.destroy();
  return latencies.sort((a, b) => a - b);
}

async function gauges(base: string): Promise<Map<string, number>> {
  const res = await httpCall(`${base}/v1/agent/metrics`, "GET", undefined, 30_000);
  const body = JSON.parse(res.body) as { Gauges: { Name: string; Value: number }[] };
  return new Map(body.Gauges.map((g) => [g.Name, g.Value]));
}

async function loadedReads(base: string, worker: SpawnedProcess, o: ScaleBenchOptions): Promise<LoadedReads> {
  const smallIdle = await smallReads(base, 3);
  const job: ScaleLoopJob = {
    kind: "loop",
    base,
    paths: ["/v1/catalog/services", "/v1/health/service/svc-0", "/v1/catalog/service/svc-1"],
    clients: o.heavyClients,
    seconds: o.readSeconds,
  };
  const heavyDone = nextMessage(worker, isMessage<ScaleLoopDone>("looped"), o.readSeconds * 1000 + 120_000);
  worker.child.send(job);
  // A writer keeps the heaviest answer changing, as a live catalog does: one svc-0 instance
  // re-registered with a new Meta value every WRITE_EVERY_MS.
  let writes = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await put(base, "/v1/catalog/register", instanceRegistration(writes % o.nodes, 0, `w${writes}`));
      writes++;
      await new Promise((resolve) => setTimeout(resolve, WRITE_EVERY_MS));
    }
  })();
  const smallLoaded = await smallReads(base, o.readSeconds);
  // The last completed metrics interval lies wholly inside the loaded phase (≥ 20 s long).
  const g = await gauges(base);
  writing = false;
  await writer;
  const heavy = await heavyDone;
  return {
    heavy,
    smallIdle,
    smallLoaded,
    writes,
    loopDelay: {
      p50: g.get("consul.runtime.event_loop_delay_p50_ms") ?? NaN,
      p99: g.get("consul.runtime.event_loop_delay_p99_ms") ?? NaN,
      max: g.get("consul.runtime.event_loop_delay_max_ms") ?? NaN,
    },
  };
}

interface WatchOutcome {
  lastMs: number;
  p50Ms: number;
  answered: number;
  failures: number;
}

/** `watchers` blocking queries on the small service's health, then one write to it. */
async function watchersWoken(base: string, pid: number, watchers: number): Promise<WatchOutcome> {
  const path = `/v1/health/service/${SMALL_SERVICE}`;
  const index = consulIndex(await httpCall(`${base}${path}`));
  const client = spawnNode(BLOCKING_WORKER, [], { label: "scale-watchers", ipc: true, viaTsx: true, raiseFdLimit: true });
  try {
    const parked = nextMessage(client, isMessage<FanoutParked>("parked"), 60_000);
    const job: FanoutJob = { kind: "job", url: `${base}${path}?index=${index}&wait=60s`, count: watchers };
    client.child.send(job);
    const p = await parked;
    await waitUntilIdle(pid, 300, 20_000);
    const report = nextMessage(client, isMessage<FanoutReport>("report"), WATCH_GRACE_MS + 30_000);
    report.catch(() => undefined); // awaited below; a failure before that must not mask the first error
    const writeAt = performance.timeOrigin + performance.now();
    await put(base, "/v1/catalog/register", smallRegistration(0, "woken"));
    const req: FanoutReportRequest = { kind: "report-request", writeAt, graceMs: WATCH_GRACE_MS };
    client.child.send(req);
    const r = await report;
    const after = r.latenciesMs.filter((x) => x >= 0).sort((a, b) => a - b);
    return {
      lastMs: after.length === watchers ? after[after.length - 1] : Infinity,
      p50Ms: percentile(after, 50),
      answered: after.length,
      failures: r.failures + r.non200 + p.answeredEarly,
    };
  } finally {
    await client.stop();
  }
}

async function snapshotRoundTrip(base: string): Promise<{ saveMs: number; restoreMs: number; bytes: number }> {
  const saveStarted = performance.now();
  const archive = await new Promise<Buffer>((resolve, reject) => {
    const req = request(`${base}/v1/snapshot`, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`snapshot save: ${res.statusCode}`))));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end();
  });
  const saveMs = performance.now() - saveStarted;
  const restoreStarted = performance.now();
  const restored = await new Promise<number>((resolve, reject) => {
    const req = request(`${base}/v1/snapshot`, { method: "PUT", agent: false, headers: { "Content-Length": archive.length } }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
    req.end(archive);
  });
  if (restored !== 200) throw new Error(`snapshot restore: ${restored}`);
  return { saveMs, restoreMs: performance.now() - restoreStarted, bytes: archive.length };
}

export async function runScaleBench(options: Partial<ScaleBenchOptions> = {}, log: (m: string) => void = () => {}, nodeFlags: string[] = []): Promise<ResultRow[]> {
  const o = { ...DEFAULT_SCALE_BENCH, ...options };
  const instances = o.nodes * o.servicesPerNode;
  // 1,000 watchers come from one address: Consul's per-client connection limit (200) is lifted
  // for this agent, as an operator serving that many watchers from one host would.
  const config = join(benchTempDir(), "scale-agent.json");
  writeFileSync(config, JSON.stringify({ limits: { http_max_conns_per_client: 0 } }));
  const agent = await launch("agent", { raiseFdLimit: true, agentArgs: ["-config-file", config], nodeFlags });
  const worker = spawnNode(WORKER, [], { label: "scale-client", ipc: true, viaTsx: true });
  const pid = agent.proc.pid;
  try {
    log(`scale: registering ${count(instances)} instances (${count(o.nodes)} nodes × ${o.servicesPerNode} services) at c=${o.registerConcurrency}`);
    const registeredMsg = nextMessage(worker, isMessage<ScaleRegisterDone>("registered"), 30 * 60_000);
    const job: ScaleRegisterJob = { kind: "register", base: agent.base, nodes: o.nodes, servicesPerNode: o.servicesPerNode, concurrency: o.registerConcurrency };
    const ticksBefore = readCpuTicks(pid);
    const workerTicksBefore = readCpuTicks(worker.pid);
    worker.child.send(job);
    const registered = await registeredMsg;
    // How busy each side was: on 2 cores the client's own CPU bounds the rate as much as the agent's.
    const agentCores = (readCpuTicks(pid) - ticksBefore) / CLOCK_TICKS_PER_SECOND / registered.seconds;
    const clientCores = (readCpuTicks(worker.pid) - workerTicksBefore) / CLOCK_TICKS_PER_SECOND / registered.seconds;
    if (registered.failures > 0) throw new Error(`${registered.failures} registrations failed: ${registered.firstFailure}`);
    for (let i = 0; i < SMALL_INSTANCES; i++) await put(agent.base, "/v1/catalog/register", smallRegistration(i, "1"));
    await waitUntilIdle(pid, 500, 60_000);
    const rssRegistered = readRssBytes(pid);

    log("scale: catalog/services and the first health/service/svc-0 answer");
    const reader = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const firstHealth = await timedGet(reader, `${agent.base}/v1/health/service/svc-0`);
    const warmHealth = await timedGet(reader, `${agent.base}/v1/health/service/svc-0`);
    const servicesReads: number[] = [];
    for (let i = 0; i < CATALOG_SERVICES_READS; i++) servicesReads.push((await timedGet(reader, `${agent.base}/v1/catalog/services`)).ms);
    reader.destroy();
    const servicesMedian = median(servicesReads);

    log(`scale: ${o.heavyClients} clients loop on the heaviest reads for ${o.readSeconds} s`);
    const loadedTicksBefore = readCpuTicks(pid);
    const loaded = await loadedReads(agent.base, worker, o);
    const loadedCpuSeconds = (readCpuTicks(pid) - loadedTicksBefore) / CLOCK_TICKS_PER_SECOND;
    const idleP99 = percentile(loaded.smallIdle, 99);
    const loadedP99 = percentile(loaded.smallLoaded, 99);
    const heavySorted = [...loaded.heavy.latenciesMs].sort((a, b) => a - b);

    log(`scale: ${count(o.watchers)} watchers of a ${SMALL_INSTANCES}-instance service`);
    await waitUntilIdle(pid, 500, 60_000);
    const watch = await watchersWoken(agent.base, pid, o.watchers);

    log("scale: snapshot save and restore");
    await waitUntilIdle(pid, 500, 60_000);
    const snap = await snapshotRoundTrip(agent.base);
    await waitUntilIdle(pid, 500, 60_000);
    const rssEnd = readRssBytes(pid);

    const size = `${count(instances)} instances`;
    const rate = registered.instances / registered.seconds;
    const rows: ResultRow[] = [
      {
        name: `S1. catalog register, ${size} at c=${o.registerConcurrency}`,
        agent: `${count(Math.round(rate))} inst/s`,
        bare: "—",
        ratio: "—",
        target: "≥ 15,000 inst/s",
        pass: rate >= 15_000,
        detail: `${count(registered.instances)} PUT /v1/catalog/register (one instance and its passing check each) in ${registered.seconds.toFixed(1)} s; agent CPU ${agentCores.toFixed(2)} cores, client ${clientCores.toFixed(2)} cores (${(1e6 * agentCores * registered.seconds / registered.instances).toFixed(0)} µs of agent CPU per registration)`,
      },
      {
        name: `S2. RSS holding ${size}`,
        agent: mb(rssRegistered),
        bare: "—",
        ratio: "—",
        target: "≤ 700 MB",
        pass: megabytes(rssRegistered) <= 700,
        detail: `VmRSS once idle after registering; ${mb(rssEnd)} at the end of the suite (after the loaded reads, watchers and a snapshot restore)`,
      },
      {
        name: `S3. GET /v1/catalog/services (${size})`,
        agent: ms(servicesMedian),
        bare: "—",
        ratio: "—",
        target: "≤ 10 ms",
        pass: servicesMedian <= 10,
        detail: `median of ${CATALOG_SERVICES_READS} sequential reads; first ${servicesReads[0].toFixed(1)} ms, max ${Math.max(...servicesReads).toFixed(1)} ms`,
      },
      {
        name: `S4. first GET /v1/health/service/svc-0 (${count(o.nodes)} instances)`,
        agent: ms(firstHealth.ms),
        bare: `warm ${ms(warmHealth.ms)}`,
        ratio: times(firstHealth.ms, warmHealth.ms),
        target: "≤ 200 ms",
        pass: firstHealth.ms <= 200 && firstHealth.status === 200,
        detail: `${mb(firstHealth.bytes)} answer (dev mode pretty-prints); the second, identical read took ${warmHealth.ms.toFixed(1)} ms`,
      },
      {
        name: `S5. event-loop delay p99, ${o.heavyClients} clients on the heaviest reads`,
        agent: `${loaded.loopDelay.p99.toFixed(1)} ms`,
        bare: "—",
        ratio: "—",
        target: "≤ 20 ms",
        pass: loaded.loopDelay.p99 <= 20,
        detail:
          `consul.runtime.event_loop_delay_* over the last whole 10 s interval of the phase: p50 ${loaded.loopDelay.p50.toFixed(1)} ms, max ${loaded.loopDelay.max.toFixed(1)} ms; ` +
          `heavy reads (catalog/services, health/service/svc-0, catalog/service/svc-1 in turn): ${count(loaded.heavy.requests)} in ${o.readSeconds} s, ` +
          `p50 ${percentile(heavySorted, 50).toFixed(0)} ms, p99 ${percentile(heavySorted, 99).toFixed(0)} ms, ${mb(loaded.heavy.bytes)} received, ${loaded.heavy.failures} failures${loaded.heavy.firstFailure ? ` (${loaded.heavy.firstFailure})` : ""}; ` +
          `${loaded.writes} svc-0 writes meanwhile (one every ${WRITE_EVERY_MS} ms); ` +
          `agent CPU ${loadedCpuSeconds.toFixed(1)} s over the phase, ${((1000 * loadedCpuSeconds) / megabytes(loaded.heavy.bytes)).toFixed(2)} ms per MB sent`,
      },
      {
        name: "S6. small-read p99 meanwhile",
        agent: `${loadedP99.toFixed(1)} ms`,
        bare: `idle ${idleP99.toFixed(1)} ms`,
        ratio: times(loadedP99, idleP99),
        target: "≤ 20 ms",
        pass: loadedP99 <= 20,
        detail: `status/leader and health/service/${SMALL_SERVICE} in turn every ${SMALL_READ_EVERY_MS} ms on one keep-alive connection: ${count(loaded.smallLoaded.length)} reads, p50 ${percentile(loaded.smallLoaded, 50).toFixed(1)} ms, max ${(loaded.smallLoaded.at(-1) ?? NaN).toFixed(1)} ms; the same reads idle just before: p50 ${percentile(loaded.smallIdle, 50).toFixed(1)} ms, p99 ${idleP99.toFixed(1)} ms`,
      },
      {
        name: `S7. ${count(o.watchers)} watchers woken (${size})`,
        agent: ms(watch.lastMs),
        bare: "—",
        ratio: "—",
        target: "≤ 500 ms",
        pass: watch.lastMs <= 500 && watch.failures === 0,
        detail: `blocking health/service/${SMALL_SERVICE} queries, one connection each; last answer ${watch.lastMs.toFixed(0)} ms after the write, median ${watch.p50Ms.toFixed(0)} ms; ${count(watch.answered)}/${count(o.watchers)} answered, ${watch.failures} faults`,
      },
      {
        name: `S8. snapshot save (${size})`,
        agent: ms(snap.saveMs),
        bare: "—",
        ratio: "—",
        target: "≤ 5,000 ms",
        pass: snap.saveMs <= 5000,
        detail: `GET /v1/snapshot to the archive's last byte: ${mb(snap.bytes)} archive`,
      },
      {
        name: `S9. snapshot restore (${size})`,
        agent: ms(snap.restoreMs),
        bare: "—",
        ratio: "—",
        target: "≤ 5,000 ms",
        pass: snap.restoreMs <= 5000,
        detail: `PUT /v1/snapshot of that archive until its 200`,
      },
    ];
    return rows;
  } finally {
    await worker.stop();
    await agent.proc.stop();
  }
}

/** `--scale-nodes N` and `--scale-read-seconds S` from the runner's arguments. */
export function scaleOptionsFromArgs(argv: string[]): Partial<ScaleBenchOptions> {
  const out: Partial<ScaleBenchOptions> = {};
  const number = (flag: string): number | undefined => {
    const at = argv.indexOf(flag);
    if (at < 0) return undefined;
    const v = Number(argv[at + 1]);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag} needs a positive integer`);
    return v;
  };
  const nodes = number("--scale-nodes");
  if (nodes !== undefined) out.nodes = nodes;
  const readSeconds = number("--scale-read-seconds");
  if (readSeconds !== undefined) out.readSeconds = readSeconds;
  return out;
}

/** `--scale-cluster-nodes N` (default 3,000: 51,000 instances) and `--scale-cluster-seconds S`. */
export function scaleClusterOptionsFromArgs(argv: string[]): Partial<ScaleClusterOptions> {
  const out: Partial<ScaleClusterOptions> = {};
  const nodes = positiveInteger(argv, "--scale-cluster-nodes");
  if (nodes !== undefined) out.nodes = nodes;
  const seconds = positiveInteger(argv, "--scale-cluster-seconds");
  if (seconds !== undefined) out.phaseSeconds = seconds;
  return out;
}

function positiveInteger(argv: string[], flag: string): number | undefined {
  const at = argv.indexOf(flag);
  if (at < 0) return undefined;
  const v = Number(argv[at + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag} needs a positive integer`);
  return v;
}
