import { spawn } from "node:child_process";
import { CONSULATE_BIN, freePort, type AgentProcess } from "../../test/support/agent-process.ts";
import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode } from "../child-process.ts";
import type { FloodJob, FloodResult } from "./flood-worker.ts";
import { readRssBytes } from "../proc-stats.ts";
import { MB, RssSampler } from "./floods.ts";
import { KvWorkload, type WorkloadReport } from "./kv-workload.ts";
import { ServerGroup, trackChild, type Member } from "./servers.ts";
import { corruptMiddleRecord, newestSegment, tearTail, truncateToHalf } from "./wal-damage.ts";

// The fault-injection cases of issue 12. Each starts its own real agent processes on loopback,
// injects its faults, and reports what it saw; every failed expectation is a line in
// `failures`. A case written ahead of its fix says so in `pendingFix` (none today): the CI
// slice (--ci) leaves it out until the fix is merged, as it leaves out the slower cases
// (`inCiSlice`).

export interface ChaosOptions {
  short: boolean;
  /** Peak RSS growth (MB) over the baseline a flood may cause. */
  rssLimitMb: number;
  log(message: string): void;
}

export interface CaseOutcome {
  failures: string[];
  notes: string[];
  acknowledged: number;
  lost: number;
  peakRssMb?: number;
}

export interface ChaosCase {
  name: string;
  summary: string;
  /** In CI's slice (--ci), which must stay short (about a minute on 2 cores). */
  inCiSlice: boolean;
  /** The issue item whose fix this case needs; such cases stay out of --ci until it is merged. */
  pendingFix?: string;
  run(o: ChaosOptions): Promise<CaseOutcome>;
}

/** Raft timings as Consul recommends for production (raft_multiplier 1), so failovers take ~1 s, not 5. */
const FAST_RAFT = ["-hcl=performance { raft_multiplier = 1 }"];

function outcome(): CaseOutcome {
  return { failures: [], notes: [], acknowledged: 0, lost: 0 };
}

function record(out: CaseOutcome, report: WorkloadReport, o: ChaosOptions): void {
  out.acknowledged += report.acknowledged;
  out.lost += report.lost.length;
  const puts = report.history.filter((op) => op.input.op === "put").length;
  const gets = report.history.length - puts;
  out.notes.push(`${report.acknowledged} acknowledged writes, ${report.lost.length} lost, ${report.unknown} unknown; history ${puts} puts / ${gets} gets`);
  if (report.lost.length > 0) out.failures.push(`${report.lost.length} acknowledged writes lost (e.g. ${report.lost.slice(0, 3).join(", ")})`);
  if (report.linearizable === false) out.failures.push("the KV history of the real processes is not linearizable");
  if (report.linearizable === true) o.log("  linearizability: ok");
}

async function withGroup<T>(group: ServerGroup, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await group.destroy();
  }
}

/** The end of an agent's output, where the error that stopped it is. */
export function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(-count).join(" | ").slice(0, 600);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

type ClusterFault = "kill-leader" | "kill-follower" | "stop-leader" | "stop-follower";

async function injectClusterFault(group: ServerGroup, work: KvWorkload, fault: ClusterFault, o: ChaosOptions): Promise<void> {
  const leader = await group.waitForLeader(15_000);
  const victim: Member = fault.endsWith("leader") ? leader : (group.members.find((m) => m !== leader && m.proc !== undefined) as Member);
  const role = victim === leader ? "leader" : "follower";
  // Acknowledged writes to wait for after each step: proof the cluster took writes again.
  const step = o.short ? 10 : 20;
  const started = performance.now();
  if (fault.startsWith("kill")) {
    await group.kill9(victim);
    if (role === "leader") await group.waitForLeader(15_000, victim);
    await work.progress(step, 60_000);
    o.log(`  kill -9 ${role} ${victim.spec.name}: writes resumed after ${Math.round(performance.now() - started)} ms; restarting it`);
    await group.start(victim);
  } else {
    group.pause(victim);
    const pausedMs = o.short ? 2500 : 5000;
    if (role === "leader") await group.waitForLeader(15_000, victim);
    await work.progress(step, 60_000);
    const left = pausedMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    o.log(`  SIGSTOP ${role} ${victim.spec.name} for ${Math.round(performance.now() - started)} ms, then SIGCONT`);
    group.resume(victim);
  }
  await work.progress(step, 60_000);
}

