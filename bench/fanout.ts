import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode, type SpawnedProcess } from "./child-process.ts";
import { consulIndex, httpCall } from "./http-call.ts";
import { readCpuTicks, readRssBytes, waitUntilIdle } from "./proc-stats.ts";
import type { ServerUnderTest } from "./servers.ts";

// The blocking-query fan-out case: park N long polls on one key across a few client processes,
// note the server's memory, write the key once, and time how long each waiter takes to hear.

export interface FanoutJob {
  kind: "job";
  url: string;
  count: number;
}

export interface FanoutParked {
  kind: "parked";
  sent: number;
  failures: number;
  /** Queries answered before the write: a blocking query that returned early. */
  answeredEarly: number;
}

export interface FanoutReportRequest {
  kind: "report-request";
  /** Wall-clock ms (performance.timeOrigin + performance.now()) just before the write was sent. */
  writeAt: number;
  graceMs: number;
}

export interface FanoutReport {
  kind: "report";
  /** Per answered query: ms from the write to the end of its answer (negative = before it). */
  latenciesMs: number[];
  failures: number;
  non200: number;
  firstFailure: string;
}

export interface FanoutOutcome {
  waiters: number;
  /** Answered after the write, with a 200, within the grace period. */
  answeredAfterWrite: number;
  answeredEarly: number;
  failures: number;
  non200: number;
  firstFailure: string;
  /** ms from the write to the last answer (Infinity if any waiter never heard). */
  lastAnswerMs: number;
  p50AnswerMs: number;
  rssBeforeBytes: number;
  rssParkedBytes: number;
  rssAfterBytes: number;
  /** CPU the server used from the write until every report was in (10 ms resolution). */
  serverCpuAfterWriteMs: number;
  /** Whether the server went quiet after the queries were sent (all parked) within the limit. */
  settledBeforeWrite: boolean;
}

const CLIENT_WORKER = fileURLToPath(new URL("./blocking-client-worker.ts", import.meta.url));
const KEY_PATH = "/v1/kv/bench/fanout";
/** How long after the write we keep listening; answers later than the 1 s target still count as late, not lost. */
const GRACE_MS = 5_000;
/** /proc CPU times count USER_HZ ticks, 100 per second on Linux. */
const CLOCK_TICK_MS = 10;

function isParked(m: unknown): m is FanoutParked {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "parked";
}

function isReport(m: unknown): m is FanoutReport {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "report";
}

function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function measureFanout(server: ServerUnderTest, waiters: number, clientProcesses: number): Promise<FanoutOutcome> {
  const seeded = await httpCall(`${server.base}${KEY_PATH}`, "PUT", "before");
  if (seeded.status !== 200) throw new Error(`seeding ${KEY_PATH} answered ${seeded.status}: ${seeded.body}`);
  const index = consulIndex(await httpCall(`${server.base}${KEY_PATH}`));
  await waitUntilIdle(server.proc.pid);
  const rssBeforeBytes = readRssBytes(server.proc.pid);

  const url = `${server.base}${KEY_PATH}?index=${index}&wait=60s`;
  const clients: SpawnedProcess[] = [];
  try {
    for (let i = 0; i < clientProcesses; i++) {
      clients.push(spawnNode(CLIENT_WORKER, [], { label: `fanout-client-${i}`, ipc: true, viaTsx: true, raiseFdLimit: true }));
    }
    const share = Math.ceil(waiters / clientProcesses);
    const parked = await Promise.all(
      clients.map((client, i) => {
        const count = Math.min(share, waiters - i * share);
        const answer = nextMessage(client, isParked, 60_000);
        const job: FanoutJob = { kind: "job", url, count };
        client.child.send(job);
        return answer;
      }),
    );
    const settledBeforeWrite = await waitUntilIdle(server.proc.pid, 500, 20_000);
    const rssParkedBytes = readRssBytes(server.proc.pid);

    const reports = clients.map((client) => nextMessage(client, isReport, GRACE_MS + 30_000));
    const cpuAtWrite = readCpuTicks(server.proc.pid);
    const writeAt = wallClockMs();
    const written = await httpCall(`${server.base}${KEY_PATH}`, "PUT", "after");
    if (written.status !== 200) throw new Error(`write to ${KEY_PATH} answered ${written.status}: ${written.body}`);
    const request: FanoutReportRequest = { kind: "report-request", writeAt, graceMs: GRACE_MS };
    for (const client of clients) client.child.send(request);
    const collected = await Promise.all(reports);
    const rssAfterBytes = readRssBytes(server.proc.pid);
    const serverCpuAfterWriteMs = (readCpuTicks(server.proc.pid) - cpuAtWrite) * CLOCK_TICK_MS;

    const latencies = collected.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    const afterWrite = latencies.filter((ms) => ms >= 0);
    const answeredAfterWrite = afterWrite.length;
    return {
      waiters,
      answeredAfterWrite,
      answeredEarly: parked.reduce((sum, p) => sum + p.answeredEarly, 0),
      failures: collected.reduce((sum, r) => sum + r.failures, 0),
      non200: collected.reduce((sum, r) => sum + r.non200, 0),
      firstFailure: collected.map((r) => r.firstFailure).find((f) => f !== "") ?? "",
      lastAnswerMs: answeredAfterWrite === waiters ? afterWrite[afterWrite.length - 1] : Infinity,
      p50AnswerMs: afterWrite.length > 0 ? afterWrite[Math.floor(afterWrite.length / 2)] : Infinity,
      rssBeforeBytes,
      rssParkedBytes,
      rssAfterBytes,
      serverCpuAfterWriteMs,
      settledBeforeWrite,
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}
