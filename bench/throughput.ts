import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchTempDir } from "./child-process.ts";
import { count, mbPerSec, median, percent, reqPerSec } from "./format.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import type { ResultRow } from "./report.ts";
import { withServer, type LaunchOptions, type ServerUnderTest } from "./servers.ts";

// Cases 1–3: requests per second of the agent against the bare server, same client, same run.
// A case is a warm-up of each server, then short rounds that load the bare server and the agent
// back to back; each server is credited with its best round, so a burst of other work on the
// machine spoils one round rather than the figure.

export const LOAD_CONNECTIONS = 50;
export const WARMUP_SECONDS = 1;
export const ROUNDS = 5;
export const ROUND_SECONDS = 1;
export const HEALTH_INSTANCES = 100;

interface ThroughputCase {
  name: string;
  minRatio: number;
  job: (base: string) => LoadJob;
}

const HEALTH_CASE: ThroughputCase = {
  name: `3. GET /v1/health/service/web?passing (${HEALTH_INSTANCES} instances)`,
  minRatio: 0.25,
  job: (base) => ({ connections: LOAD_CONNECTIONS, durationSeconds: ROUND_SECONDS, method: "GET", url: `${base}/v1/health/service/web?passing` }),
};

const THROUGHPUT_CASES: ThroughputCase[] = [
  {
    name: "1. KV GET one small key",
    minRatio: 0.6,
    job: (base) => ({ connections: LOAD_CONNECTIONS, durationSeconds: ROUND_SECONDS, method: "GET", url: `${base}/v1/kv/bench/key` }),
  },
  {
    name: "2. KV PUT (dev, in memory)",
    minRatio: 0.4,
    job: (base) => ({ connections: LOAD_CONNECTIONS, durationSeconds: ROUND_SECONDS, method: "PUT", url: `${base}/v1/kv/bench/put`, body: "value" }),
  },
  HEALTH_CASE,
];

interface Round {
  bare: LoadOutcome;
  agent: LoadOutcome;
  /** Health case only: the bare server answering the agent's own health body. */
  ceiling?: LoadOutcome;
}

export interface CaseResult {
  spec: ThroughputCase;
  rounds: Round[];
}

export interface ThroughputResults {
  cases: CaseResult[];
  healthBodyBytes: number;
}

/** Seeds what the cases read, and checks the agent answers them correctly before timing it. */
async function seedAgent(base: string): Promise<string> {
  const put = await httpCall(`${base}/v1/kv/bench/key`, "PUT", "value");
  if (put.status !== 200) throw new Error(`seeding bench/key answered ${put.status}: ${put.body}`);
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
  const health = await httpCall(`${base}/v1/health/service/web?passing`);
  const entries: unknown = JSON.parse(health.body);
  if (health.status !== 200 || !Array.isArray(entries) || entries.length !== HEALTH_INSTANCES) {
    throw new Error(`health/service/web?passing answered ${health.status} with ${Array.isArray(entries) ? entries.length : "no"} entries`);
  }
  const get = await httpCall(`${base}/v1/kv/bench/key`);
  if (get.status !== 200) throw new Error(`GET bench/key answered ${get.status}`);
  return health.body;
}

async function measureCase(
  load: LoadGenerator,
  spec: ThroughputCase,
  bare: ServerUnderTest,
  agent: ServerUnderTest,
  ceiling: ServerUnderTest | undefined,
): Promise<CaseResult> {
  const targets = [bare, agent, ...(ceiling ? [ceiling] : [])];
  for (const target of targets) await load.run({ ...spec.job(target.base), durationSeconds: WARMUP_SECONDS });
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const bareOutcome = await load.run(spec.job(bare.base));
    const agentOutcome = await load.run(spec.job(agent.base));
    const ceilingOutcome = ceiling ? await load.run(spec.job(ceiling.base)) : undefined;
    rounds.push({ bare: bareOutcome, agent: agentOutcome, ceiling: ceilingOutcome });
  }
  return { spec, rounds };
}