const clusterFaults: ChaosCase = {
  name: "cluster-faults",
  inCiSlice: true,
  summary: "3 durable servers under concurrent KV writes: kill -9 and SIGSTOP/SIGCONT of leaders and followers",
  async run(o) {
    const out = outcome();
    const group = await ServerGroup.create("cluster", 3, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const work = new KvWorkload(() => group.running(), "chaos/cluster");
      work.start();
      await work.progress(30, 60_000);
      const round: ClusterFault[] = o.short ? ["kill-leader", "kill-follower", "stop-leader"] : ["kill-leader", "kill-follower", "stop-leader", "stop-follower"];
      const rounds = o.short ? 1 : 3;
      for (let r = 0; r < rounds; r++) for (const fault of round) await injectClusterFault(group, work, fault, o);
      await work.stop();
      await group.waitForLeader(15_000);
      record(out, await work.verify({ checkHistory: true }), o);
      return out;
    });
  },
};

const singleKill: ChaosCase = {
  name: "single-kill9",
  inCiSlice: true,
  summary: "one durable server killed -9 and restarted under concurrent KV writes",
  async run(o) {
    const out = outcome();
    const group = await ServerGroup.create("single", 1, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const work = new KvWorkload(() => group.running(), "chaos/single", { writers: 4, registerClients: 2 });
      work.start();
      const kills = o.short ? 2 : 10;
      for (let k = 0; k < kills; k++) {
        await work.progress(o.short ? 40 : 300, 60_000);
        await group.kill9(group.members[0]);
        await sleep(100);
        await group.start(group.members[0]);
        await group.waitForLeader(15_000);
      }
      await work.progress(50, 60_000);
      await work.stop();
      o.log(`  ${kills} kill -9 / restart cycles`);
      record(out, await work.verify({ checkHistory: true }), o);
      return out;
    });
  },
};

// ---------------------------------------------------------------------------------------------

/** One server with some acknowledged writes, then killed -9: the data dir is ready to damage. */
async function writeThenKill(label: string, writes: number, quietMsBeforeKill = 0): Promise<{ group: ServerGroup; work: KvWorkload }> {
  const group = await ServerGroup.create(label, 1, FAST_RAFT);
  await group.startAll();
  const work = new KvWorkload(() => group.running(), `chaos/${label}`, { writers: 2, registerClients: 0 });
  work.start();
  await work.progress(writes, 60_000);
  await work.stop();
  if (quietMsBeforeKill > 0) await sleep(quietMsBeforeKill);
  await group.kill9(group.members[0]);
  return { group, work };
}

/** Starts the damaged server; "refused" with its output when it exits instead of serving. */
async function restartDamaged(group: ServerGroup): Promise<{ kind: "started"; proc: AgentProcess } | { kind: "refused"; output: string }> {
  try {
    const proc = await group.start(group.members[0]);
    await group.waitForLeader(15_000);
    return { kind: "started", proc };
  } catch (err) {
    return { kind: "refused", output: err instanceof Error ? err.message : String(err) };
  }
}

const walTornTail: ChaosCase = {
  name: "wal-torn-tail",
  inCiSlice: true,
  summary: "a record torn mid-write at the end of the newest WAL segment: start with a WARN naming its size, nothing acknowledged lost",
  async run(o) {
    const out = outcome();
    const { group, work } = await writeThenKill("torn", 200);
    return withGroup(group, async () => {
      const torn = await tearTail(await newestSegment(group.members[0].spec.dataDir));
      o.log(`  appended a ${torn}-byte torn record`);
      const restarted = await restartDamaged(group);
      if (restarted.kind === "refused") {
        out.failures.push(`refused to start over a torn tail: ${lastLines(restarted.output)}`);
        return out;
      }
      const warned = restarted.proc.output().split("\n").some((l) => /\[WARN\]/.test(l) && /torn/i.test(l) && new RegExp(`\\b${torn}\\b`).test(l));
      if (!warned) out.failures.push(`started, but logged no WARN about the ${torn}-byte torn tail`);
      record(out, await work.verify({ checkHistory: false }), o);
      return out;
    });
  },
};

