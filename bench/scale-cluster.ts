import { mkdtempSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nextMessage, spawnNode } from "./child-process.ts";
import { startConsulate, type Deployment } from "./etcd-deployments.ts";
import { count, mb } from "./format.ts";
import { httpCall } from "./http-call.ts";
import type { ResultRow } from "./report.ts";
import type { ScaleLoopDone, ScaleLoopJob, ScaleRegisterDone, ScaleRegisterJob } from "./scale-jobs.ts";

// Issue 17's cluster case: 3 durable servers holding a large catalog, heavy readers looping at
// the leader, one writer at c=1. Reported: whether the leader held (no election), and the
// writer's rate and p99 with the readers against the same writer alone just before. Then a
// follower is wiped and restarted under its node id: how long it takes to catch up (by
// InstallSnapshot, the log being compacted), whether any term moved, and the writer and a
// small-read probe at the leader during the catch-up against just before.

export interface ScaleClusterOptions {
  nodes: number;
  servicesPerNode: number;
  readers: number;
  phaseSeconds: number;
  /** Also wipe a follower and time its catch-up (C3, C4); off for a C2-only A/B. */
  catchUp?: boolean;
}

export const DEFAULT_SCALE_CLUSTER: ScaleClusterOptions = { nodes: 3_000, servicesPerNode: 17, readers: 8, phaseSeconds: 20 };

const WORKER = fileURLToPath(new URL("./scale-client-worker.ts", import.meta.url));
const CLUSTER_BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;
const LEADER_POLL_MS = 250;

const isMessage =
  <T>(kind: string) =>
  (m: unknown): m is T =>
    typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === kind;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface WriterOutcome {
  writes: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

/** KV PUTs at the leader, one at a time, for `seconds`. */
function writeAtC1(leaderBase: string, seconds: number): Promise<WriterOutcome> {
  const until = performance.now() + seconds * 1000;
  return writeAtC1While(leaderBase, () => performance.now() < until);
}

/** KV PUTs at the leader, one at a time, while `going()` says so. */
async function writeAtC1While(leaderBase: string, going: () => boolean): Promise<WriterOutcome> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  for (let i = 0; going(); i++) {
    const t = performance.now();
    const status = await new Promise<number>((resolve) => {
      const req = request(`${leaderBase}/v1/kv/bench/scale-writer/${i % 100}`, { method: "PUT", agent }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      });
      req.once("error", () => resolve(0));
      req.end(`value-${i}`);
    });
    if (status === 200) latencies.push(performance.now() - t);
    else failures++;
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { writes: latencies.length, perSecond: latencies.length / ((performance.now() - started) / 1000), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), failures };
}

/** Polls every member's view of the leader; counts the polls where they disagreed, had none, or it changed. */
function watchLeader(bases: string[], expected: string): { stop(): Promise<{ polls: number; lost: number; firstLoss: string }> } {
  let running = true;
  let polls = 0;
  let lost = 0;
  let firstLoss = "";
  const loop = (async () => {
    while (running) {
      const seen = await Promise.all(
        bases.map((b) =>
          httpCall(`${b}/v1/status/leader?stale`, "GET", undefined, 5000).then(
            (r) => (r.status === 200 ? (JSON.parse(r.body) as string) : `HTTP ${r.status}`),
            (err: unknown) => `error ${err instanceof Error ? err.message : String(err)}`,
          ),
        ),
      );
      polls++;
      const bad = seen.find((l) => l !== expected);
      if (bad !== undefined) {
        lost++;
        firstLoss ||= `a member saw leader ${JSON.stringify(bad)} instead of ${expected}`;
      }
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, lost, firstLoss };
    },
  };
}

/** What /v1/agent/self reports of a server's Raft state. */
interface RaftView {
  term: number;
  state: string;
  applied: number;
  snapshotIndex: number;
}

async function raftView(base: string): Promise<RaftView> {
  const res = await httpCall(`${base}/v1/agent/self`, "GET", undefined, 5000);
  if (res.status !== 200) throw new Error(`${base}/v1/agent/self: ${res.status}`);
  const raft = (JSON.parse(res.body) as { Stats: { raft: Record<string, string> } }).Stats.raft;
  return { term: Number(raft.term), state: raft.state, applied: Number(raft.applied_index), snapshotIndex: Number(raft.last_snapshot_index) };
}

