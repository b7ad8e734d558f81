import { test } from "node:test";
import assert from "node:assert/strict";
import { getJson } from "../support/eventually.ts";
import { leaderSeenBy, loopReads, raftFiguresOf, registerCatalog, serviceName, startCatalogCluster } from "../support/catalog-cluster.ts";

// Issue 17's cluster case at CI size: three durable servers holding 20,000 service instances,
// clients looping on the heaviest catalog reads at the leader. Heavy reads share the leader's
// event loop with Raft heartbeats; if they delayed heartbeats past the election timeout a
// follower would campaign. The check is deterministic: every server's Raft term is the one
// it had before the load (any election, won or lost, raises the term of whoever ran it and of
// every server that heard its vote request) and every server still names the same leader.
// The full size (and the writer's latency under the readers) is `npm run bench -- --suites scale-cluster`.

const NODES = 2_000;
const SERVICES_PER_NODE = 10;
const READERS = 4;
const LOAD_SECONDS = 15;

test("cluster read load - 3 servers with 20,000 instances keep their leader and term while clients loop on heavy reads at the leader", { timeout: 120_000 }, async (t) => {
  const cluster = await startCatalogCluster("readload");
  t.after(() => cluster.stop());

  const registerStarted = Date.now();
  await registerCatalog(cluster.leaderServer().proc.base, { nodes: NODES, servicesPerNode: SERVICES_PER_NODE, concurrency: 4 });
  // The load phase is what is judged: its leader and terms are the ones found after the setup.
  await cluster.agreedLeader();
  const leaderBase = cluster.leaderServer().proc.base;
  const largest = await getJson<unknown[]>(`${leaderBase}/v1/health/service/${serviceName(0)}`, 30_000);
  assert.equal(largest.length, NODES, "the largest service has one instance per node");
  t.diagnostic(`registered ${NODES * SERVICES_PER_NODE} instances in ${Date.now() - registerStarted} ms`);

  const before = await Promise.all(cluster.servers.map((s) => raftFiguresOf(s.proc.base)));
  const term = before[0].term;
  assert.ok(term > 0);
  assert.deepEqual(
    before.map((f) => f.term),
    [term, term, term],
    "the servers agree on the term before the load",
  );

  const reads = await loopReads(
    leaderBase,
    ["/v1/catalog/services", `/v1/health/service/${serviceName(0)}`, `/v1/catalog/service/${serviceName(1)}`],
    READERS,
    LOAD_SECONDS,
  );
  t.diagnostic(`${READERS} readers for ${LOAD_SECONDS} s: ${reads.requests} reads, ${(reads.bytes / 1e6).toFixed(0)} MB, ${reads.failures.length} failures`);
  assert.deepEqual(reads.failures.slice(0, 3), [], "every read answered 200");
  assert.ok(reads.requests >= READERS * 3, `the readers got through the heavy paths (${reads.requests} reads)`);

  const after = await Promise.all(cluster.servers.map((s) => raftFiguresOf(s.proc.base)));
  for (const [i, s] of cluster.servers.entries()) {
    t.diagnostic(`${s.spec.name}: term ${before[i].term} → ${after[i].term}, ${after[i].state}, applied ${after[i].appliedIndex}`);
  }
  assert.deepEqual(
    after.map((f) => f.term),
    before.map((f) => f.term),
    "no server's term moved: no election was run during the load",
  );
  assert.deepEqual(
    await Promise.all(cluster.servers.map((s) => leaderSeenBy(s.proc.base))),
    [cluster.leader, cluster.leader, cluster.leader],
    "every server still names the same leader",
  );
  assert.equal(after[cluster.servers.indexOf(cluster.leaderServer())].state, "Leader");
});
