import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode } from "../../../src/server/raft-node.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";

// Issue 17's cluster writer: each write used to cost the leader four messages to two
// followers (the entry, then a bare MsgApp announcing its commit) and each follower two
// rounds. The commit now rides on the next write's MsgApp; a lone write's commit reaches the
// followers after a short delay, not at the next heartbeat.

void test("raft node - sequential writes cost the leader one MsgApp per follower each; a lone write's commit still reaches the followers at once", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const applied = new Map<number, number>(ids.map((id) => [id, 0]));
  const nodes: RaftNode[] = [];
  try {
    for (const id of ids) {
      nodes.push(
        await startInMemoryNode(id, members, {
          // Heartbeats every 7 s: a commit seen by a follower within 5 s came by MsgApp, and
          // 5 s is far above what any machine needs for it (a 5 ms delay, then one message).
          tickMs: 200,
          electionTick: 40,
          heartbeatTick: 35,
          apply: () => applied.set(id, (applied.get(id) ?? 0) + 1),
        }),
      );
    }
    const leader = await electLeader(nodes, 40_000);
    await leader.propose(Uint8Array.of(0));

    const WRITES = 200;
    const sentBefore = leader.transportStats!.sent;
    for (let i = 0; i < WRITES; i++) await leader.propose(Uint8Array.of(1, i & 255));
    const perWrite = (leader.transportStats!.sent - sentBefore) / WRITES;
    // Two followers, one MsgApp each per write; heartbeats and a last notice add a little.
    assert.ok(perWrite <= 2.5, `the leader sent ${perWrite.toFixed(2)} messages per write (4 when every commit was announced on its own)`);

    // A lone write: the followers learn its commit well before the next heartbeat (7 s).
    const started = Date.now();
    await leader.propose(Uint8Array.of(2));
    const total = applied.get(ids[nodes.indexOf(leader)])!;
    while (ids.some((id) => applied.get(id)! < total)) {
      assert.ok(Date.now() - started < 5_000, `followers applied ${ids.map((id) => applied.get(id)).join("/")} of ${total} with no heartbeat due`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    for (const n of nodes) await n.close();
  }
});
