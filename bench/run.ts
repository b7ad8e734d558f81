import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { removeBenchTempDir } from "./child-process.ts";
import { measureFanout, type FanoutOutcome } from "./fanout.ts";
import { count, mb, median, ms, times } from "./format.ts";
import { megabytes, readRssBytes } from "./proc-stats.ts";
import { describeMachine, terminalTable, writeBenchmarksFile, writeScaleSection, writeSuiteSection, type ResultRow } from "./report.ts";
import { withServer, type LaunchOptions, type ServerKind } from "./servers.ts";
import { runPreparedQueryBench } from "./prepared-query.ts";
import { measureThroughput, throughputRows } from "./throughput.ts";
import { runChecksBench } from "./checks.ts";
import { runDnsBench } from "./dns.ts";
import { RAFT_BENCH_TARGET_RATIO, runRaftBench, type RaftBenchRow } from "./raft.ts";
import { runEtcdBench } from "./etcd.ts";
import { runTlsBench } from "./tls.ts";
import { runAclBench } from "./acl.ts";
import { runMeshBench } from "./mesh.ts";
import { runScaleBench, scaleClusterOptionsFromArgs, scaleOptionsFromArgs } from "./scale.ts";
import { runScaleClusterBench } from "./scale-cluster.ts";
import { runWanBench } from "./wan.ts";
import { runConnectBench } from "./connect.ts";
import { LARGE_REQUEST_BUSY_NOTE, runLargeRequestBench } from "./large-request.ts";

// `npm run bench`: every case measured against its bare yardstick in the same run (a bare
// node:http server, a bare node:dgram DNS server, the disk's raw fsync rate), then printed and
// written into BENCHMARKS.md.
// Usage: tsx bench/run.ts [--suites http,dns,raft,checks,etcd,tls,scale,scale-cluster,wan,acl,mesh,connect,large-request] [--cpu-prof-dir <dir>]
//        [--scale-nodes N] [--scale-read-seconds S] [--scale-cluster-nodes N] [--scale-cluster-seconds S]
// The etcd suite needs Debian's etcd-server (installed on demand when root), and the scale
// suite takes minutes and ~1 GB, so they only run when asked for by name; so does the TLS
// suite and the WAN suite (two federated datacenters). TLS, scale and WAN results have their own
// sections in BENCHMARKS.md.

const DEFAULT_SUITES = ["http", "dns", "raft", "checks"] as const;
const ALL_SUITES = [...DEFAULT_SUITES, "etcd", "tls", "scale", "scale-cluster", "wan", "acl", "mesh", "connect", "query", "large-request"] as const;
type Suite = (typeof ALL_SUITES)[number];

function parseSuites(argv: string[]): Set<Suite> {
  const at = argv.indexOf("--suites");
  if (at < 0) return new Set(DEFAULT_SUITES);
  const wanted = (argv[at + 1] ?? "").split(",").filter(Boolean);
  for (const w of wanted) if (!(ALL_SUITES as readonly string[]).includes(w)) throw new Error(`unknown suite "${w}" (known: ${ALL_SUITES.join(", ")})`);
  return new Set(wanted as Suite[]);
}

function raftRows(rows: RaftBenchRow[]): ResultRow[] {
  return rows.map((r) => ({
    name: `R. Raft, 3 nodes on loopback + disk, ${r.proposers} proposers: committed entries/s`,
    agent: count(Math.round(r.committedPerSec)),
    bare: `${count(Math.round(r.fsyncPerSec))} fsync/s`,
    ratio: `${r.ratioToFsync.toFixed(1)}×`,
    target: r.proposers === 256 ? `≥ ${RAFT_BENCH_TARGET_RATIO}× fsync rate` : "—",
    pass: r.proposers !== 256 || r.ratioToFsync >= RAFT_BENCH_TARGET_RATIO,
    detail: `p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)}; leader fsyncs per entry ${r.leaderFsyncsPerEntry.toFixed(3)}`,
  }));
}

const STARTS = 5;
const IDLE_BEFORE_RSS_MS = 1000;
const FANOUT_WAITERS = 10_000;
const FANOUT_CLIENT_PROCESSES = 2;
const BUILD_SCRIPT = fileURLToPath(new URL("../scripts/build.mjs", import.meta.url));
const BENCHMARKS_FILE = fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url));

