import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode } from "../../../src/server/raft-node.ts";
import { InMemoryRaftStorage } from "../../../src/server/raft-storage.ts";
import type { PersistBatch } from "../../../src/storage/disk-storage.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";

// A follower writing one large entry (a 77 MB restore's fsync takes seconds) used to answer
// nothing until the write ended, and heartbeats stepped meanwhile were answered only after the
// next Ready's write as well: its leader saw it as silent. Heartbeat answers promise nothing
// about the log, so they now leave as they are stepped (issue 12 item 6).
//
// The write is held by the test, not timed: the follower's storage does not finish the write
// of the marked entry until released, and the test counts the messages the follower sends
// while it is held. The only wait is an upper bound for heartbeats to arrive at all.

const LARGE = 0xff;

/** In-memory storage whose write of an entry starting with LARGE finishes only when released. */
class HeldWriteStorage extends InMemoryRaftStorage {
  /** Whether this server's write of the large entry is held (set on one follower). */
  holdsLarge = false;
  held = false;
  #release: (() => void) | undefined;

  override persist(batch: PersistBatch): Promise<void> {
    if (!this.holdsLarge || !batch.entries.some((e) => e.data[0] === LARGE)) return super.persist(batch);
    this.held = true;
    return new Promise((resolve) => {
      this.#release = () => {
        this.held = false;
        resolve(super.persist(batch));
      };
    });
  }

  release(): void {
    this.#release?.();
  }
}

void test("raft node - a follower answers heartbeats while its write of a large entry is in flight", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const storages = new Map(ids.map((id) => [id, new HeldWriteStorage()]));
  const nodes: RaftNode[] = [];
  try {
    // A long election timeout: nothing here may move the leadership.
    for (const id of ids) nodes.push(await startInMemoryNode(id, members, { storage: storages.get(id)!, electionTick: 60 }));
    const leader = await electLeader(nodes);
    await leader.propose(Uint8Array.of(1));
    const leaderIndex = nodes.indexOf(leader);
    const followerIndex = nodes.findIndex((n) => n !== leader);
    const follower = nodes[followerIndex];
    const followerStorage = storages.get(ids[followerIndex])!;
    // Only this follower's write is held; the leader and the third server write at once.
    followerStorage.holdsLarge = true;

    const large = leader.propose(Uint8Array.of(LARGE));
    large.catch(() => undefined);
    const until = Date.now() + 10_000;
    while (!followerStorage.held) {
      assert.ok(Date.now() < until, "the follower never started writing the large entry");
      await new Promise((r) => setTimeout(r, 5));
    }
    const stats = follower.transportStats!;
    const sentBefore = stats.sent;
    const receivedBefore = stats.received;
    // Heartbeats every tick (50 ms): until the follower has sent something, or has taken
    // many heartbeats and answered none.
    while (stats.sent === sentBefore && stats.received < receivedBefore + 10) {
      assert.ok(Date.now() < until, "no heartbeats reached the follower");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(followerStorage.held, "the write is still held");
    // Before: 0 of 10 — the follower sent nothing until its write finished.
    assert.ok(stats.sent > sentBefore, `the follower sent ${stats.sent - sentBefore} messages while writing, having received ${stats.received - receivedBefore}`);

    followerStorage.release();
    const applied = await large;
    assert.ok(applied.index > 0);
    assert.ok(nodes[leaderIndex].isLeader());
  } finally {
    for (const s of storages.values()) s.release();
    await Promise.all(nodes.map((n) => n.close()));
  }
});
