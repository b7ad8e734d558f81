import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { benchTempDir, spawnNode, type SpawnedProcess } from "./child-process.ts";
import { ms, reqPerSec, times } from "./format.ts";
import { freePort } from "./free-port.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import type { ResultRow } from "./report.ts";

// Issue 18: what one WAN hop costs. Two single-server datacenters on loopback (dc2 joined to
// dc1's WAN pool); the same small key read two ways in alternating rounds:
//   local: GET /v1/kv/bench/key on dc2's own server;
//   WAN:   GET /v1/kv/bench/key?dc=dc2 on dc1's server (HTTP → dc1 → HTTP.Forward RPC → dc2).
// W1 compares throughput at 50 connections (best round each): the WAN read may cost at most
// 2× the local one. W2 sends one request at a time, so its rate is 1 / latency: there the extra
// process hop (two more loopback round trips and wake-ups) is most of the cost; it is reported
// without a target.

export const WAN_TARGET_FACTOR = 2;
const CONSULATE_BIN = fileURLToPath(new URL("../bin/consulate.js", import.meta.url));
const ROUNDS = 5;
const ROUND_SECONDS = 1;
const KEY_PATH = "/v1/kv/bench/key";

function log(message: string): void {
  process.stderr.write(`[bench:wan] ${message}\n`);
}

interface DcServer {
  dc: string;
  bind: string;
  base: string;
  wanAddr: string;
  proc: SpawnedProcess;
}

async function startServer(dc: string, bind: string, dataRoot: string, wanJoin?: string): Promise<DcServer> {
  const httpPort = await freePort();
  const wanPort = await freePort();
  const proc = spawnNode(
    CONSULATE_BIN,
    [
      "agent",
      "-server",
      "-bootstrap",
      `-datacenter=${dc}`,
      `-node=${dc}-server`,
      `-data-dir=${join(dataRoot, dc)}`,
      `-bind=${bind}`,
      "-client=127.0.0.1",
      `-http-port=${httpPort}`,
      "-dns-port=-1",
      "-grpc-port=-1",
      `-server-port=${await freePort()}`,
      `-serf-lan-port=${await freePort()}`,
      `-serf-wan-port=${wanPort}`,
      "-log-level=warn",
      '-hcl=retry_interval_wan = "500ms"',
      ...(wanJoin ? [`-retry-join-wan=${wanJoin}`] : []),
    ],
    { label: `consulate-${dc}` },
  );
  return { dc, bind, base: `http://127.0.0.1:${httpPort}`, wanAddr: `${bind}:${wanPort}`, proc };
}

async function until(what: string, probe: () => Promise<boolean>, procs: SpawnedProcess[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => p.logTail()).join("\n---\n")}`);
    await sleep(100);
  }
}

const best = (outcomes: LoadOutcome[]): number => Math.max(...outcomes.map((o) => o.requestsPerSecond));
const faults = (outcomes: LoadOutcome[]): number => outcomes.reduce((n, o) => n + o.non2xx + o.errors + o.timeouts, 0);

async function alternate(load: LoadGenerator, local: LoadJob, wan: LoadJob): Promise<{ local: LoadOutcome[]; wan: LoadOutcome[] }> {
  await load.run({ ...local, durationSeconds: 1 });
  await load.run({ ...wan, durationSeconds: 1 });
  const out = { local: [] as LoadOutcome[], wan: [] as LoadOutcome[] };
  for (let i = 0; i < ROUNDS; i++) {
    out.local.push(await load.run(local));
    out.wan.push(await load.run(wan));
    log(`c=${local.connections} round ${i + 1}/${ROUNDS}: WAN ${reqPerSec(out.wan[i].requestsPerSecond)} vs local ${reqPerSec(out.local[i].requestsPerSecond)}`);
  }
  return out;
}

export async function runWanBench(): Promise<ResultRow[]> {
  const dataRoot = benchTempDir();
  const dc1 = await startServer("dc1", "127.0.0.61", dataRoot);
  const dc2 = await startServer("dc2", "127.0.0.62", dataRoot, dc1.wanAddr);
  const procs = [dc1.proc, dc2.proc];
  const load = new LoadGenerator();
  try {
    for (const s of [dc1, dc2]) await until(`${s.dc} leader`, async () => JSON.parse((await httpCall(`${s.base}/v1/status/leader`)).body) !== "", procs);
    await until("dc1 knows dc2", async () => (JSON.parse((await httpCall(`${dc1.base}/v1/catalog/datacenters`)).body) as string[]).includes("dc2"), procs);
    await until("the key in dc2", async () => (await httpCall(`${dc2.base}${KEY_PATH}`, "PUT", "value")).status === 200, procs);
    await until("dc1 reads dc2", async () => (await httpCall(`${dc1.base}${KEY_PATH}?dc=dc2`)).status === 200, procs);

    const job = (url: string, connections: number): LoadJob => ({ url, method: "GET", connections, durationSeconds: ROUND_SECONDS });
    const localUrl = `${dc2.base}${KEY_PATH}`;
    const wanUrl = `${dc1.base}${KEY_PATH}?dc=dc2`;
    log("W1: 50 connections");
    const many = await alternate(load, job(localUrl, 50), job(wanUrl, 50));
    log("W2: one request at a time");
    const one = await alternate(load, job(localUrl, 1), job(wanUrl, 1));

    const throughputFactor = best(many.local) / best(many.wan);
    const serialFactor = best(one.local) / best(one.wan);
    const perRound = (r: { local: LoadOutcome[]; wan: LoadOutcome[] }): string => r.wan.map((o, i) => times(r.local[i].requestsPerSecond, o.requestsPerSecond)).join(", ");
    return [
      {
        name: "W1. KV GET ?dc=dc2 through dc1's server vs GET on dc2's server, c=50 (cost factor = local req/s ÷ WAN req/s)",
        agent: reqPerSec(best(many.wan)),
        bare: `local ${reqPerSec(best(many.local))}`,
        ratio: `${throughputFactor.toFixed(2)}×`,
        target: `≤ ${WAN_TARGET_FACTOR}×`,
        pass: faults(many.wan) === 0 && throughputFactor <= WAN_TARGET_FACTOR,
        detail: `best of ${ROUNDS} alternating rounds; per-round cost ${perRound(many)}; p99 WAN ${many.wan.map((o) => ms(o.latencyP99Ms)).join("/")}, local ${many.local.map((o) => ms(o.latencyP99Ms)).join("/")}; ${faults(many.wan)} WAN non-2xx/errors`,
      },
      {
        name: "W2. the same, one request at a time (latency factor = local req/s ÷ WAN req/s)",
        agent: reqPerSec(best(one.wan)),
        bare: `local ${reqPerSec(best(one.local))}`,
        ratio: `${serialFactor.toFixed(2)}×`,
        target: "—",
        pass: faults(one.wan) === 0,
        detail: `per-round factor ${perRound(one)}; each WAN request wakes three processes in turn (client, dc1, dc2) where the local one wakes two`,
      },
    ];
  } finally {
    await load.stop();
    await Promise.all(procs.map((p) => p.stop()));
  }
}
