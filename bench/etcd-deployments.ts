import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { benchTempDir, spawnNode, type SpawnedProcess } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import { httpCall } from "./http-call.ts";
import type { LoadJob } from "./load.ts";

// Consulate servers and etcd members, started on loopback with durable data dirs, described the
// same way so one measurement drives either: where to PUT, where to read (both at the leader,
// so neither pays a forward), how to write through each member, and how to kill one outright.

const READY_DEADLINE_MS = 30_000;
// CONSULATE_BIN=<bundle.mjs> runs another build (a copy of an older dist/) for same-run A/B; read
// at each start so one process can alternate builds (bench/scale-cluster-ab.ts).
const consulateBin = (): string => process.env.CONSULATE_BIN ?? fileURLToPath(new URL("../bin/consulate.js", import.meta.url));
const KEY = "bench/put";
const VALUE = "value";

export interface BenchRequest {
  url: string;
  method: LoadJob["method"];
  body?: string;
}

/**
 * The two read paths compared. "lease": Consul's default mode, served from the leader's own
 * state without a quorum round, against etcd's serializable range on its leader (also local).
 * "quorum": Consul's `?consistent` (the leader confirms its leadership with a quorum first,
 * ReadIndex) against etcd's default linearizable range (ReadIndex as well).
 */
export type ReadMode = "lease" | "quorum";
export const READ_MODES: readonly ReadMode[] = ["lease", "quorum"];

export interface ClusterMember {
  /** A write through this member (a follower forwards it to the leader). */
  write(sequence: number): BenchRequest;
  /** SIGKILL, no grace; resolves once the process is gone. */
  kill(): Promise<void>;
  /**
   * Consulate only: SIGKILL, wipe the data dir, start again on the same address under the same
   * node id (as after a disk replacement); resolves once the new process answers HTTP.
   */
  restartEmpty?(): Promise<void>;
}

export interface Deployment {
  put: BenchRequest;
  reads: Record<ReadMode, BenchRequest>;
  members: ClusterMember[];
  /** Index into `members` of the leader at start. */
  leaderAt: number;
  /** Each member's HTTP API (http://host:port), in `members` order. */
  bases: string[];
  /** Each member's process id, in `members` order. */
  pids: number[];
  stop(): Promise<void>;
}

function log(message: string): void {
  process.stderr.write(`[bench:etcd] ${message}\n`);
}

