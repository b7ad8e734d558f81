import { test } from "node:test";
import assert from "node:assert/strict";
import { RaftNode, type RaftStateMachine } from "../../../src/server/raft-node.ts";
import { InMemoryRaftStorage } from "../../../src/server/raft-storage.ts";
import type { Entry } from "../../../src/raft/messages.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";
import { eventually } from "../../support/eventually.ts";

// A large entry is prepared (decoded, its rows built) over many turns before it applies
// (issue 12 item 6). The Ready loop must not wait for that: a leader that did sent no
// heartbeats and a follower that did acknowledged nothing until its preparation ended, the
// same stall as a snapshot capture in the loop. Applies still keep log order: what commits
// after the large entry applies after it, everywhere.

const PREPARE_MS = 2_500; // five election timeouts of this cluster
const LARGE = 0xff;

void test("raft node - a large entry is prepared aside: heartbeats and acknowledgements go on, later entries commit meanwhile and apply after it", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const appliedOrder = new Map<number, number[]>();
  const preparing = new Set<number>();
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
          if (entry.data[0] !== LARGE) return undefined;
          preparing.add(id);
          return new Promise((resolve) =>
            setTimeout(() => {
              preparing.delete(id);
              resolve();
            }, PREPARE_MS),
          );
        },
        capture: () => new Uint8Array(0),
        restore: () => undefined,
      };
      nodes.push(
        await startInMemoryNode(id, members, {
          stateMachine: machine,
          snapshots: { threshold: 0, trailingLogs: 0 },
        }),
      );
    }
    const leader = await electLeader(nodes);
    const leaderId = ids[nodes.indexOf(leader)];
    const followers = nodes.filter((n) => n !== leader);
    const term = leader.term();
    await leader.propose(Uint8Array.of(1));

    // Every server prepares the large entry for PREPARE_MS; its proposer waits for its apply.
    const large = leader.propose(Uint8Array.of(LARGE));
    // Awaited below; a rejection meanwhile must fail the assertions, not the process.
    large.catch(() => undefined);
    await eventually("every server to start preparing the large entry", () => Promise.resolve(preparing.size === ids.length), 5_000, 10);
    const largeIndex = leader.logStatus().lastLogIndex;
    const after = leader.propose(Uint8Array.of(2));
    const afterIndex = leader.logStatus().lastLogIndex;
    let afterSettled = false;
    after.then(
      () => (afterSettled = true),
      () => (afterSettled = true),
    );

    const preparedAt = Date.now();
    let worstAck = 0;
    let worstHeartbeat = 0;
    let committedMeanwhile = false;
    while (preparing.has(leaderId) && Date.now() - preparedAt < PREPARE_MS) {
      for (const [, p] of leader.progress()) worstAck = Math.max(worstAck, p.lastContactMs);
      for (const f of followers) worstHeartbeat = Math.max(worstHeartbeat, f.lastContactMs());
      if (leader.logStatus().commitIndex >= afterIndex) committedMeanwhile = true;
      assert.equal(afterSettled, false, "a later entry applied before the large one");
      await new Promise((r) => setTimeout(r, 25));
    }
    // Before: the preparing leader's loop sent nothing, and the followers' answered nothing,
    // for the whole preparation (their contact ages reached PREPARE_MS).
    assert.ok(worstHeartbeat < PREPARE_MS / 2, `followers went ${worstHeartbeat} ms without hearing from the leader`);
    assert.ok(worstAck < PREPARE_MS / 2, `the leader went ${worstAck} ms without an answer from a follower`);
    assert.ok(committedMeanwhile, "the entry after the large one was not committed while it was being prepared");

    const applied = await large;
    assert.equal(applied.index, largeIndex);
    assert.equal((await after).index, afterIndex);
    assert.equal(leader.term(), term, "no election during the preparation");
    assert.ok(leader.isLeader());
    for (const n of nodes) assert.equal(n.term(), term);
    const settle = Date.now() + 10_000;
    while (!nodes.every((n) => n.appliedIndex() >= afterIndex)) {
      assert.ok(Date.now() < settle, "not every server applied the later entry");
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of ids) {
      const order = appliedOrder.get(id)!;
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `server ${id} applied out of log order`);
      assert.ok(order.indexOf(largeIndex) >= 0 && order.indexOf(largeIndex) < order.indexOf(afterIndex), `server ${id}: ${order.join(",")}`);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
});

void test("raft node - a snapshot from the leader is restored aside: the follower acknowledges heartbeats meanwhile", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  let restoring = false;
  let restored = 0;
  const machineOf = (slowRestore: boolean): RaftStateMachine => {
    let applied = 0;
    return {
      apply: () => {
        applied += 1;
      },
      capture: () => Uint8Array.of(applied & 0xff),
      restore: () => undefined,
      restoreSliced: slowRestore
        ? () => {
            restoring = true;
            return new Promise((resolve) =>
              setTimeout(() => {
                restoring = false;
                restored += 1;
                resolve();
              }, PREPARE_MS),
            );
          }
        : undefined,
    };
  };
  const start = (id: number, slowRestore: boolean): Promise<RaftNode> =>
    RaftNode.start({
      id,
      storage: new InMemoryRaftStorage(),
      members,
      bootstrapVoters: ids,
      stateMachine: machineOf(slowRestore),
      snapshots: { threshold: 4, trailingLogs: 1 },
      tickMs: 50,
      electionTick: 10,
      heartbeatTick: 1,
    });
  const nodes: RaftNode[] = [];
  try {
    nodes.push(await start(1, false), await start(2, false));
    const leader = await electLeader(nodes);
    const term = leader.term();
    // Server 3 never ran: the log it needs is compacted away, so it catches up by snapshot.
    for (let i = 0; i < 12; i++) await leader.propose(Uint8Array.of(i));
    const compacted = Date.now() + 10_000;
    while (leader.snapshotIndex() === 0) {
      assert.ok(Date.now() < compacted, "the leader took no snapshot");
      await new Promise((r) => setTimeout(r, 20));
    }
    nodes.push(await start(3, true));
    const began = Date.now() + 10_000;
    while (!restoring) {
      assert.ok(Date.now() < began, "server 3 never started restoring a snapshot");
      await new Promise((r) => setTimeout(r, 10));
    }
    const restoreStarted = Date.now();
    let worstAck = 0;
    while (restoring && Date.now() - restoreStarted < PREPARE_MS) {
      await new Promise((r) => setTimeout(r, 25));
      // Counted from when the restore began: the answers before it do not count.
      if (Date.now() - restoreStarted > 500) worstAck = Math.max(worstAck, leader.progress().get(3)?.lastContactMs ?? Infinity);
    }
    // Before: the follower's Ready loop waited for the restore and answered nothing.
    assert.ok(worstAck < PREPARE_MS / 2, `the leader went ${worstAck} ms without an answer from the restoring follower`);
    const done = Date.now() + 10_000;
    while (restored === 0 || nodes[2].appliedIndex() < leader.appliedIndex()) {
      assert.ok(Date.now() < done, "server 3 did not catch up after its restore");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(leader.term(), term);
    assert.ok(leader.isLeader());
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
});
