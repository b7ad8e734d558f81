import { after, test } from "node:test";
import assert from "node:assert/strict";
import { NotLeaderError } from "../../../src/server/raft-consensus.ts";
import { clusterSpecs, kvSet, proposeToLeader, startServer, waitFor, waitForLeader, type RunningServer } from "./raft-consensus-harness.ts";

// What the operator and autopilot endpoints read from the consensus: the leader's view of
// every server's replication (match index, last contact) and leadership transfer.

const open = new Set<RunningServer>();
after(async () => {
  for (const s of open) await s.consensus.close();
});

async function stop(server: RunningServer): Promise<void> {
  await server.consensus.close();
  open.delete(server);
}

test("raft consensus - the leader reports every server's match index and recent contact; followers report none", async () => {
  const specs = await clusterSpecs(3);
  const servers = await Promise.all(specs.map((s) => startServer(s, specs)));
  for (const s of servers) open.add(s);
  const leader = await waitForLeader(servers);
  const { index } = await proposeToLeader(servers, kvSet("a", "1"));
  await waitFor("every server to apply the write", () => servers.every((s) => s.consensus.appliedIndex() >= index));

  // Last contact is waited for, not read once: a busy CI machine can stall the event loop past
  // the 500 ms window between two heartbeats; the next answered heartbeat brings it back.
  let progress = leader.consensus.progress();
  await waitFor("every match index to reach the write, with every last contact within the check-quorum window", () => {
    progress = leader.consensus.progress();
    return [...progress.values()].every((p) => p.matchIndex >= index && p.lastContactMs <= 500);
  });
  assert.deepEqual([...progress.keys()].sort(), specs.map((s) => s.peer.id).sort());
  for (const p of progress.values()) assert.equal(p.voter, true);
  assert.equal(progress.get(leader.spec.peer.id)?.lastContactMs, 0);
  for (const s of servers.filter((x) => x !== leader)) assert.equal(s.consensus.progress().size, 0);

  // A stopped follower's last contact grows past the check-quorum window (10 ticks × 50 ms).
  const gone = servers.find((s) => s !== leader);
  assert.ok(gone);
  await stop(gone);
  const alive = servers.find((s) => s !== leader && s !== gone);
  assert.ok(alive);
  await waitFor("the stopped follower's last contact past the window while the live one's is within it", () => {
    const now = leader.consensus.progress();
    return (now.get(gone.spec.peer.id)?.lastContactMs ?? 0) > 500 && (now.get(alive.spec.peer.id)?.lastContactMs ?? Infinity) <= 500;
  });
  for (const s of servers) if (open.has(s)) await stop(s);
});

test("raft consensus - transferLeader hands leadership to the named voter and refuses itself and non-leaders", async () => {
  const specs = await clusterSpecs(3);
  const servers = await Promise.all(specs.map((s) => startServer(s, specs)));
  for (const s of servers) open.add(s);
  const leader = await waitForLeader(servers);
  await proposeToLeader(servers, kvSet("before", "1"));
  const target = servers.find((s) => s !== leader);
  assert.ok(target);

  await assert.rejects(leader.consensus.transferLeader(leader.spec.peer.id), /cannot transfer leadership to itself/);
  await assert.rejects(target.consensus.transferLeader(leader.spec.peer.id), (err: unknown) => err instanceof NotLeaderError);

  await leader.consensus.transferLeader(target.spec.peer.id);
  assert.equal(target.consensus.isLeader(), true);
  assert.equal(leader.consensus.isLeader(), false);
  const now = await waitForLeader(servers);
  assert.equal(now, target);
  const { result } = await proposeToLeader(servers, kvSet("after", "2"));
  assert.deepEqual(result, { ok: true, value: true });
  for (const s of servers) if (open.has(s)) await stop(s);
});
