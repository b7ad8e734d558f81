import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode, RaftStateMachine } from "../../../src/server/raft-node.ts";
import type { Entry } from "../../../src/raft/messages.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";

// While a large entry is prepared aside, what commits behind it waits in the apply pipeline
// (issue 12 item 6). That pipeline is bounded (RaftConfig.maxApplyingBytes): once what waits
// fills it, the core hands out no more and the leader keeps new proposals queued, their
// proposers waiting, while heartbeats and acknowledgements go on. The preparation is held by
// the test and released by it, not timed; the test counts log indexes.

const LARGE = 0xff;
const SMALL_BYTES = 1024;
const WAVE = 10;

void test("raft node - proposals wait while the apply pipeline behind a large entry is full, and all apply in order once it drains", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const releases: (() => void)[] = [];
  let released = false;
  const appliedOrder = new Map<number, number[]>();
  const nodes: RaftNode[] = [];
  try {
    for (const id of ids) {
      const order: number[] = [];
      appliedOrder.set(id, order);
      const machine: RaftStateMachine = {
        apply: (entry: Entry) => {
          order.push(entry.index);
        },
        prepare: (entry: Entry) => {
          if (entry.data[0] !== LARGE || released) return undefined;
          return new Promise<void>((resolve) => releases.push(resolve));
        },
        capture: () => new Uint8Array(0),
        restore: () => undefined,
      };
      // Room for about eight of the small entries behind the large one.
      nodes.push(await startInMemoryNode(id, members, { stateMachine: machine, electionTick: 60, raft: { maxApplyingBytes: 8 * SMALL_BYTES } }));
    }
    const leader = await electLeader(nodes);
    const term = leader.term();
    await leader.propose(Uint8Array.of(1));

    const large = leader.propose(Uint8Array.of(LARGE));
    large.catch(() => undefined);
    const until = Date.now() + 10_000;
    while (releases.length < ids.length) {
      assert.ok(Date.now() < until, `only ${releases.length} servers started preparing`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Committed and being prepared everywhere, nothing proposed after it yet: the log's last.
    const largeIndex = leader.logStatus().lastLogIndex;

    // The first wave commits (the pipeline had room when it was proposed) and fills it.
    const first = Array.from({ length: WAVE }, (_, i) => leader.propose(new Uint8Array(SMALL_BYTES).fill(i)));
    for (const p of first) p.catch(() => undefined);
    while (leader.logStatus().commitIndex < largeIndex + WAVE) {
      assert.ok(Date.now() < until, "the first wave did not commit");
      await new Promise((r) => setTimeout(r, 5));
    }
    // A few rounds with the followers, so the leader's loop has handed the committed wave to
    // its pipeline (the Ready after the commit; in-memory writes finish at once).
    const stats = leader.transportStats!;
    const committedAt = stats.received;
    while (stats.received < committedAt + 10) {
      assert.ok(Date.now() < until, "the followers stopped answering the leader");
      await new Promise((r) => setTimeout(r, 10));
    }
    // The second wave is held: many rounds pass and none of it is appended.
    const second = Array.from({ length: WAVE }, (_, i) => leader.propose(new Uint8Array(SMALL_BYTES).fill(i)));
    for (const p of second) p.catch(() => undefined);
    const receivedBefore = stats.received;
    while (stats.received < receivedBefore + 40) {
      assert.ok(Date.now() < until, "the followers stopped answering the leader");
      await new Promise((r) => setTimeout(r, 10));
    }
    // Before: all of it was appended and committed, the pipeline growing with every write.
    assert.equal(leader.logStatus().lastLogIndex, largeIndex + WAVE, "the second wave was held out of the log");
    assert.equal(leader.term(), term, "heartbeats went on: no election");

    released = true;
    for (const release of releases) release();
    const applied = await Promise.all([...first, ...second]);
    assert.deepEqual(
      applied.map((a) => a.index),
      Array.from({ length: 2 * WAVE }, (_, i) => largeIndex + 1 + i),
      "every proposal applied, in proposal order",
    );
    assert.equal((await large).index, largeIndex);
    const last = largeIndex + 2 * WAVE;
    while (!nodes.every((n) => n.appliedIndex() >= last)) {
      assert.ok(Date.now() < until + 10_000, "not every server applied everything");
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const [id, order] of appliedOrder) {
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `server ${id} applied out of log order`);
      assert.ok(order.includes(largeIndex) && order.includes(last), `server ${id}: ${order.join(",")}`);
    }
  } finally {
    released = true;
    for (const release of releases) release();
    await Promise.all(nodes.map((n) => n.close()));
  }
});