const walTruncated: ChaosCase = {
  name: "wal-truncated",
  inCiSlice: true,
  summary: "the newest WAL segment cut to half its size: refuse to start, saying acknowledged entries are missing",
  async run(o) {
    const out = outcome();
    // The commit index reaches the hardstate file at most once a second (the WAL's own commit
    // records go with a cut tail), so the server can only know what it acknowledged up to its
    // last checkpoint: let one happen before the crash. A cut within the last second of
    // writes is indistinguishable from a torn tail, as in etcd, whose HardState lives in the WAL.
    const { group, work } = await writeThenKill("truncated", 300, 2500);
    return withGroup(group, async () => {
      const cut = await truncateToHalf(await newestSegment(group.members[0].spec.dataDir));
      o.log(`  cut ${cut} bytes off the newest segment`);
      const restarted = await restartDamaged(group);
      if (restarted.kind === "refused") {
        if (!/acknowledged|missing/i.test(restarted.output)) out.failures.push(`refused to start, but without saying acknowledged entries are missing: ${lastLines(restarted.output)}`);
        else out.notes.push("refused to start: acknowledged entries missing");
        out.acknowledged = work.acknowledged;
        return out;
      }
      const report = await work.verify({ checkHistory: false });
      out.failures.push(`started on a truncated log (${report.lost.length} of ${report.acknowledged} acknowledged writes gone)`);
      out.acknowledged = report.acknowledged;
      out.lost = report.lost.length;
      return out;
    });
  },
};

const walCorrupt: ChaosCase = {
  name: "wal-corrupt-middle",
  inCiSlice: true,
  summary: "one record in the middle of the newest WAL segment corrupted: refuse to start, naming the file and offset",
  async run(o) {
    const out = outcome();
    const { group, work } = await writeThenKill("corrupt", 200);
    return withGroup(group, async () => {
      const segment = await newestSegment(group.members[0].spec.dataDir);
      const at = await corruptMiddleRecord(segment);
      o.log(`  corrupted the record at byte ${at}`);
      const restarted = await restartDamaged(group);
      out.acknowledged = work.acknowledged;
      if (restarted.kind === "started") {
        const report = await work.verify({ checkHistory: false });
        out.lost = report.lost.length;
        out.failures.push(`started over a corrupted record (${report.lost.length} acknowledged writes gone)`);
      } else if (!restarted.output.includes(segment.split("/").pop() as string) || !restarted.output.includes(String(at))) {
        out.failures.push(`refused, but without naming the segment and offset: ${lastLines(restarted.output)}`);
      } else {
        out.notes.push("refused to start, naming the segment and offset");
      }
      return out;
    });
  },
};

// ---------------------------------------------------------------------------------------------

const secondAgent: ChaosCase = {
  name: "second-agent-same-data-dir",
  inCiSlice: true,
  summary: "a second agent on a running server's -data-dir: exit 1 naming the dir and the holder's PID; the first keeps every write",
  async run(o) {
    const out = outcome();
    const group = await ServerGroup.create("lock", 1, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const first = group.members[0];
      const work = new KvWorkload(() => group.running(), "chaos/lock", { writers: 2, registerClients: 2 });
      work.start();
      await work.progress(50, 60_000);
      const args = group.argsOf(first).map((a) =>
        a.startsWith("-http-port=") || a.startsWith("-server-port=") || a.startsWith("-serf-lan-port=") ? a.replace(/=\d+$/, "=__PORT__") : a,
      );
      const ports = [await freePort(), await freePort(), await freePort()];
      const secondArgs = args.map((a) => (a.includes("__PORT__") ? a.replace("__PORT__", String(ports.shift())) : a)).map((a) => (a.startsWith("-node=") ? `${a}-second` : a));
      const second = spawn(process.execPath, [CONSULATE_BIN, "agent", ...secondArgs], { stdio: ["ignore", "pipe", "pipe"] });
      trackChild(second);
      let text = "";
      second.stdout.on("data", (d: Buffer) => (text += d.toString()));
      second.stderr.on("data", (d: Buffer) => (text += d.toString()));
      const code = await Promise.race([
        new Promise<number | null>((resolve) => second.once("exit", (c) => resolve(c))),
        sleep(10_000).then(() => "running" as const),
      ]);
      if (code === "running") {
        second.kill("SIGKILL");
        await new Promise((r) => second.once("exit", r));
        out.failures.push("the second agent kept running on the same data dir");
      } else {
        const pid = String(first.proc?.child.pid);
        if (code !== 1) out.failures.push(`the second agent exited ${code}, not 1`);
        if (!text.includes(first.spec.dataDir) || !text.includes(pid)) out.failures.push(`its error does not name the data dir and the holder's PID ${pid}: ${lastLines(text)}`);
      }
      await work.progress(20, 60_000);
      await work.stop();
      // The first server, restarted from its data dir, still holds every acknowledged write.
      await group.kill9(first);
      const restarted = await restartDamaged(group);
      if (restarted.kind === "refused") {
        out.failures.push(`the first server no longer starts from its data dir: ${lastLines(restarted.output)}`);
        out.acknowledged = work.acknowledged;
        out.lost = work.acknowledged;
        return out;
      }
      record(out, await work.verify({ checkHistory: true }), o);
      return out;
    });
  },
};

