import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { spawnAgent } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { leaderSeenBy, raftFiguresOf, registerCatalog, serviceName, startCatalogCluster } from "../support/catalog-cluster.ts";
import { serverArgs } from "../support/server-cluster.ts";

// Issue 17: a follower restarted with an empty data dir (same node id, same address, as an
// operator replacing a disk would) catches up by InstallSnapshot — the leader compacted its
// log long ago — without disturbing the leader: no election (every term unchanged), writes
// keep being acknowledged meanwhile, and the follower then serves the whole catalog ?stale.
// A low snapshot threshold makes the leader compact after a few dozen entries.

const NODES = 400;
const SERVICES_PER_NODE = 10;
const SNAPSHOTS = ["-hcl", "raft_snapshot_threshold = 16", "-hcl", "raft_trailing_logs = 8"];

test("follower catch-up - a follower restarted with an empty data dir installs the leader's snapshot; term, leader and writes are undisturbed", { timeout: 120_000 }, async (t) => {
  const cluster = await startCatalogCluster("catchup", SNAPSHOTS);
  t.after(() => cluster.stop());
  await registerCatalog(cluster.leaderServer().proc.base, { nodes: NODES, servicesPerNode: SERVICES_PER_NODE, concurrency: 4 });
  await cluster.agreedLeader();
  const leader = cluster.leaderServer();
  const leaderBefore = await raftFiguresOf(leader.proc.base);
  assert.ok(leaderBefore.lastSnapshotIndex > 8, `the leader took a snapshot (at ${leaderBefore.lastSnapshotIndex})`);

  const [victim, bystander] = cluster.followers();
  const nodeId = (await readFile(join(victim.spec.dataDir, "node-id"), "utf8")).trim();
  const termsBefore = await Promise.all([leader, bystander].map((s) => raftFiguresOf(s.proc.base).then((f) => f.term)));

  await victim.proc.kill("SIGKILL");
  await rm(victim.spec.dataDir, { recursive: true, force: true });
  await mkdir(victim.spec.dataDir);

  // Writes keep flowing at the leader while the follower is gone and while it catches up.
  let writing = true;
  let acknowledged = 0;
  const writeFailures: string[] = [];
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      try {
        const res = await fetch(`${leader.proc.base}/v1/kv/catch-up/${i % 20}`, { method: "PUT", body: `v${i}`, signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        if (res.status === 200) acknowledged++;
        else writeFailures.push(`${res.status} ${body}`);
      } catch (err) {
        writeFailures.push(err instanceof Error ? err.message : String(err));
      }
    }
  })();

  const restartedAt = Date.now();
  const others = cluster.servers.filter((s) => s !== victim);
  victim.proc = await spawnAgent(serverArgs(victim.spec, 3, others.map((s) => s.spec), [...SNAPSHOTS, `-node-id=${nodeId}`]), {
    httpPort: victim.spec.httpPort,
    timeoutMs: 30_000,
  });
  let caughtUpMs = 0;
  let lastSeen = "";
  await eventually(
    "the restarted follower applies up to the leader's index",
    async () => {
      const [mine, leaders] = await Promise.all([raftFiguresOf(victim.proc.base), raftFiguresOf(leader.proc.base)]);
      caughtUpMs = Date.now() - restartedAt;
      lastSeen = `follower ${JSON.stringify(mine)}, leader ${JSON.stringify(leaders)}`;
      return mine.appliedIndex >= leaderBefore.appliedIndex && mine.appliedIndex + 20 >= leaders.appliedIndex;
    },
    45_000,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last seen: ${lastSeen}\n--- restarted follower ---\n${victim.proc.output().slice(-4000)}\n--- leader ---\n${leader.proc.output().slice(-4000)}`);
  });
  writing = false;
  await writer;
  t.diagnostic(`caught up ${caughtUpMs} ms after the restart began; ${acknowledged} writes acknowledged meanwhile`);
  assert.deepEqual(writeFailures.slice(0, 3), [], "every write during the catch-up was acknowledged");
  assert.ok(acknowledged > 0, "writes were made during the catch-up");

  // Agent logs go out in batches every 15 ms: the follower can answer with its applied index
  // before the batch holding the install line is written, so the line is waited for.
  await eventually("the follower's log to report the installed snapshot", () => Promise.resolve(/Installed remote snapshot/.test(victim.proc.output())), 5000, 20).catch(() => {
    assert.match(victim.proc.output(), /Installed remote snapshot/, "the follower caught up from a snapshot, not by replaying the log");
  });
  const victimFigures = await raftFiguresOf(victim.proc.base);
  assert.ok(victimFigures.lastSnapshotIndex >= leaderBefore.lastSnapshotIndex, `the follower holds the leader's snapshot (${victimFigures.lastSnapshotIndex})`);

  const termsAfter = await Promise.all([leader, bystander].map((s) => raftFiguresOf(s.proc.base).then((f) => f.term)));
  assert.deepEqual(termsAfter, termsBefore, "no election: the leader's and the other follower's terms did not move");
  assert.equal(victimFigures.term, termsBefore[0], "the restarted follower took the leader's term");
  assert.deepEqual(
    await Promise.all(cluster.servers.map((s) => leaderSeenBy(s.proc.base))),
    [cluster.leader, cluster.leader, cluster.leader],
    "every server names the same leader",
  );

  const instances = await getJson<unknown[]>(`${victim.proc.base}/v1/health/service/${serviceName(0)}?stale`, 10_000);
  assert.equal(instances.length, NODES, "the follower serves the whole catalog from its own state");
  const services = await getJson<Record<string, string[]>>(`${victim.proc.base}/v1/catalog/services?stale`, 10_000);
  assert.equal(Object.keys(services).filter((s) => s.startsWith("svc-")).length, SERVICES_PER_NODE);
});
