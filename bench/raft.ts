import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RaftNode } from "../src/server/raft-node.ts";
import { DiskStorage } from "../src/storage/disk-storage.ts";
import type { PeerAddress } from "../src/transport/raft-transport.ts";

// Raft over real loopback TCP and real disk: three in-process nodes, each with its own data
// dir, committing 64-byte entries from 1, 16 and 256 concurrent proposers on the leader. The
// same disk's raw fsync rate is measured in the same run: it is the physical ceiling of one
// write-then-ack loop, so entries/s ÷ fsyncs/s shows what group commit buys.
// Standalone: npx tsx bench/raft.ts

export interface RaftBenchRow {
  proposers: number;
  committedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Raw fsyncs/s of the same disk (sequential 64-byte write + fdatasync). */
  fsyncPerSec: number;
  /** committedPerSec / fsyncPerSec. */
  ratioToFsync: number;
  /** Log fsyncs the leader issued during the measurement, per committed entry. */
  leaderFsyncsPerEntry: number;
}

export interface RaftBenchOptions {
  measureMs: number;
  warmupMs: number;
  proposerCounts: readonly number[];
  entryBytes: number;
}

const defaults: RaftBenchOptions = { measureMs: 3000, warmupMs: 500, proposerCounts: [1, 16, 256], entryBytes: 64 };

/** The bar from issue 6: at 256 proposers, committed entries/s ≥ 10 × the raw fsync rate. */
export const RAFT_BENCH_TARGET_RATIO = 10;

export async function measureFsyncRate(dir: string, durationMs = 1000): Promise<number> {
  const handle = await open(join(dir, "fsync-probe"), "w");
  const payload = Buffer.alloc(64, 1);
  try {
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      await handle.write(payload);
      await handle.datasync();
      count++;
    }
    return count / ((performance.now() - start) / 1000);
  } finally {
    await handle.close();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startCluster(root: string): Promise<RaftNode[]> {
  const ids = [1, 2, 3];
  // Listen on port 0 first to learn free ports, then start every node with the full map.
  const members = new Map<number, PeerAddress>();
  const { createServer } = await import("node:net");
  for (const id of ids) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    members.set(id, { host: "127.0.0.1", port: address.port });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const nodes: RaftNode[] = [];
  for (const id of ids) {
    const storage = await DiskStorage.open(join(root, `node-${id}`), { bootstrap: { voters: ids, learners: [] } });
    nodes.push(
      await RaftNode.start({
        id,
        storage,
        members,
        apply: () => {},
        tickMs: 50,
        raft: { maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 256 },
      }),
    );
  }
  nodes[0].campaign();
  const deadline = performance.now() + 10_000;
  while (!nodes.some((n) => n.isLeader())) {
    if (performance.now() > deadline) throw new Error("raft bench: no leader within 10 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  return nodes;
}

async function runLoad(
  leader: RaftNode,
  proposers: number,
  options: RaftBenchOptions,
): Promise<{ committed: number; seconds: number; latencies: number[] }> {
  const payload = new Uint8Array(options.entryBytes).fill(7);
  const latencies: number[] = [];
  let committed = 0;
  let measuring = false;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now();
      await leader.propose(payload);
      if (measuring) {
        latencies.push(performance.now() - t0);
        committed++;
      }
    }
  };
  const workers = Array.from({ length: proposers }, () => worker());
  await new Promise((r) => setTimeout(r, options.warmupMs));
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, options.measureMs));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  return { committed, seconds, latencies: latencies.sort((a, b) => a - b) };
}

export async function runRaftBench(overrides: Partial<RaftBenchOptions> = {}): Promise<RaftBenchRow[]> {
  const options = { ...defaults, ...overrides };
  const root = await mkdtemp(join(tmpdir(), "consulate-raft-bench-"));
  let nodes: RaftNode[] = [];
  try {
    const fsyncPerSec = await measureFsyncRate(root);
    nodes = await startCluster(root);
    const rows: RaftBenchRow[] = [];
    for (const proposers of options.proposerCounts) {
      const leader = nodes.find((n) => n.isLeader());
      if (!leader) throw new Error("raft bench: lost the leader");
      const fsyncsBefore = leader.storageFsyncs();
      const { committed, seconds, latencies } = await runLoad(leader, proposers, options);
      const committedPerSec = committed / seconds;
      rows.push({
        proposers,
        committedPerSec,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        fsyncPerSec,
        ratioToFsync: committedPerSec / fsyncPerSec,
        leaderFsyncsPerEntry: committed > 0 ? (leader.storageFsyncs() - fsyncsBefore) / committed : NaN,
      });
    }
    return rows;
  } finally {
    for (const n of nodes) await n.close();
    await rm(root, { recursive: true, force: true });
  }
}

export function formatRaftBench(rows: readonly RaftBenchRow[]): string {
  const lines = ["proposers  committed/s   p50 ms   p99 ms   fsync/s   ratio   leader fsyncs/entry"];
  for (const r of rows) {
    lines.push(
      [
        String(r.proposers).padStart(9),
        Math.round(r.committedPerSec).toLocaleString("en-US").padStart(12),
        r.p50Ms.toFixed(2).padStart(8),
        r.p99Ms.toFixed(2).padStart(8),
        Math.round(r.fsyncPerSec).toLocaleString("en-US").padStart(9),
        `${r.ratioToFsync.toFixed(1)}×`.padStart(7),
        r.leaderFsyncsPerEntry.toFixed(3).padStart(21),
      ].join(" "),
    );
  }
  const top = rows.find((r) => r.proposers === 256);
  if (top) {
    const pass = top.ratioToFsync >= RAFT_BENCH_TARGET_RATIO;
    lines.push(`target: at 256 proposers committed/s ≥ ${RAFT_BENCH_TARGET_RATIO}× fsync/s → ${pass ? "PASS" : "MISS"} (${top.ratioToFsync.toFixed(1)}×)`);
  }
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runRaftBench();
  process.stdout.write(formatRaftBench(rows) + "\n");
}
