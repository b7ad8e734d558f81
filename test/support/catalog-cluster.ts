import { Agent as HttpAgent, request } from "node:http";
import { rm } from "node:fs/promises";
import { spawnAgent, type AgentProcess } from "./agent-process.ts";
import { eventually, getJson } from "./eventually.ts";
import { serverArgs, serverSpec, type ServerSpec } from "./server-cluster.ts";

// Three durable server processes on loopback holding a sizeable catalog, for the cluster
// scale tests (issue 17): start, fill the catalog the way a bulk client does (catalog txns),
// read each server's Raft figures, and loop heavy reads at a server.

export interface ClusterServer {
  spec: ServerSpec;
  proc: AgentProcess;
}

export interface CatalogCluster {
  servers: ClusterServer[];
  /** Server RPC address ("ip:port") of the leader all three agreed on (at start, or at the last agreedLeader()). */
  leader: string;
  /** Waits until every server names the same leader and records it as `leader`. */
  agreedLeader(): Promise<string>;
  leaderServer(): ClusterServer;
  followers(): ClusterServer[];
  /** Kills every process and removes every data dir. */
  stop(): Promise<void>;
}

const BINDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;

export const rpcAddressOf = (spec: ServerSpec): string => `${spec.bind}:${spec.serverPort}`;

export async function leaderSeenBy(base: string): Promise<string> {
  return getJson<string>(`${base}/v1/status/leader?stale`, 5000);
}

/** Starts three servers (bootstrap_expect = 3) and waits until all agree on one leader. */
export async function startCatalogCluster(prefix: string, extraArgs: readonly string[] = []): Promise<CatalogCluster> {
  const specs = await Promise.all(BINDS.map((bind, i) => serverSpec(`${prefix}${i + 1}`, bind)));
  const servers: ClusterServer[] = [];
  const stop = async (): Promise<void> => {
    for (const s of servers) await s.proc.kill();
    for (const spec of specs) await rm(spec.dataDir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const proc = await spawnAgent(serverArgs(spec, 3, specs, extraArgs), { httpPort: spec.httpPort, timeoutMs: 30_000 });
        servers.push({ spec, proc });
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  servers.sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  const cluster: CatalogCluster = {
    servers,
    leader: "",
    async agreedLeader() {
      let leader = "";
      await eventually(
        "one leader agreed by all three servers",
        async () => {
          const seen = await Promise.all(servers.map((s) => leaderSeenBy(s.proc.base)));
          leader = seen[0];
          return leader !== "" && seen.every((l) => l === leader);
        },
        30_000,
      );
      cluster.leader = leader;
      return leader;
    },
    leaderServer() {
      const found = servers.find((s) => rpcAddressOf(s.spec) === cluster.leader);
      if (!found) throw new Error(`the leader ${cluster.leader} is none of the servers`);
      return found;
    },
    followers: () => servers.filter((s) => s !== cluster.leaderServer()),
    stop,
  };
  try {
    await cluster.agreedLeader();
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}

/** The raft block of /v1/agent/self, as numbers where hashicorp/raft reports numbers. */
export interface RaftFigures {
  term: number;
  state: string;
  appliedIndex: number;
  lastSnapshotIndex: number;
}

export async function raftFiguresOf(base: string): Promise<RaftFigures> {
  const self = await getJson<{ Stats: { raft: Record<string, string> } }>(`${base}/v1/agent/self`, 5000);
  const raft = self.Stats.raft;
  return { term: Number(raft.term), state: raft.state, appliedIndex: Number(raft.applied_index), lastSnapshotIndex: Number(raft.last_snapshot_index) };
}

function call(agent: HttpAgent, url: string, method: string, body?: string): Promise<{ status: number; text: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, timeout: 60_000 }, (res) => {
      let bytes = 0;
      const head: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        bytes += c.length;
        if (head.length < 2) head.push(c);
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(head).toString("utf8").slice(0, 300), bytes }));
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`${method} ${url}: no answer in 60 s`)));
    req.once("error", reject);
    req.end(body);
  });
}

const TXN_ATTEMPTS = 5;

export const serviceName = (service: number): string => `svc-${service}`;
const nodeName = (node: number): string => `node-${node}`;

/** The txn ops of one node: the node, and each service with its passing check. */
function nodeOps(node: number, servicesPerNode: number): object[] {
  const name = nodeName(node);
  const ops: object[] = [{ Node: { Verb: "set", Node: { Node: name, Address: `10.${(node >> 16) & 255}.${(node >> 8) & 255}.${node & 255}`, Meta: { rack: `r${node % 40}` } } } }];
  for (let s = 0; s < servicesPerNode; s++) {
    const svc = serviceName(s);
    ops.push({ Service: { Verb: "set", Node: name, Service: { ID: svc, Service: svc, Tags: ["v1", `zone-${node % 4}`], Port: 20_000 + s, Meta: { version: "1" } } } });
    ops.push({ Check: { Verb: "set", Check: { Node: name, CheckID: `service:${svc}`, Name: `${svc} health`, Status: "passing", ServiceID: svc } } });
  }
  return ops;
}

/**
 * Registers `nodes` nodes, each with services svc-0 … svc-(servicesPerNode-1) and a passing
 * check per service, as catalog txns of up to 128 ops (whole nodes per txn) at `base`.
 */
export async function registerCatalog(base: string, o: { nodes: number; servicesPerNode: number; concurrency: number }): Promise<void> {
  const perTxn = Math.max(1, Math.floor(128 / (1 + 2 * o.servicesPerNode)));
  const agent = new HttpAgent({ keepAlive: true, maxSockets: o.concurrency });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.nodes) {
      const first = next;
      const end = Math.min(o.nodes, first + perTxn);
      next = end;
      const ops: object[] = [];
      for (let n = first; n < end; n++) ops.push(...nodeOps(n, o.servicesPerNode));
      const body = JSON.stringify(ops);
      // A bulk client retries what a leader change refused (500 "leadership lost", "No
      // cluster leader"); setting a node, service or check again is harmless.
      for (let attempt = 1; ; attempt++) {
        const res = await call(agent, `${base}/v1/txn`, "PUT", body);
        if (res.status === 200) break;
        if (res.status < 500 || attempt === TXN_ATTEMPTS) throw new Error(`catalog txn for nodes ${first}..${end - 1}: ${res.status} ${res.text}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    agent.destroy();
  }
}

export interface ReadLoopOutcome {
  requests: number;
  bytes: number;
  failures: string[];
}

/** `clients` loops, each one request at a time over its own connection, cycling through `paths` at `base` for `seconds`. */
export async function loopReads(base: string, paths: readonly string[], clients: number, seconds: number): Promise<ReadLoopOutcome> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: clients });
  const outcome: ReadLoopOutcome = { requests: 0, bytes: 0, failures: [] };
  const until = performance.now() + seconds * 1000;
  const client = async (offset: number): Promise<void> => {
    for (let i = offset; performance.now() < until; i++) {
      const path = paths[i % paths.length];
      try {
        const res = await call(agent, `${base}${path}`, "GET");
        outcome.requests++;
        outcome.bytes += res.bytes;
        if (res.status !== 200) outcome.failures.push(`${path}: ${res.status} ${res.text}`);
      } catch (err) {
        outcome.failures.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  } finally {
    agent.destroy();
  }
  return outcome;
}