// ---------------------------------------------------------------------------------------------

interface FloodOptions {
  /** Peak RSS growth allowed, MB (default: the run's --rss-limit-mb). */
  rssLimitMb?: number;
  /**
   * Whether the workload's write rate must hold up (≥ a tenth of the quiet rate): true where
   * the flood does not compete with the writes for the HTTP server (DNS, idle blocking queries).
   */
  writesMustContinue: boolean;
}

/** Worst latency of /v1/status/leader, probed every `everyMs` until stop(): is the agent still responsive? */
function probeResponsiveness(base: string, everyMs = 250): { stop(): Promise<{ worstMs: number; failed: number }> } {
  let worstMs = 0;
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/v1/status/leader`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) failed++;
      } catch {
        failed++;
      }
      worstMs = Math.max(worstMs, performance.now() - t0);
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worstMs, failed };
    },
  };
}

const FLOOD_WORKER = fileURLToPath(new URL("./flood-worker.ts", import.meta.url));

function isFloodResult(m: unknown): m is FloodResult {
  return typeof m === "object" && m !== null && "floodResult" in m;
}

/** Runs one flood in its own process (bounded by the job's own limits, plus a generous timeout). */
async function floodInChild(job: FloodJob, timeoutMs: number): Promise<string> {
  const worker = spawnNode(FLOOD_WORKER, [], { label: `chaos-flood-${job.kind}`, ipc: true, viaTsx: true, raiseFdLimit: true });
  try {
    const answer = nextMessage(worker, isFloodResult, timeoutMs);
    worker.child.send(job);
    return (await answer).floodResult;
  } finally {
    await worker.stop();
  }
}

/** A single server with DNS on, writes running, its RSS and responsiveness sampled while `flood` runs. */
async function underFlood(
  label: string,
  o: ChaosOptions,
  flood: (server: AgentProcess, dnsPort: number) => Promise<string>,
  options: FloodOptions,
): Promise<CaseOutcome> {
  const out = outcome();
  const rssLimitMb = options.rssLimitMb ?? o.rssLimitMb;
  const dnsPort = await freePort();
  const group = await ServerGroup.create(label, 1, [...FAST_RAFT, `-dns-port=${dnsPort}`]);
  return withGroup(group, async () => {
    await group.startAll();
    const server = group.members[0].proc as AgentProcess;
    const pid = server.child.pid as number;
    const work = new KvWorkload(() => group.running(), `chaos/${label}`, { writers: 2, registerClients: 2 });
    work.start();
    await work.progress(o.short ? 50 : 100, 60_000);
    const baselineAt = performance.now();
    const baselineAcked = work.acknowledged;
    await sleep(1000);
    const baselineRate = ((work.acknowledged - baselineAcked) * 1000) / (performance.now() - baselineAt);
    const before = new RssSampler(pid).stop();
    const sampler = new RssSampler(pid);
    const probe = probeResponsiveness(server.base);
    const floodAt = performance.now();
    const floodAcked = work.acknowledged;
    const what = await flood(server, dnsPort);
    const floodRate = ((work.acknowledged - floodAcked) * 1000) / (performance.now() - floodAt);
    const responsiveness = await probe.stop();
    const peak = sampler.stop();
    const growthMb = (peak - before) / MB;
    out.peakRssMb = peak / MB;
    out.notes.push(
      `${what}; RSS ${Math.round(before / MB)} → peak ${Math.round(peak / MB)} MB; writes ${Math.round(baselineRate)}/s before, ${Math.round(floodRate)}/s during; ` +
        `/v1/status/leader worst ${Math.round(responsiveness.worstMs)} ms`,
    );
    if (growthMb > rssLimitMb) out.failures.push(`RSS grew by ${Math.round(growthMb)} MB under the flood (limit ${rssLimitMb} MB)`);
    if (options.writesMustContinue && floodRate < Math.max(1, baselineRate / 10)) {
      out.failures.push(`writes fell from ${Math.round(baselineRate)}/s to ${Math.round(floodRate)}/s under the flood`);
    }
    if (responsiveness.failed > 0 || responsiveness.worstMs > 2000) {
      out.failures.push(`/v1/status/leader unanswered ${responsiveness.failed} times, worst ${Math.round(responsiveness.worstMs)} ms, under the flood`);
    }
    await work.progress(20, 60_000);
    await work.stop();
    record(out, await work.verify({ checkHistory: true }), o);
    return out;
  });
}

const dnsFloodCase: ChaosCase = {
  name: "dns-flood",
  inCiSlice: true,
  summary: "crafted (13-byte, 65,535-record), garbage and real DNS datagrams from 4 loopback sources: RSS bounded, writes continue",
  run(o) {
    return underFlood(
      "dnsflood",
      o,
      async (_server, dnsPort) => {
        const durationMs = o.short ? 3000 : 20_000;
        const sources = ["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"];
        return floodInChild({ kind: "dns", options: { port: dnsPort, sources, durationMs, perSourcePerSecond: 5000, maxPackets: 500_000 } }, durationMs + 60_000);
      },
      { writesMustContinue: true },
    );
  },
};

const httpFloodCase: ChaosCase = {
  name: "http-flood",
  inCiSlice: true,
  summary: "many concurrent HTTP clients: 15 KB headers, over-limit KV values, malformed JSON, short blocking reads: RSS bounded, agent responsive",
  run(o) {
    return underFlood(
      "httpflood",
      o,
      async (server) => {
        const durationMs = o.short ? 3000 : 20_000;
        const connections = o.short ? 100 : 500;
        return floodInChild({ kind: "http", options: { base: server.base, connections, durationMs, maxRequests: 200_000 } }, durationMs + 60_000);
      },
      // The workload's writes are HTTP requests too, queued with the flood's: they get their
      // share of the HTTP server, not the rate of a quiet one. Responsiveness is what counts.
      { writesMustContinue: false },
    );
  },
};

const abandonedBlocking: ChaosCase = {
  name: "abandoned-blocking-queries",
  inCiSlice: false,
  summary: "blocking queries (?index=huge&wait=10m, 15 KB headers) whose clients hang up, in 3 waves: freed at once, RSS stops growing",
  async run(o) {
    const perWave = o.short ? 2000 : 15_000;
    const waves = 3;
    const rssAfterWave: number[] = [];
    const out = await underFlood(
      "blocking",
      o,
      async (server) => {
        const url = new URL(server.base);
        const pid = server.child.pid as number;
        let done = 0;
        for (let w = 0; w < waves; w++) {
          const what = await floodInChild({ kind: "abandon", options: { host: url.hostname, port: Number(url.port), count: perWave, concurrency: 100, hangUpAfterMs: 30 } }, 300_000);
          done += Number(/^\d+/.exec(what)?.[0] ?? 0);
          await sleep(1000);
          rssAfterWave.push(readRssBytes(pid));
        }
        return `${done} blocking queries abandoned in ${waves} waves (RSS after each: ${rssAfterWave.map((b) => Math.round(b / MB)).join(", ")} MB)`;
      },
      { writesMustContinue: true },
    );
    // A waiter kept per abandoned query (~15 KB of request each) grows RSS with every wave;
    // freed ones leave the heap to be reused. Allow 4 KB per query of the later waves, plus slack.
    const laterGrowthMb = (rssAfterWave[waves - 1] - rssAfterWave[0]) / MB;
    const allowedMb = 16 + ((waves - 1) * perWave * 4096) / MB;
    if (laterGrowthMb > allowedMb) out.failures.push(`RSS kept growing: +${Math.round(laterGrowthMb)} MB over waves 2-${waves} (allowed ${Math.round(allowedMb)} MB)`);
    return out;
  },
};

// ---------------------------------------------------------------------------------------------

interface CounterWriter {
  /** Highest value acknowledged so far (0 before the first). */
  acked(): number;
  /** When value n was acknowledged (driver's monotonic clock). */
  ackedAt(n: number): number | undefined;
  stop(): Promise<void>;
}

/** Writes 1, 2, 3… to one key, one at a time, through whichever server answers. */
function counterWriter(group: ServerGroup, key: string): CounterWriter {
  const ackTimes = new Map<number, number>();
  let last = 0;
  let running = true;
  const loop = (async () => {
    for (let n = 1, turn = 0; running; turn++) {
      const pool = group.running();
      if (pool.length === 0) {
        await sleep(50);
        continue;
      }
      try {
        const res = await fetch(`${pool[turn % pool.length].base}/v1/kv/${key}`, { method: "PUT", body: String(n), signal: AbortSignal.timeout(3000) });
        if (res.status === 200 && (await res.text()).trim() === "true") {
          ackTimes.set(n, performance.now());
          last = n;
          n++;
          continue;
        }
      } catch {
        // retry elsewhere
      }
      await sleep(50);
    }
  })();
  return {
    acked: () => last,
    ackedAt: (n) => ackTimes.get(n),
    async stop() {
      running = false;
      await loop;
    },
  };
}

const pausedLeader: ChaosCase = {
  name: "paused-leader-reads",
  inCiSlice: false,
  summary: "a leader SIGSTOPped past its lease, then SIGCONT: ?stale must not claim a known leader with fresh LastContact, default reads never stale",
  async run(o) {
    const out = outcome();
    const group = await ServerGroup.create("paused", 3, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const key = "chaos/paused/counter";
      const writer = counterWriter(group, key);
      const rounds = o.short ? 1 : 3;
      try {
        for (let r = 0; r < rounds; r++) {
          const start = writer.acked();
          while (writer.acked() < start + 30) await sleep(20);
          const leader = await group.waitForLeader(15_000);
          group.pause(leader);
          const pausedAt = performance.now();
          await group.waitForLeader(15_000, leader);
          const before = writer.acked();
          while (writer.acked() < before + 50) await sleep(20);
          // Paused well past the lease and the election, as the probe's 10 s SIGSTOP was.
          const pauseMs = o.short ? 5000 : 10_000;
          const left = pauseMs - (performance.now() - pausedAt);
          if (left > 0) await sleep(left);
          const proc = leader.proc as AgentProcess;
          const lastAcked = writer.acked();
          group.resume(leader);
          // At once, as the probe did (18 ms after SIGCONT).
          const stale = await fetch(`${proc.base}/v1/kv/${key}?stale&raw`, { signal: AbortSignal.timeout(5000) });
          const readAt = performance.now();
          const value = Number(await stale.text());
          const knownLeader = stale.headers.get("X-Consul-KnownLeader");
          const lastContact = Number(stale.headers.get("X-Consul-LastContact"));
          // The data is at least as old as the first write it does not show.
          const missedAt = writer.ackedAt(value + 1);
          const ageMs = missedAt === undefined ? 0 : readAt - missedAt;
          out.notes.push(`?stale on the resumed leader: value ${value} of ${lastAcked} acknowledged, data ≥ ${Math.round(ageMs)} ms old, KnownLeader ${knownLeader}, LastContact ${lastContact}`);
          if (knownLeader === "true" && ageMs > lastContact + 1000) {
            out.failures.push(`the resumed leader served data ${Math.round(ageMs)} ms old reporting KnownLeader true and LastContact ${lastContact}`);
          }
          const fresh = await fetch(`${proc.base}/v1/kv/${key}?raw`, { signal: AbortSignal.timeout(10_000) });
          const freshValue = fresh.status === 200 ? Number(await fresh.text()) : NaN;
          if (fresh.status === 200 && freshValue < lastAcked) out.failures.push(`a default-mode read answered ${freshValue} after ${lastAcked} was acknowledged`);
          await group.waitForLeader(15_000);
        }
      } finally {
        await writer.stop();
      }
      return out;
    });
  },
};

const hugeRequest: ChaosCase = {
  name: "huge-request",
  inCiSlice: false,
  summary: "an 8 MB PUT /v1/catalog/register (100,000 checks) to the leader: every server keeps answering within 2 s, writes continue",
  async run(o) {
    const out = outcome();
    const group = await ServerGroup.create("huge", 3, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const work = new KvWorkload(() => group.running(), "chaos/huge", { writers: 2, registerClients: 2 });
      work.start();
      await work.progress(30, 60_000);
      const leader = await group.waitForLeader(15_000);
      const checks = Array.from({ length: 100_000 }, (_, i) => ({ CheckID: `check-${i}`, Name: `check ${i}`, Status: "passing", Notes: "chaos" }));
      const body = JSON.stringify({ Node: "huge-node", Address: "10.9.9.9", Checks: checks });
      const probes = group.members.map((m) => probeResponsiveness((m.proc as AgentProcess).base, 100));
      const acked = work.acknowledged;
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(`${(leader.proc as AgentProcess).base}/v1/catalog/register`, { method: "PUT", body, signal: AbortSignal.timeout(60_000) });
        status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        out.failures.push(`the ${Math.round(body.length / MB)} MB request failed: ${String(err)}`);
      }
      const tookMs = performance.now() - t0;
      await sleep(2000);
      const results = await Promise.all(probes.map((p) => p.stop()));
      out.notes.push(`${(body.length / MB).toFixed(1)} MB register answered ${status} in ${Math.round(tookMs)} ms; ${work.acknowledged - acked} writes meanwhile`);
      if (status >= 500) out.failures.push(`the ${(body.length / MB).toFixed(1)} MB register answered ${status}: a request too large must get a clear 4xx`);
      results.forEach((r, i) => {
        if (r.failed > 0 || r.worstMs > 2000) out.failures.push(`${group.members[i].spec.name} left /v1/status/leader unanswered ${r.failed} times, worst ${Math.round(r.worstMs)} ms`);
      });
      await work.progress(20, 60_000);
      await work.stop();
      record(out, await work.verify({ checkHistory: true }), o);
      return out;
    });
  },
};

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

const deepJson: ChaosCase = {
  name: "deep-json",
  inCiSlice: false,
  summary: "registrations nested 5,000 and 100,000 levels deep: 400, nothing stored, the agent's own state intact across a restart",
  async run() {
    const out = outcome();
    const group = await ServerGroup.create("deep", 1, FAST_RAFT);
    return withGroup(group, async () => {
      await group.startAll();
      const base = () => (group.members[0].proc as AgentProcess).base;
      const ok = await fetch(`${base()}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "kept", Port: 80 }) });
      if (ok.status !== 200) out.failures.push(`a plain registration answered ${ok.status}`);
      const deep = await fetch(`${base()}/v1/agent/service/register`, { method: "PUT", body: `{"Name":"deep","Port":1,"Proxy":{"Config":${nested(5000)}}}` });
      if (deep.status !== 400) out.failures.push(`5,000 levels in Proxy.Config answered ${deep.status}, not 400`);
      const deeper = await fetch(`${base()}/v1/catalog/register`, { method: "PUT", body: `{"Node":"deep","Address":"10.0.0.1","NodeMeta":${nested(100_000)}}` });
      // 400 (too deep) or 413 (the body is over the endpoint's cap): a clear refusal, never a 500.
      if (deeper.status !== 400 && deeper.status !== 413) out.failures.push(`100,000 levels in /v1/catalog/register answered ${deeper.status}, not 400 or 413`);
      const services = async (): Promise<string[]> => {
        const res = await fetch(`${base()}/v1/agent/services`);
        if (res.status !== 200) throw new Error(`/v1/agent/services answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        return Object.keys((await res.json()) as Record<string, unknown>);
      };
      try {
        const now = await services();
        if (!now.includes("kept")) out.failures.push("the plain registration is missing");
        await group.kill9(group.members[0]);
        await group.start(group.members[0]);
        await group.waitForLeader(15_000);
        const after = await services();
        if (!after.includes("kept")) out.failures.push("the plain registration is gone after a restart");
        if (after.includes("deep")) out.failures.push("the deep registration was stored");
      } catch (err) {
        out.failures.push(String(err instanceof Error ? err.message : err));
      }
      return out;
    });
  },
};

export const CASES: readonly ChaosCase[] = [
  clusterFaults,
  singleKill,
  walTornTail,
  walTruncated,
  walCorrupt,
  secondAgent,
  dnsFloodCase,
  httpFloodCase,
  abandonedBlocking,
  pausedLeader,
  hugeRequest,
  deepJson,
];