/** A gauge or a sample's mean from /v1/agent/metrics (NaN when absent). */
async function metricValue(base: string, name: string): Promise<{ value: number; count: number }> {
  const res = await httpCall(`${base}/v1/agent/metrics`, "GET", undefined, 5000);
  const m = JSON.parse(res.body) as { Gauges: { Name: string; Value: number }[]; Samples: { Name: string; Count: number; Mean: number }[] };
  const gauge = m.Gauges.find((g) => g.Name === name);
  if (gauge) return { value: gauge.Value, count: 1 };
  const sample = m.Samples.find((g) => g.Name === name);
  return sample ? { value: sample.Mean, count: sample.Count } : { value: NaN, count: 0 };
}

const SMALL_READ_PROBE_MS = 20;

/**
 * GET /v1/status/leader at `base` every SMALL_READ_PROBE_MS while `going()`: each answer's time
 * is the server's event-loop delay plus a loopback round trip, so a stalled loop (a snapshot
 * sent or encoded in one piece) shows as a long answer.
 */
async function probeSmallReads(base: string, going: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (going()) {
    const t = performance.now();
    const res = await httpCall(`${base}/v1/status/leader`, "GET", undefined, 10_000).catch(() => undefined);
    if (res?.status === 200) latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, SMALL_READ_PROBE_MS));
  }
  return latencies.sort((a, b) => a - b);
}

const CATCH_UP_DEADLINE_MS = 10 * 60_000;
const CATCH_UP_BASELINE_SECONDS = 8;

interface CatchUpOutcome {
  restartMs: number;
  snapshotSeenMs: number;
  caughtUpMs: number;
  /** The follower's InstallSnapshot time (persist + restore) and how many it did, from its metrics. */
  installMs: number;
  installs: number;
  before: WriterOutcome;
  during: WriterOutcome;
  probesBefore: number[];
  probesDuring: number[];
  leaderLoopDelayMaxMs: number;
  termsBefore: number[];
  termsAfter: number[];
  leader: { polls: number; lost: number; firstLoss: string };
  followerApplied: number;
  followerSnapshotIndex: number;
}

/**
 * Wipes a follower and restarts it under its node id (disk replacement), with the writer
 * running and small reads probing the leader; measures until the follower has applied what
 * the leader had. A baseline of the same writer and probe runs just before.
 */