export async function measureThroughput(agentLaunch: LaunchOptions, log: (m: string) => void): Promise<ThroughputResults> {
  return withServer("agent", agentLaunch, async (agent) => {
    const healthBody = await seedAgent(agent.base);
    const bodyFile = join(benchTempDir(), "health-body.json");
    writeFileSync(bodyFile, healthBody);
    return withServer("bare", {}, (bare) =>
      withServer("bare", { bareBodyFile: bodyFile }, async (ceiling) => {
        const load = new LoadGenerator();
        try {
          const cases: CaseResult[] = [];
          for (const spec of THROUGHPUT_CASES) {
            log(spec.name);
            cases.push(await measureCase(load, spec, bare, agent, spec === HEALTH_CASE ? ceiling : undefined));
          }
          return { cases, healthBodyBytes: Buffer.byteLength(healthBody) };
        } finally {
          await load.stop();
        }
      }),
    );
  });
}

function problems(outcomes: LoadOutcome[]): string {
  const sum = (pick: (o: LoadOutcome) => number): number => outcomes.reduce((s, o) => s + pick(o), 0);
  const found = [
    sum((o) => o.non2xx) && `${sum((o) => o.non2xx)} non-2xx`,
    sum((o) => o.errors) && `${sum((o) => o.errors)} errors`,
    sum((o) => o.timeouts) && `${sum((o) => o.timeouts)} timeouts`,
  ].filter(Boolean);
  return found.length > 0 ? `; **agent answered ${found.join(", ")}**` : "";
}

export function throughputRows(results: ThroughputResults): ResultRow[] {
  return results.cases.map(({ spec, rounds }) => {
    // Other work on the machine only ever slows a round down, so each server's best round is the
    // closest estimate of what it can do; the per-round ratios are kept in the detail line.
    const agentRps = Math.max(...rounds.map((r) => r.agent.requestsPerSecond));
    const bareRps = Math.max(...rounds.map((r) => r.bare.requestsPerSecond));
    const ratios = rounds.map((r) => r.agent.requestsPerSecond / r.bare.requestsPerSecond);
    const ratio = agentRps / bareRps;
    const agentOutcomes = rounds.map((r) => r.agent);
    const clean = problems(agentOutcomes) === "";
    const lat = (pick: (r: Round) => LoadOutcome): string =>
      `${median(rounds.map((r) => pick(r).latencyP50Ms))}/${median(rounds.map((r) => pick(r).latencyP99Ms))} ms`;
    let detail =
      `best of ${ROUNDS} rounds; per-round ratios ${ratios.map(percent).join(", ")}; latency p50/p99 agent ${lat((r) => r.agent)}, bare ${lat((r) => r.bare)}; ` +
      `agent ${count(agentOutcomes.reduce((s, o) => s + o.completed, 0))} requests, ${mbPerSec(median(agentOutcomes.map((o) => o.bytesPerSecond)))} received` +
      problems(agentOutcomes);
    const ceilings = rounds.flatMap((r) => (r.ceiling ? [r.ceiling] : []));
    if (ceilings.length > 0) {
      const ceilingRps = Math.max(...ceilings.map((o) => o.requestsPerSecond));
      detail +=
        `; the agent's answer is ${count(results.healthBodyBytes)} bytes, and the bare server answering those same bytes does ` +
        `${reqPerSec(ceilingRps)} (${mbPerSec(median(ceilings.map((o) => o.bytesPerSecond)))}): the agent reaches ${percent(agentRps / ceilingRps)} of that ceiling`;
    }
    return {
      name: spec.name,
      agent: reqPerSec(agentRps),
      bare: reqPerSec(bareRps),
      ratio: percent(ratio),
      target: `≥ ${spec.minRatio * 100} %`,
      pass: clean && ratio >= spec.minRatio,
      detail,
    };
  });
}
