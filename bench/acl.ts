import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { removeBenchTempDir } from "./child-process.ts";
import { count, median, ms, percent, reqPerSec } from "./format.ts";
import { httpCall } from "./http-call.ts";
import { LoadGenerator, type LoadJob, type LoadOutcome } from "./load.ts";
import { readCpuTicks } from "./proc-stats.ts";
import { terminalTable, type ResultRow } from "./report.ts";
import { launch, type ServerUnderTest } from "./servers.ts";

// Issue 13: what enforcing ACLs costs a read. Two -dev agents in the same run, started alike
// and at once, that differ only in their config file: `acl { enabled = true, default_policy =
// "deny" }` answering with a token whose policy has 20 rules, or `acl { enabled = false }`.
// Both run at the INFO log level a production agent runs at (-dev alone logs every request at
// DEBUG, a cost that would dilute the one measured here). Both get the identical request
// (GET /v1/kv/bench/key?token=…; the agent without ACLs ignores the token), both are warmed up
// alike, then measured in rounds whose order alternates (on-off, off-on, …) so neither side
// always runs first after the other. The ratio is the median of the per-round ratios, with
// their spread; throughput on a shared, busy machine swings between rounds, so the row also
// gives what the load cannot bend: each agent's own CPU time (/proc) per request over all its
// rounds, and their ratio — the cost of ACL enforcement itself.

export const ACL_GET_TARGET_RATIO = 0.9;
export const ACL_GET_TITLE = "A1. KV GET one small key with a 20-rule token (default deny) vs ACLs off";
const CONNECTIONS = 50;
const ROUNDS = 8;
const ROUND_SECONDS = 1;
const WARMUP_ROUNDS = 2;
const ROOT = "b0b0b0b0-1111-4222-8333-944444444444";
/** What both agents share: only the acl block differs. */
const COMMON_AGENT_ARGS = ["-log-level", "info"];

function log(message: string): void {
  process.stderr.write(`[bench:acl] ${message}\n`);
}

/** 19 rules that do not match the key (prefixes of every length, exact keys, a deny) and the one that does. */
export function twentyRules(): string {
  const rules: string[] = [];
  for (let i = 0; i < 8; i++) rules.push(`key_prefix "app/${i}/" { policy = "write" }`);
  for (let i = 0; i < 6; i++) rules.push(`key "config/service-${i}" { policy = "read" }`);
  for (let i = 0; i < 4; i++) rules.push(`service_prefix "web-${i}" { policy = "read" }`);
  rules.push(`key_prefix "bench/secret" { policy = "deny" }`);
  rules.push(`key_prefix "bench/" { policy = "read" }`);
  return rules.join("\n");
}

async function put(server: ServerUnderTest, path: string, body: string, token = ROOT): Promise<string> {
  const res = await httpCall(`${server.base}${path}${path.includes("?") ? "&" : "?"}token=${token}`, "PUT", body);
  if (res.status !== 200) throw new Error(`PUT ${path} answered ${res.status}: ${res.body}`);
  return res.body;
}