function parseArgs(argv: string[]): { agentLaunch: LaunchOptions } {
  const at = argv.indexOf("--cpu-prof-dir");
  if (at < 0) return { agentLaunch: {} };
  const dir = argv[at + 1];
  if (!dir) throw new Error("--cpu-prof-dir needs a directory");
  return { agentLaunch: { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`] } };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface StartSample {
  startupMs: number;
  idleRssBytes: number;
}

function measureStart(kind: ServerKind, options: LaunchOptions): Promise<StartSample> {
  return withServer(kind, options, async (server) => {
    await sleep(IDLE_BEFORE_RSS_MS);
    return { startupMs: server.startupMs, idleRssBytes: readRssBytes(server.proc.pid) };
  });
}

function startRows(agent: StartSample[], bare: StartSample[]): ResultRow[] {
  const agentStart = median(agent.map((s) => s.startupMs));
  const bareStart = median(bare.map((s) => s.startupMs));
  const agentRss = median(agent.map((s) => s.idleRssBytes));
  const bareRss = median(bare.map((s) => s.idleRssBytes));
  return [
    {
      name: "4. start → first 200 /v1/status/leader",
      agent: ms(agentStart),
      bare: ms(bareStart),
      ratio: times(agentStart, bareStart),
      target: "≤ 500 ms",
      pass: agentStart <= 500,
      detail: `median of ${STARTS}; agent ${agent.map((s) => ms(s.startupMs)).join(", ")}; bare ${bare.map((s) => ms(s.startupMs)).join(", ")}`,
    },
    {
      name: "5. idle RSS (1 s after start)",
      agent: mb(agentRss),
      bare: mb(bareRss),
      ratio: times(agentRss, bareRss),
      target: "≤ 80 MB",
      pass: megabytes(agentRss) <= 80,
      detail: `median of ${STARTS}; agent ${agent.map((s) => mb(s.idleRssBytes)).join(", ")}; bare ${bare.map((s) => mb(s.idleRssBytes)).join(", ")}`,
    },
  ];
}

function rssGrowth(o: FanoutOutcome): number {
  return Math.max(o.rssParkedBytes, o.rssAfterBytes) - o.rssBeforeBytes;
}

function fanoutFaults(o: FanoutOutcome): string {
  const faults = [
    o.answeredAfterWrite !== o.waiters && `${count(o.waiters - o.answeredAfterWrite)} not answered within 5 s of the write`,
    o.answeredEarly && `${count(o.answeredEarly)} answered before the write`,
    o.failures && `${count(o.failures)} connection failures (${o.firstFailure})`,
    o.non200 && `${count(o.non200)} non-200`,
    !o.settledBeforeWrite && "server still busy when the write was sent",
  ].filter(Boolean);
  return faults.length > 0 ? faults.join(", ") : "none";
}

function fanoutRows(agent: FanoutOutcome, bare: FanoutOutcome): ResultRow[] {
  const waiters = count(FANOUT_WAITERS);
  const allAnswered = agent.answeredAfterWrite === agent.waiters && agent.failures === 0 && agent.non200 === 0 && agent.answeredEarly === 0;
  return [
    {
      name: `6a. ${waiters} blocking queries: RSS growth`,
      agent: mb(rssGrowth(agent)),
      bare: mb(rssGrowth(bare)),
      ratio: times(rssGrowth(agent), rssGrowth(bare)),
      target: "≤ 200 MB",
      pass: megabytes(rssGrowth(agent)) <= 200,
      detail:
        `agent RSS ${mb(agent.rssBeforeBytes)} before → ${mb(agent.rssParkedBytes)} parked → ${mb(agent.rssAfterBytes)} answered; ` +
        `bare ${mb(bare.rssBeforeBytes)} → ${mb(bare.rssParkedBytes)} → ${mb(bare.rssAfterBytes)}`,
    },
    {
      name: `6b. ${waiters} blocking queries: last answer after the write`,
      agent: ms(agent.lastAnswerMs),
      bare: ms(bare.lastAnswerMs),
      ratio: times(agent.lastAnswerMs, bare.lastAnswerMs),
      target: "all ≤ 1,000 ms",
      pass: allAnswered && agent.lastAnswerMs <= 1000,
      detail:
        `median answer after ${ms(agent.p50AnswerMs)} (bare ${ms(bare.p50AnswerMs)}); ${count(agent.answeredAfterWrite)}/${waiters} answered; ` +
        `server CPU after the write ${ms(agent.serverCpuAfterWriteMs)} (bare ${ms(bare.serverCpuAfterWriteMs)}); ` +
        `agent faults: ${fanoutFaults(agent)}; bare faults: ${fanoutFaults(bare)}`,
    },
  ];
}

async function main(): Promise<void> {
  const began = performance.now();
  const { agentLaunch } = parseArgs(process.argv.slice(2));
  const machine = describeMachine();
  const loadBefore = loadavg()[0];
  log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${loadBefore.toFixed(2)}`);
  if (loadBefore > machine.cores / 2) log("warning: the machine is busy; expect noise, in the absolute figures most");

  const suites = parseSuites(process.argv.slice(2));
  // The agent runs from the esbuild bundle as in production; bin/consulate.js would fall back
  // to the sources through tsx (slower, bigger) whenever a source is newer than the bundle.
  execFileSync(process.execPath, [BUILD_SCRIPT], { stdio: "inherit" });
  const rows: ResultRow[] = [];
  if (suites.has("http")) rows.push(...(await httpSuite(agentLaunch)));
  if (suites.has("dns")) {
    log("DNS: A and SRV against a bare node:dgram server");
    rows.push(...(await runDnsBench()));
  }
  if (suites.has("raft")) {
    log("Raft: three nodes over loopback TCP and real disk");
    rows.push(...raftRows(await runRaftBench()));
  }
  if (suites.has("checks")) {
    log("health checks: 5,000 HTTP checks at 10 s");
    rows.push(...(await runChecksBench()).rows);
  }
  if (suites.has("etcd")) {
    log("etcd: durable KV PUT and GET, 1 and 3 servers against etcd 1 and 3 members; leader failover");
    rows.push(...(await runEtcdBench()));
  }
  const tlsRows: ResultRow[] = [];
  if (suites.has("tls")) {
    log("TLS: HTTPS KV GET vs node:https; 3-server durable PUT over internal-RPC TLS vs plaintext");
    tlsRows.push(...(await runTlsBench(agentLaunch)));
  }
  const wanRows: ResultRow[] = [];
  if (suites.has("wan")) {
    log("WAN: KV GET ?dc= through another datacenter's server vs the same GET asked locally");
    wanRows.push(...(await runWanBench()));
  }
  const aclRows: ResultRow[] = [];
  if (suites.has("acl")) {
    log("ACL: KV GET with a 20-rule token vs the same GET with ACLs off");
    aclRows.push(...(await runAclBench()));
  }
  const meshRows: ResultRow[] = [];
  if (suites.has("mesh")) {
    log("mesh: two connect proxies vs two node:net relays (throughput, latency, 1,000 connections, set-up rate)");
    meshRows.push(...(await runMeshBench()));
  }
  const connectRows: ResultRow[] = [];
  if (suites.has("connect")) {
    log("Connect: leaf issuance through a follower of 3 servers; authorize vs KV GET");
    connectRows.push(...(await runConnectBench(agentLaunch.nodeFlags)));
  }
  const queryRows: ResultRow[] = [];
  if (suites.has("query")) {
    log("prepared queries: execute against the equivalent health read, same agent");
    queryRows.push(...(await runPreparedQueryBench(agentLaunch)));
  }
  const largeRows: ResultRow[] = [];
  if (suites.has("large-request")) {
    log("large requests: the longest event-loop turn of a -dev agent taking bodies at and over the caps, and a restore");
    largeRows.push(...(await runLargeRequestBench(agentLaunch.nodeFlags)));
  }
  const scaleRows: ResultRow[] = [];
  if (suites.has("scale")) {
    scaleRows.push(...(await runScaleBench(scaleOptionsFromArgs(process.argv.slice(2)), log, agentLaunch.nodeFlags)));
    // A cluster that falls over (a lost leader refusing registrations) is a result, not a
    // reason to lose the single-agent rows measured before it.
    try {
      scaleRows.push(...(await runScaleClusterBench(scaleClusterOptionsFromArgs(process.argv.slice(2)), log, agentLaunch.nodeFlags)));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      scaleRows.push({ name: "C. cluster case", agent: "failed", bare: "—", ratio: "—", target: "completes", pass: false, detail: message });
    }
  }
  // The cluster case alone (it is also part of "scale"), with its own section.
  const clusterRows: ResultRow[] = [];
  if (suites.has("scale-cluster") && !suites.has("scale")) {
    try {
      clusterRows.push(...(await runScaleClusterBench(scaleClusterOptionsFromArgs(process.argv.slice(2)), log, agentLaunch.nodeFlags)));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      clusterRows.push({ name: "C. cluster case", agent: "failed", bare: "—", ratio: "—", target: "completes", pass: false, detail: message });
    }
  }
  const totalSeconds = (performance.now() - began) / 1000;
  const all = [...rows, ...tlsRows, ...wanRows, ...aclRows, ...meshRows, ...connectRows, ...queryRows, ...largeRows, ...scaleRows, ...clusterRows];
  process.stdout.write(`\n${terminalTable(all)}\n\n${all.map((r) => `${r.name}: ${r.detail}`).join("\n")}\n`);
  const run = { machine, when: new Date(), totalSeconds, loadBefore, loadAfter: loadavg()[0] };
  // The main table is rewritten only by runs that measured some of it.
  if (rows.length > 0) writeBenchmarksFile(BENCHMARKS_FILE, rows, run);
  if (tlsRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "tls", "### TLS results (issue 14)", tlsRows, run);
  if (wanRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "wan", "### WAN forwarding (issue 18)", wanRows, run, ["Case", "WAN", "Local", "Cost", "Target", "Result"]);
  if (aclRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "acl", "### ACL results (issue 13)", aclRows, run, ["Case", "ACLs on", "Yardstick", "Ratio", "Target", "Result"]);
  if (meshRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "mesh", "### Connect data plane results (issue 16)", meshRows, run, ["Case", "Sidecars", "Yardstick", "Ratio", "Target", "Result"]);
  if (connectRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "connect", "### Connect control plane (issue 15)", connectRows, run, ["Case", "Consulate", "Yardstick", "Ratio", "Target", "Result"]);
  if (queryRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "query", "### Prepared query results (issue 18)", queryRows, run, ["Case", "Execute", "health/service?passing", "Ratio", "Target", "Result"]);
  if (largeRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "large-request", "### Large requests: the longest event-loop turn (issue 12 item 6)", largeRows, run, ["Case", "Longest turn", "Idle", "Difference", "Target", "Result"], LARGE_REQUEST_BUSY_NOTE);
  if (scaleRows.length > 0) writeScaleSection(BENCHMARKS_FILE, scaleRows, run);
  if (clusterRows.length > 0) writeSuiteSection(BENCHMARKS_FILE, "scale-cluster", "### Scale: the cluster case alone (issue 17)", clusterRows, run, ["Case", "Consulate", "Yardstick", "Ratio", "Target", "Result"]);
  removeBenchTempDir();
  const misses = all.filter((r) => !r.pass).length;
  process.stdout.write(`\n${all.length - misses}/${all.length} targets met in ${totalSeconds.toFixed(0)} s; BENCHMARKS.md updated.\n`);
}

/** Issue 2's cases: throughput against the bare server, start-up, idle RSS, 10k blocking queries. */
async function httpSuite(agentLaunch: LaunchOptions): Promise<ResultRow[]> {
  // Starts alternate between the two servers so drift on the machine hits both alike.
  const agentStarts: StartSample[] = [];
  const bareStarts: StartSample[] = [];
  for (let i = 0; i < STARTS; i++) {
    log(`start-up ${i + 1}/${STARTS}`);
    bareStarts.push(await measureStart("bare", {}));
    agentStarts.push(await measureStart("agent", agentLaunch));
  }

  const throughput = await measureThroughput(agentLaunch, log);

  log(`bare: ${count(FANOUT_WAITERS)} blocking queries`);
  const bareFanout = await withServer("bare", { raiseFdLimit: true }, (s) => measureFanout(s, FANOUT_WAITERS, FANOUT_CLIENT_PROCESSES));
  log(`agent: ${count(FANOUT_WAITERS)} blocking queries`);
  const agentFanout = await withServer("agent", { ...agentLaunch, raiseFdLimit: true }, (s) =>
    measureFanout(s, FANOUT_WAITERS, FANOUT_CLIENT_PROCESSES),
  );

  return [...throughputRows(throughput), ...startRows(agentStarts, bareStarts), ...fanoutRows(agentFanout, bareFanout)];
}

await main();