async function catchUpBySnapshot(cluster: Deployment, bases: string[], leaderName: string, log: (m: string) => void): Promise<CatchUpOutcome> {
  const leaderAt = cluster.leaderAt;
  const victimAt = bases.findIndex((_, at) => at !== leaderAt);
  const victim = cluster.members[victimAt];
  if (!victim.restartEmpty) throw new Error("this deployment cannot restart a member empty");
  const leaderBase = bases[leaderAt];
  const stayers = bases.filter((_, at) => at !== victimAt);

  let baseline = true;
  const baselineProbe = probeSmallReads(leaderBase, () => baseline);
  const before = await writeAtC1(leaderBase, CATCH_UP_BASELINE_SECONDS);
  baseline = false;
  const probesBefore = await baselineProbe;

  const termsBefore = await Promise.all(bases.map(async (b) => (await raftView(b)).term));
  log(`scale cluster: wiping and restarting follower ${victimAt + 1}`);
  const watch = watchLeader(stayers, leaderName);
  let going = true;
  const probing = probeSmallReads(leaderBase, () => going);
  const writing = writeAtC1While(leaderBase, () => going);
  const started = performance.now();
  let restartMs = NaN;
  let snapshotSeenMs = NaN;
  let caughtUpMs = NaN;
  let last: RaftView | undefined;
  try {
    await victim.restartEmpty();
    restartMs = performance.now() - started;
    for (;;) {
      const leaderApplied = (await raftView(leaderBase)).applied;
      last = await raftView(bases[victimAt]).catch(() => undefined);
      const now = performance.now() - started;
      if (last && last.snapshotIndex > 0 && Number.isNaN(snapshotSeenMs)) snapshotSeenMs = now;
      if (last && last.applied >= leaderApplied) {
        caughtUpMs = now;
        break;
      }
      if (now > CATCH_UP_DEADLINE_MS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    going = false;
  }
  const during = await writing;
  const probesDuring = await probing;
  const leader = await watch.stop();
  const termsAfter = await Promise.all(bases.map(async (b) => (await raftView(b)).term));
  // /v1/agent/metrics shows the last whole 10 s interval: wait until it is the install's.
  let install = { value: NaN, count: 0 };
  for (let waited = 0; install.count === 0 && waited <= 12_000; waited += 1000) {
    install = await metricValue(bases[victimAt], "consul.raft.rpc.installSnapshot").catch(() => ({ value: NaN, count: 0 }));
    if (install.count === 0) await new Promise((r) => setTimeout(r, 1000));
  }
  const loopDelay = await metricValue(leaderBase, "consul.runtime.event_loop_delay_max_ms");
  return {
    restartMs,
    snapshotSeenMs,
    caughtUpMs,
    installMs: install.value,
    installs: install.count,
    before,
    during,
    probesBefore,
    probesDuring,
    leaderLoopDelayMaxMs: loopDelay.value,
    termsBefore,
    termsAfter,
    leader,
    followerApplied: last?.applied ?? 0,
    followerSnapshotIndex: last?.snapshotIndex ?? 0,
  };
}

/** `nodeFlags`: Node flags for the servers (`--cpu-prof-dir` profiles them; a profile is written when a server stops). */
export async function runScaleClusterBench(options: Partial<ScaleClusterOptions> = {}, log: (m: string) => void = () => {}, nodeFlags: readonly string[] = []): Promise<ResultRow[]> {
  const o = { ...DEFAULT_SCALE_CLUSTER, ...options };
  const instances = o.nodes * o.servicesPerNode;
  const dataRoot = mkdtempSync(join(tmpdir(), "consulate-bench-scale-"));
  const worker = spawnNode(WORKER, [], { label: "scale-cluster-client", ipc: true, viaTsx: true });
  try {
    log("scale cluster: starting 3 durable servers");
    const cluster = await startConsulate(CLUSTER_BINDS, dataRoot, [], nodeFlags);
    try {
      const leaderBase = new URL(cluster.put.url).origin;
      const bases = cluster.members.map((m) => new URL(m.write(0).url).origin);
      const leaderName = JSON.parse((await httpCall(`${leaderBase}/v1/status/leader`)).body) as string;

      log(`scale cluster: registering ${count(instances)} instances at the leader`);
      const registered = nextMessage(worker, isMessage<ScaleRegisterDone>("registered"), 30 * 60_000);
      const job: ScaleRegisterJob = { kind: "register", base: leaderBase, nodes: o.nodes, servicesPerNode: o.servicesPerNode, concurrency: 32 };
      worker.child.send(job);
      const reg = await registered;
      if (reg.failures > 0) throw new Error(`${reg.failures} registrations failed: ${reg.firstFailure}`);

      log(`scale cluster: writer alone for ${o.phaseSeconds} s`);
      const alone = await writeAtC1(leaderBase, o.phaseSeconds);

      log(`scale cluster: writer with ${o.readers} heavy readers for ${o.phaseSeconds} s`);
      const termsBeforeReads = await Promise.all(bases.map(async (b) => (await raftView(b)).term));
      const watch = watchLeader(bases, leaderName);
      const loopJob: ScaleLoopJob = {
        kind: "loop",
        base: leaderBase,
        paths: ["/v1/catalog/services", "/v1/health/service/svc-0", "/v1/catalog/service/svc-1"],
        clients: o.readers,
        seconds: o.phaseSeconds,
      };
      const looped = nextMessage(worker, isMessage<ScaleLoopDone>("looped"), o.phaseSeconds * 1000 + 120_000);
      worker.child.send(loopJob);
      const loaded = await writeAtC1(leaderBase, o.phaseSeconds);
      const reads = await looped;
      const leader = await watch.stop();
      const termsAfterReads = await Promise.all(bases.map(async (b) => (await raftView(b)).term));
      const termsHeld = termsAfterReads.every((t, i) => t === termsBeforeReads[i]);

      const size = `${count(instances)} instances, 3 servers`;
      const ratio = loaded.perSecond / alone.perSecond;
      const readSorted = [...reads.latenciesMs].sort((a, b) => a - b);
      const detail =
        `${count(reg.instances)} registered at the leader in ${reg.seconds.toFixed(1)} s (${count(Math.round(reg.instances / reg.seconds))}/s); ` +
        `writer alone ${alone.perSecond.toFixed(0)} PUT/s, p50 ${alone.p50Ms.toFixed(1)} ms, p99 ${alone.p99Ms.toFixed(1)} ms; ` +
        `with readers ${loaded.perSecond.toFixed(0)} PUT/s, p50 ${loaded.p50Ms.toFixed(1)} ms, p99 ${loaded.p99Ms.toFixed(1)} ms, ${loaded.failures + alone.failures} failed; ` +
        `${o.readers} readers: ${count(reads.requests)} reads, p50 ${percentile(readSorted, 50).toFixed(0)} ms, p99 ${percentile(readSorted, 99).toFixed(0)} ms, ${mb(reads.bytes)}, ${reads.failures} failures; ` +
        `Raft terms before ${termsBeforeReads.join("/")}, after ${termsAfterReads.join("/")}; ` +
        `leader polled ${leader.polls} times on every server: ${leader.lost === 0 ? "always the same" : `${leader.lost} polls off (${leader.firstLoss})`}`;
      const c2: ResultRow = {
        name: `C2. writer at c=1 with the readers vs alone (${size})`,
        agent: `${loaded.perSecond.toFixed(0)} PUT/s, p99 ${loaded.p99Ms.toFixed(0)} ms`,
        bare: `alone ${alone.perSecond.toFixed(0)} PUT/s`,
        ratio: `${(ratio * 100).toFixed(0)} %`,
        target: "≥ 50 %, p99 ≤ 100 ms",
        pass: ratio >= 0.5 && loaded.p99Ms <= 100 && loaded.failures === 0,
        detail,
      };
      if (o.catchUp === false) return [c2];
      log("scale cluster: follower catch-up by snapshot install");
      const c = await catchUpBySnapshot(cluster, bases, leaderName, log);
      const ms = (v: number): string => (Number.isNaN(v) ? "—" : `${(v / 1000).toFixed(1)} s`);
      const noElection = c.termsAfter.every((t) => t === c.termsBefore[cluster.leaderAt]) && c.leader.lost === 0;
      const caughtUp = !Number.isNaN(c.caughtUpMs);
      const catchUpDetail =
        `follower restarted (process answering) in ${ms(c.restartMs)}, snapshot installed by ${ms(c.snapshotSeenMs)}, caught up at ${ms(c.caughtUpMs)} ` +
        `(applied ${count(c.followerApplied)}, snapshot at ${count(c.followerSnapshotIndex)}; its InstallSnapshot: ${c.installs} × ${Number.isNaN(c.installMs) ? "—" : `${c.installMs.toFixed(0)} ms`} persist + restore); ` +
        `terms before ${c.termsBefore.join("/")}, after ${c.termsAfter.join("/")}; leader polled ${c.leader.polls} times on the other two: ${c.leader.lost === 0 ? "always the same" : `${c.leader.lost} polls off (${c.leader.firstLoss})`}; ` +
        `writer before ${c.before.perSecond.toFixed(0)} PUT/s p99 ${c.before.p99Ms.toFixed(1)} ms, during ${c.during.perSecond.toFixed(0)} PUT/s p99 ${c.during.p99Ms.toFixed(1)} ms, ${c.during.failures} failed; ` +
        `GET /v1/status/leader at the leader every ${SMALL_READ_PROBE_MS} ms: before p99 ${percentile(c.probesBefore, 99).toFixed(1)} max ${percentile(c.probesBefore, 100).toFixed(1)} ms, ` +
        `during p99 ${percentile(c.probesDuring, 99).toFixed(1)} max ${percentile(c.probesDuring, 100).toFixed(1)} ms (${c.probesDuring.length} probes); ` +
        `leader event_loop_delay_max_ms gauge after: ${Number.isNaN(c.leaderLoopDelayMaxMs) ? "—" : c.leaderLoopDelayMaxMs.toFixed(0)}`;
      const catchUpRatio = c.during.perSecond / c.before.perSecond;
      return [
        {
          name: `C1. no election while ${o.readers} clients loop on heavy reads (${size})`,
          agent: !termsHeld ? "election (term moved)" : leader.lost === 0 ? "held" : `term held, ${leader.lost} polls without the leader`,
          bare: "—",
          ratio: "—",
          target: "no election",
          pass: termsHeld && leader.lost === 0,
          detail,
        },
        c2,
        {
          name: `C3. follower wiped and restarted catches up by snapshot, no election (${size})`,
          agent: caughtUp ? `caught up in ${ms(c.caughtUpMs)}` : "not caught up",
          bare: "—",
          ratio: "—",
          target: "snapshot install, no election",
          pass: caughtUp && noElection && c.followerSnapshotIndex > 0,
          detail: catchUpDetail,
        },
        {
          name: `C4. writer at c=1 during that catch-up vs just before (${size})`,
          agent: `${c.during.perSecond.toFixed(0)} PUT/s, p99 ${c.during.p99Ms.toFixed(0)} ms`,
          bare: `before ${c.before.perSecond.toFixed(0)} PUT/s, p99 ${c.before.p99Ms.toFixed(0)} ms`,
          ratio: `${(catchUpRatio * 100).toFixed(0)} %`,
          target: "writes keep flowing (0 failed)",
          pass: c.during.failures === 0 && c.during.writes > 0,
          detail: catchUpDetail,
        },
      ];
    } finally {
      await cluster.stop();
    }
  } finally {
    await worker.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}
