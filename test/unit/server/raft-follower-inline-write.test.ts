import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RaftNode } from "../../../src/server/raft-node.ts";
import { DiskStorage } from "../../../src/storage/disk-storage.ts";
import { electLeader, loopbackMembers } from "../../support/raft-loopback.ts";

// Issue 17's cluster writer waits on the first follower's acknowledgement, and a follower
// acknowledges only once the entries are durable. Its small log writes are made on its main
// thread (it does nothing else meanwhile) instead of via the thread pool and back; the
// leader's stay on the pool (its main thread serves requests meanwhile). After a restart the
// followers hold every entry they acknowledged.

void test("raft node - followers write small entries on their own thread, the leader through the pool; all of it survives a restart", async () => {
  const root = await mkdtemp(join(tmpdir(), "consulate-raft-inline-"));
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const storages = new Map<number, DiskStorage>();
  let nodes: RaftNode[] = [];
  const start = async (id: number): Promise<RaftNode> => {
    const storage = await DiskStorage.open(join(root, String(id)));
    storages.set(id, storage);
    return RaftNode.start({ id, storage, members, bootstrapVoters: ids, tickMs: 50, electionTick: 60, heartbeatTick: 2, apply: () => undefined });
  };
  try {
    for (const id of ids) nodes.push(await start(id));
    const leaderIndex = nodes.indexOf(await electLeader(nodes, 20_000));
    const leaderId = ids[leaderIndex];
    await nodes[leaderIndex].propose(Uint8Array.of(0));
    const before = new Map(ids.map((id) => [id, { ...storages.get(id)!.walStats }]));
    const WRITES = 50;
    for (let i = 0; i < WRITES; i++) await nodes[leaderIndex].propose(new TextEncoder().encode(`write-${i}`));
    for (const id of ids) {
      const stats = storages.get(id)!.walStats;
      const inline = stats.inlineBatches - before.get(id)!.inlineBatches;
      const batches = stats.batches - before.get(id)!.batches;
      if (id === leaderId) assert.equal(inline, 0, "the leader's log writes go through the thread pool");
      else {
        assert.ok(batches > 0, `follower ${id} wrote nothing`);
        assert.equal(inline, batches, `follower ${id}: ${inline} of ${batches} log writes on its own thread`);
      }
    }
    // Every entry was committed, so acknowledged by a follower through its own-thread write:
    // one follower at least holds all of them after a restart.
    const lastIndex = storages.get(leaderId)!.lastIndex();
    for (const n of nodes) await n.close();
    nodes = [];
    const held: number[] = [];
    for (const id of ids) {
      if (id === leaderId) continue;
      const reopened = await DiskStorage.open(join(root, String(id)));
      held.push(reopened.lastIndex());
      await reopened.close();
    }
    assert.ok(Math.max(...held) >= lastIndex, `followers hold up to ${held.join("/")} after a restart, the leader wrote ${lastIndex}`);
  } finally {
    for (const n of nodes) await n.close();
    await rm(root, { recursive: true, force: true });
  }
});
