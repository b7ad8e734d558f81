import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode, RaftStateMachine } from "../../../src/server/raft-node.ts";
import type { Entry } from "../../../src/raft/messages.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";

// Capturing a large state takes seconds. The Ready loop must go on sending heartbeats and
// committing writes meanwhile: a leader that waited for its capture lost the leadership
// (issue 17, the scale cluster case), as a follower waiting on it would stop acknowledging.

const CAPTURE_MS = 2_500; // five election timeouts of this cluster

void test("raft node - a slow snapshot capture runs aside: the leader keeps its term and writes commit meanwhile", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const captures: { id: number; startedAt: number; applied: number }[] = [];
  const nodes: RaftNode[] = [];
  try {
    for (const id of ids) {
      let applied = 0;
      const machine: RaftStateMachine = {
        apply: (_entry: Entry) => {
          applied += 1;
        },
        capture: () => Uint8Array.of(applied),
        captureSliced: () => {
          const asOf = applied;
          captures.push({ id, startedAt: Date.now(), applied: asOf });
          return new Promise((resolve) => setTimeout(() => resolve(Uint8Array.of(asOf)), CAPTURE_MS));
        },
        restore: () => undefined,
      };
      nodes.push(
        await startInMemoryNode(id, members, {
          stateMachine: machine,
          snapshots: { threshold: 8, trailingLogs: 2 },
        }),
      );
    }
    const leader = await electLeader(nodes);
    const term = leader.term();
    // Enough writes to start a capture everywhere, then keep writing while they run.
    for (let i = 0; i < 10; i++) await leader.propose(Uint8Array.of(i));
    const leaderId = ids[nodes.indexOf(leader)];
    assert.ok(captures.some((c) => c.id === leaderId), "the leader started a capture");
    const writesStarted = Date.now();
    const latencies: number[] = [];
    while (Date.now() - writesStarted < CAPTURE_MS + 500) {
      const t = Date.now();
      await leader.propose(Uint8Array.of(1));
      latencies.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(leader.term(), term, "no election during the capture");
    assert.ok(leader.isLeader());
    for (const n of nodes) assert.equal(n.term(), term);
    // Before, the first write after the capture began waited for the whole capture.
    assert.ok(Math.max(...latencies) < CAPTURE_MS / 2, `writes waited up to ${Math.max(...latencies)} ms`);
    // The captures complete and become the snapshots, as of the index they started at.
    const until = Date.now() + 10_000;
    while (!nodes.every((n) => n.snapshotIndex() > 0)) {
      assert.ok(Date.now() < until, "captures never stored");
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const n of nodes) assert.ok(n.snapshotIndex() < n.appliedIndex(), "the snapshot is of the state when its capture began");
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
});