/** The management token exists once the leader has created it; until then writes are refused. */
async function waitForRoot(server: ServerUnderTest): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await httpCall(`${server.base}/v1/acl/token/self?token=${ROOT}`, "GET");
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`the initial management token never resolved: ${res.status} ${res.body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Rounds {
  ours: LoadOutcome[];
  yardstick: LoadOutcome[];
  /** Clock ticks of CPU each agent spent during its own rounds. */
  oursTicks: number;
  yardstickTicks: number;
}

async function timed(load: LoadGenerator, job: LoadJob, pid: number): Promise<{ outcome: LoadOutcome; ticks: number }> {
  const before = readCpuTicks(pid);
  const outcome = await load.run(job);
  return { outcome, ticks: readCpuTicks(pid) - before };
}

async function alternate(load: LoadGenerator, ours: LoadJob, oursPid: number, yardstick: LoadJob, yardstickPid: number): Promise<Rounds> {
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    await load.run(i % 2 === 0 ? ours : yardstick);
    await load.run(i % 2 === 0 ? yardstick : ours);
  }
  const result: Rounds = { ours: [], yardstick: [], oursTicks: 0, yardstickTicks: 0 };
  const runOurs = async (): Promise<void> => {
    const on = await timed(load, ours, oursPid);
    result.ours.push(on.outcome);
    result.oursTicks += on.ticks;
  };
  const runYardstick = async (): Promise<void> => {
    const off = await timed(load, yardstick, yardstickPid);
    result.yardstick.push(off.outcome);
    result.yardstickTicks += off.ticks;
  };
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      await runOurs();
      await runYardstick();
    } else {
      await runYardstick();
      await runOurs();
    }
    log(`round ${i + 1}/${ROUNDS}: ${reqPerSec(result.ours[i].requestsPerSecond)} vs ${reqPerSec(result.yardstick[i].requestsPerSecond)}`);
  }
  return result;
}

export async function runAclBench(): Promise<ResultRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "consulate-bench-acl-"));
  const securedConfig = join(dir, "acl-on.hcl");
  const openConfig = join(dir, "acl-off.hcl");
  writeFileSync(securedConfig, `acl {\n  enabled = true\n  default_policy = "deny"\n  tokens { initial_management = "${ROOT}" }\n}\n`);
  writeFileSync(openConfig, `acl {\n  enabled = false\n}\n`);
  const load = new LoadGenerator();
  const started = await Promise.allSettled([
    launch("agent", { agentArgs: [...COMMON_AGENT_ARGS, "-config-file", securedConfig] }),
    launch("agent", { agentArgs: [...COMMON_AGENT_ARGS, "-config-file", openConfig] }),
  ]);
  try {
    const [secured, open] = started.map((s) => {
      if (s.status === "rejected") throw s.reason;
      return s.value;
    });
    await waitForRoot(secured);
    await put(secured, "/v1/acl/policy", JSON.stringify({ Name: "bench-20-rules", Rules: twentyRules() }));
    const token = (JSON.parse(await put(secured, "/v1/acl/token", JSON.stringify({ Policies: [{ Name: "bench-20-rules" }] }))) as { SecretID: string }).SecretID;
    await put(secured, "/v1/kv/bench/key", "value");
    await put(open, "/v1/kv/bench/key", "value");
    const check = await httpCall(`${secured.base}/v1/kv/bench/key?token=${token}`, "GET");
    if (check.status !== 200) throw new Error(`the 20-rule token cannot read bench/key: ${check.status} ${check.body}`);
    const denied = await httpCall(`${secured.base}/v1/kv/bench/key`, "GET");
    if (denied.status !== 403) throw new Error(`an anonymous read was not refused: ${denied.status}`);
    const secret = await httpCall(`${secured.base}/v1/kv/bench/secret?token=${token}`, "GET");
    if (secret.status !== 403) throw new Error(`the token's deny rule was not enforced: ${secret.status}`);
    const job = (server: ServerUnderTest): LoadJob => ({ url: `${server.base}/v1/kv/bench/key?token=${token}`, method: "GET", connections: CONNECTIONS, durationSeconds: ROUND_SECONDS });
    log(ACL_GET_TITLE);
    const rounds = await alternate(load, job(secured), secured.proc.pid, job(open), open.proc.pid);
    return [row(rounds)];
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return [{ name: ACL_GET_TITLE, agent: "—", bare: "—", ratio: "—", target: "—", pass: false, detail: `failed: ${message}` }];
  } finally {
    await load.stop();
    for (const s of started) if (s.status === "fulfilled") await s.value.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere that matters). */
const TICKS_PER_SECOND = 100;

function row(rounds: Rounds): ResultRow {
  const ratios = rounds.ours.map((o, i) => (rounds.yardstick[i].requestsPerSecond > 0 ? o.requestsPerSecond / rounds.yardstick[i].requestsPerSecond : 0));
  const ratio = median(ratios);
  const faults = rounds.ours.reduce((n, o) => n + o.non2xx + o.errors + o.timeouts, 0);
  const p99 = (o: LoadOutcome[]): string => o.map((x) => ms(x.latencyP99Ms)).join("/");
  const completed = (o: LoadOutcome[]): number => o.reduce((n, x) => n + x.completed, 0);
  const cpuUs = (ticks: number, o: LoadOutcome[]): number => (ticks / TICKS_PER_SECOND) * 1e6 / Math.max(1, completed(o));
  const cpuOn = cpuUs(rounds.oursTicks, rounds.ours);
  const cpuOff = cpuUs(rounds.yardstickTicks, rounds.yardstick);
  return {
    name: ACL_GET_TITLE,
    agent: reqPerSec(median(rounds.ours.map((o) => o.requestsPerSecond))),
    bare: `ACLs off ${reqPerSec(median(rounds.yardstick.map((o) => o.requestsPerSecond)))}`,
    ratio: percent(ratio),
    target: `≥ ${ACL_GET_TARGET_RATIO * 100} %`,
    pass: faults === 0 && ratio >= ACL_GET_TARGET_RATIO,
    detail:
      `median of ${ROUNDS} alternating 1 s rounds (order on-off, off-on, …) after ${WARMUP_ROUNDS} warm-up rounds each, c=${CONNECTIONS}, both agents -dev at log level INFO; ` +
      `per-round ratios ${ratios.map(percent).join(", ")} (spread ${percent(Math.min(...ratios))}–${percent(Math.max(...ratios))}); ` +
      `agent CPU per request ${cpuOn.toFixed(1)} µs with ACLs vs ${cpuOff.toFixed(1)} µs off (${percent(cpuOff / cpuOn)} of the work per request); ` +
      `p99 per round ACLs ${p99(rounds.ours)}, off ${p99(rounds.yardstick)}; ${count(completed(rounds.ours))} requests with ACLs, ${count(faults)} non-2xx/errors/timeouts`,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runAclBench();
  process.stdout.write(`\n${terminalTable(rows)}\n\n${rows.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  removeBenchTempDir();
}