function findEtcd(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v etcd"], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** etcd on PATH, installing Debian's etcd-server when running as root; why not, otherwise. */
export function ensureEtcd(): { path: string } | { missing: string } {
  const present = findEtcd();
  if (present) return { path: present };
  if (process.getuid?.() !== 0) return { missing: "etcd is not installed and this is not root (apt-get install -y etcd-server)" };
  log("etcd missing: apt-get install -y etcd-server");
  const install = spawnSync("sh", ["-c", "apt-get install -y etcd-server || (apt-get update && apt-get install -y etcd-server)"], { encoding: "utf8" });
  const after = findEtcd();
  if (after) return { path: after };
  return { missing: `etcd could not be installed (apt-get exit ${install.status}): ${install.stderr.split("\n").slice(-3).join(" ")}` };
}

let binaryLogs = 0;

/** Like spawnNode, for a non-Node binary: output to a log file, SIGTERM then SIGKILL on stop. */
function spawnBinary(path: string, args: string[], label: string): SpawnedProcess {
  const logPath = join(benchTempDir(), `etcd-${++binaryLogs}-${label}.log`);
  const logFd = openSync(logPath, "w");
  const child = spawn(path, args, { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not spawn ${label}`);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    pid: child.pid,
    exited,
    logTail: () => {
      try {
        return readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n");
      } catch {
        return "";
      }
    },
    async stop(graceMs = 3000) {
      if (gone) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function killOutright(proc: SpawnedProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGKILL");
  await proc.exited;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, procs: SpawnedProcess[]): Promise<T> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError = "";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${lastError})\n${procs.map((p) => p.logTail()).join("\n---\n")}`);
    await sleep(100);
  }
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const etcdPutBody = (key: string): string => JSON.stringify({ key: b64(key), value: b64(VALUE) });

interface EtcdStatus {
  header?: { member_id?: string };
  leader?: string;
}

export async function startEtcd(etcd: string, members: readonly string[], dataRoot: string): Promise<Deployment> {
  const specs: { name: string; host: string; clientPort: number; peerPort: number; dataDir: string }[] = [];
  for (const [i, host] of members.entries()) {
    specs.push({ name: `etcd-${i + 1}`, host, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(dataRoot, `etcd-${i + 1}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://${s.host}:${s.peerPort}`).join(",");
  const procs = specs.map((s) =>
    spawnBinary(
      etcd,
      [
        "--name", s.name,
        "--data-dir", s.dataDir,
        "--listen-client-urls", `http://${s.host}:${s.clientPort}`,
        "--advertise-client-urls", `http://${s.host}:${s.clientPort}`,
        "--listen-peer-urls", `http://${s.host}:${s.peerPort}`,
        "--initial-advertise-peer-urls", `http://${s.host}:${s.peerPort}`,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", "consulate-bench",
        "--logger", "zap",
        "--log-level", "warn",
      ],
      s.name,
    ),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    const baseOf = (at: number): string => `http://${specs[at].host}:${specs[at].clientPort}`;
    const statuses = async (): Promise<EtcdStatus[]> =>
      Promise.all(specs.map(async (_, at) => JSON.parse((await httpCall(`${baseOf(at)}/v3/maintenance/status`, "POST", "{}", 2000)).body) as EtcdStatus));
    const leaderAt = await eventually(
      "an etcd leader",
      async () => {
        const all = await statuses();
        const at = all.findIndex((st) => st.leader !== undefined && st.leader !== "0" && st.leader === st.header?.member_id);
        return at >= 0 && all.every((st) => st.leader === all[at].leader) ? at : undefined;
      },
      procs,
    );
    const put: BenchRequest = { url: `${baseOf(leaderAt)}/v3/kv/put`, method: "POST", body: etcdPutBody(KEY) };
    await eventually("a first etcd PUT", async () => ((await httpCall(put.url, put.method, put.body, 2000)).status === 200 ? true : undefined), procs);
    const range = (serializable: boolean): BenchRequest => ({
      url: `${baseOf(leaderAt)}/v3/kv/range`,
      method: "POST",
      body: JSON.stringify(serializable ? { key: b64(KEY), serializable: true } : { key: b64(KEY) }),
    });
    return {
      put,
      reads: { lease: range(true), quorum: range(false) },
      members: procs.map((proc, at) => ({
        write: (sequence) => ({ url: `${baseOf(at)}/v3/kv/put`, method: "POST", body: etcdPutBody(`bench/failover/${sequence}`) }),
        kill: () => killOutright(proc),
      })),
      leaderAt,
      bases: specs.map((_, at) => baseOf(at)),
      pids: procs.map((p) => p.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `extraArgs`: more agent flags for every server (the TLS suite adds its internal_rpc config). */
export async function startConsulate(binds: readonly string[], dataRoot: string, extraArgs: readonly string[] = [], nodeFlags: readonly string[] = []): Promise<Deployment> {
  const specs: { name: string; bind: string; httpPort: number; serverPort: number; serfPort: number; dataDir: string }[] = [];
  for (const [i, bind] of binds.entries()) {
    specs.push({ name: `server-${i + 1}`, bind, httpPort: await freePort(), serverPort: await freePort(), serfPort: await freePort(), dataDir: join(dataRoot, `consulate-${i + 1}`) });
  }
  const clustered = specs.length > 1;
  const spawnServer = (s: (typeof specs)[number], more: readonly string[] = []): SpawnedProcess =>
    spawnNode(
      consulateBin(),
      [
        "agent",
        "-server",
        ...(clustered ? [`-bootstrap-expect=${specs.length}`, ...specs.map((o) => `-retry-join=${o.bind}:${o.serfPort}`)] : ["-bootstrap"]),
        `-data-dir=${s.dataDir}`,
        `-bind=${s.bind}`,
        "-client=127.0.0.1",
        `-node=${s.name}`,
        `-http-port=${s.httpPort}`,
        "-dns-port=-1",
        "-grpc-port=-1",
        `-server-port=${s.serverPort}`,
        `-serf-lan-port=${s.serfPort}`,
        // The WAN pool's default port (8302) is the same for every agent on the machine.
        "-serf-wan-port=-1",
        "-log-level=warn",
        ...extraArgs,
        ...more,
      ],
      { label: `consulate-${s.name}`, nodeFlags: [...nodeFlags] },
    );
  const procs = specs.map((s) => spawnServer(s));
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
  };
  try {
    const baseOf = (at: number): string => `http://127.0.0.1:${specs[at].httpPort}`;
    const leaderAt = await eventually(
      "a consulate leader",
      async () => {
        const leaders = await Promise.all(specs.map(async (_, at) => JSON.parse((await httpCall(`${baseOf(at)}/v1/status/leader`, "GET", undefined, 2000)).body) as string));
        const agreed = leaders[0] !== "" && leaders.every((l) => l === leaders[0]);
        const at = specs.findIndex((s) => `${s.bind}:${s.serverPort}` === leaders[0]);
        return agreed && at >= 0 ? at : undefined;
      },
      procs,
    );
    const keyUrl = `${baseOf(leaderAt)}/v1/kv/${KEY}`;
    const put: BenchRequest = { url: keyUrl, method: "PUT", body: VALUE };
    await eventually("a first consulate PUT", async () => ((await httpCall(put.url, put.method, put.body, 2000)).status === 200 ? true : undefined), procs);
    return {
      put,
      reads: { lease: { url: keyUrl, method: "GET" }, quorum: { url: `${keyUrl}?consistent`, method: "GET" } },
      members: procs.map((_, at) => ({
        write: (sequence) => ({ url: `${baseOf(at)}/v1/kv/bench/failover/${sequence}`, method: "PUT", body: VALUE }),
        kill: () => killOutright(procs[at]),
        restartEmpty: async () => {
          const spec = specs[at];
          const nodeId = readFileSync(join(spec.dataDir, "node-id"), "utf8").trim();
          await killOutright(procs[at]);
          rmSync(spec.dataDir, { recursive: true, force: true });
          mkdirSync(spec.dataDir, { recursive: true });
          procs[at] = spawnServer(spec, [`-node-id=${nodeId}`]);
          await eventually(`${spec.name} answering after its restart`, async () => ((await httpCall(`${baseOf(at)}/v1/agent/self`, "GET", undefined, 2000)).status === 200 ? true : undefined), [procs[at]]);
        },
      })),
      leaderAt,
      bases: specs.map((_, at) => baseOf(at)),
      pids: procs.map((p) => p.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
