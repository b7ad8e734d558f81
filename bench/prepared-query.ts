import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob } from "./load.ts";
import { median, percent, reqPerSec } from "./format.ts";
import type { ResultRow } from "./report.ts";
import { withServer, type LaunchOptions } from "./servers.ts";
import { HEALTH_INSTANCES, LOAD_CONNECTIONS } from "./throughput.ts";

// Issue 18: a prepared query's execute against the equivalent health read, same agent, same
// run: the 100-instance `web` service of the throughput cases, `GET /v1/health/service/web?passing`
// against `GET /v1/query/web-passing/execute` (Service web, OnlyPassing). Rounds alternate
// between the two so drift on the machine hits both alike; each is credited with its best round.

export const QUERY_EXECUTE_TARGET_RATIO = 0.5;
const ROUNDS = 5;
const ROUND_SECONDS = 1;
const WARMUP_SECONDS = 1;

function log(message: string): void {
  process.stderr.write(`[bench:query] ${message}\n`);
}

async function seed(base: string): Promise<void> {
  for (let i = 0; i < HEALTH_INSTANCES; i++) {
    const node = `bench-node-${i}`;
    const registration = {
      Datacenter: "dc1",
      Node: node,
      Address: `10.0.${i >> 8}.${i & 255}`,
      Service: { ID: "web", Service: "web", Port: 8080, Tags: ["v1"] },
      Check: { Node: node, CheckID: "service:web", Name: "web health", Status: "passing", ServiceID: "web" },
    };
    const answer = await httpCall(`${base}/v1/catalog/register`, "PUT", JSON.stringify(registration));
    if (answer.status !== 200) throw new Error(`registering ${node} answered ${answer.status}: ${answer.body}`);
  }
  const created = await httpCall(`${base}/v1/query`, "POST", JSON.stringify({ Name: "web-passing", Service: { Service: "web", OnlyPassing: true } }));
  if (created.status !== 200) throw new Error(`creating the query answered ${created.status}: ${created.body}`);
  const executed = await httpCall(`${base}/v1/query/web-passing/execute`);
  const nodes = (JSON.parse(executed.body) as { Nodes?: unknown[] }).Nodes;
  if (executed.status !== 200 || nodes?.length !== HEALTH_INSTANCES) throw new Error(`execute answered ${executed.status} with ${nodes?.length ?? "no"} nodes`);
}

export async function runPreparedQueryBench(agentLaunch: LaunchOptions): Promise<ResultRow[]> {
  return withServer("agent", agentLaunch, async (agent) => {
    log(`seeding ${HEALTH_INSTANCES} instances and the query`);
    await seed(agent.base);
    const health: LoadJob = { connections: LOAD_CONNECTIONS, durationSeconds: ROUND_SECONDS, method: "GET", url: `${agent.base}/v1/health/service/web?passing` };
    const execute: LoadJob = { connections: LOAD_CONNECTIONS, durationSeconds: ROUND_SECONDS, method: "GET", url: `${agent.base}/v1/query/web-passing/execute` };
    const load = new LoadGenerator();
    try {
      await load.run({ ...health, durationSeconds: WARMUP_SECONDS });
      await load.run({ ...execute, durationSeconds: WARMUP_SECONDS });
      const healthRps: number[] = [];
      const executeRps: number[] = [];
      const executeP50: number[] = [];
      let failures = 0;
      for (let i = 0; i < ROUNDS; i++) {
        log(`round ${i + 1}/${ROUNDS}`);
        const h = await load.run(health);
        const e = await load.run(execute);
        healthRps.push(h.requestsPerSecond);
        executeRps.push(e.requestsPerSecond);
        executeP50.push(e.latencyP50Ms);
        failures += e.non2xx + e.errors + e.timeouts + h.non2xx + h.errors + h.timeouts;
      }
      const best = Math.max(...executeRps);
      const yardstick = Math.max(...healthRps);
      const ratio = best / yardstick;
      return [
        {
          name: `Q1. GET /v1/query/<name>/execute vs GET /v1/health/service/web?passing (${HEALTH_INSTANCES} instances, c=${LOAD_CONNECTIONS})`,
          agent: reqPerSec(best),
          bare: reqPerSec(yardstick),
          ratio: percent(ratio),
          target: `≥ ${QUERY_EXECUTE_TARGET_RATIO * 100} %`,
          pass: failures === 0 && ratio >= QUERY_EXECUTE_TARGET_RATIO,
          detail:
            `best of ${ROUNDS} alternating rounds; per-round ratios ${executeRps.map((r, i) => percent(r / healthRps[i])).join(", ")}; ` +
            `execute p50 ${median(executeP50).toFixed(1)} ms; ${failures} failed requests`,
        },
      ];
    } finally {
      await load.stop();
    }
  });
}
