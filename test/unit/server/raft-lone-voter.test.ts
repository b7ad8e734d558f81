import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine, type PreparedApply } from "../../../src/fsm/apply.ts";
import type { ApplyResult, Command } from "../../../src/fsm/command.ts";
import { RaftConsensus } from "../../../src/server/raft-consensus.ts";
import { RaftNode } from "../../../src/server/raft-node.ts";
import { InMemoryRaftStorage } from "../../../src/server/raft-storage.ts";
import type { PersistBatch } from "../../../src/storage/disk-storage.ts";
import { StateStore } from "../../../src/state/store.ts";

// -dev's Raft (one voter, in memory, no transport): nothing ever reads its snapshots or decodes
// its entries but itself, so it compacts without capturing the state and applies a command as
// proposed when decoding its bytes would give the very same value.

test("raft lone in-memory voter - compacts its log at the threshold without capturing the state", async () => {
  const fsm = new StateMachine(new StateStore());
  let captures = 0;
  const state = fsm.state;
  const consensus = await RaftConsensus.start({
    nodeId: "0b5b1a37-7a0e-4c43-9d2e-8c4f6c1d2e3f",
    serverAddress: "127.0.0.1:8300",
    storage: { kind: "memory" },
    fsm,
    bootstrap: true,
    selfElect: true,
    snapshots: { threshold: 8, trailingLogs: 2 },
  });
  try {
    const serialize = state.kv.dump.bind(state.kv);
    state.kv.dump = () => {
      captures++;
      return serialize();
    };
    for (let i = 0; i < 30; i++) {
      const { result } = await consensus.propose({ Type: "kv-set", Op: "set", Key: `k${i}`, Value: Buffer.from("v"), Flags: 0n, NowMs: 1 });
      assert.deepEqual(result, { ok: true, value: true });
    }
    await consensus.node.idle();
    assert.ok(consensus.node.snapshotIndex() >= 24, `snapshot at ${consensus.node.snapshotIndex()}`);
    assert.equal(captures, 0);
    assert.equal(fsm.state.kv.list("").length, 30);
  } finally {
    await consensus.close();
  }
});

test("raft node - snapshots without state are refused for a node with a transport", async () => {
  await assert.rejects(
    RaftNode.start({ id: 1, storage: new InMemoryRaftStorage(), members: new Map([[1, { host: "127.0.0.1", port: 0 }]]), listen: true, snapshots: { threshold: 8, trailingLogs: 2, captureState: false } }),
    /only for a node without a transport/,
  );
});

class RecordingMachine extends StateMachine {
  readonly applied: Command[] = [];
  override apply(index: number, cmd: Command, prepared?: PreparedApply): ApplyResult {
    this.applied.push(cmd);
    return super.apply(index, cmd, prepared);
  }
}

function registration(node: string, serviceName: string, port: number): Command {
  return {
    Type: "catalog-register",
    Node: { ID: "", Node: node, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: { rack: "r1" } },
    SkipNodeUpdate: false,
    Service: { ID: "s", Service: serviceName, Tags: ["a"], Address: "", Meta: null, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: { MeshGateway: {}, Expose: {} }, Connect: {}, PeerName: "" },
    Checks: [],
    NowMs: 1,
  };
}

test("raft lone in-memory voter - applies a copy of the proposed command only when decoding would give the same value", async () => {
  const fsm = new RecordingMachine(new StateStore());
  const consensus = await RaftConsensus.start({ nodeId: "5d0c7c1e-2f5a-4b8e-9a51-3c2d1e0f9a8b", serverAddress: "127.0.0.1:8300", storage: { kind: "memory" }, fsm, bootstrap: true, selfElect: true });
  try {
    const plain = registration("n1", "web", 80);
    await consensus.propose(plain);
    // Not decoded (msgpack reads a fresh object too), but a private copy all the same.
    assert.deepStrictEqual(fsm.applied.at(-1), plain);
    assert.notEqual(fsm.applied.at(-1), plain);
    // A lone surrogate comes back from msgpack as U+FFFD, -0 as 0: the entry is decoded, as everywhere else.
    const surrogate = registration("n2", "web\ud800", 80);
    await consensus.propose(surrogate);
    assert.notEqual(fsm.applied.at(-1), surrogate);
    assert.equal(fsm.state.catalog.getService("n2", "s")?.Service, "web\ufffd");
    const negativeZero = registration("n3", "web", -0);
    await consensus.propose(negativeZero);
    assert.notEqual(fsm.applied.at(-1), negativeZero);
    assert.ok(Object.is(fsm.state.catalog.getService("n3", "s")?.Port, 0));
  } finally {
    await consensus.close();
  }
});

test("raft lone in-memory voter - applies a handed-over command itself, under the same rules as the copy", async () => {
  const fsm = new RecordingMachine(new StateStore());
  const consensus = await RaftConsensus.start({ nodeId: "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", serverAddress: "127.0.0.1:8300", storage: { kind: "memory" }, fsm, bootstrap: true, selfElect: true });
  try {
    const plain = registration("n1", "web", 80);
    await consensus.propose(plain, { handedOver: true });
    assert.equal(fsm.applied.at(-1), plain);
    assert.equal(fsm.state.catalog.getService("n1", "s")?.Service, "web");
    // What decoding would change is decoded all the same.
    const surrogate = registration("n2", "web\ud800", 80);
    await consensus.propose(surrogate, { handedOver: true });
    assert.notEqual(fsm.applied.at(-1), surrogate);
    assert.equal(fsm.state.catalog.getService("n2", "s")?.Service, "web\ufffd");
    const negativeZero = registration("n3", "web", -0);
    await consensus.propose(negativeZero, { handedOver: true });
    assert.notEqual(fsm.applied.at(-1), negativeZero);
    assert.ok(Object.is(fsm.state.catalog.getService("n3", "s")?.Port, 0));
  } finally {
    await consensus.close();
  }
});

/** Counts the entries of every log write (one per Ready that carried entries). */
class CountingStorage extends InMemoryRaftStorage {
  readonly appends: number[] = [];
  override persist(batch: PersistBatch): Promise<void> {
    if (batch.entries.length > 0) this.appends.push(batch.entries.length);
    return super.persist(batch);
  }
}

test("raft node - proposals after the first of an event-loop turn go as one batch, each at its own index", async () => {
  const storage = new CountingStorage();
  const applied: { index: number; data: number }[] = [];
  const node = await RaftNode.start({
    id: 1,
    storage,
    members: new Map(),
    listen: false,
    bootstrapVoters: [1],
    apply: (entry) => {
      applied.push({ index: entry.index, data: entry.data[0] });
      return entry.data[0];
    },
  });
  try {
    node.campaign();
    const deadline = Date.now() + 10_000;
    while (!node.isLeader()) {
      assert.ok(Date.now() < deadline, "no leader elected");
      await new Promise((r) => setTimeout(r, 5));
    }
    await node.idle();
    storage.appends.length = 0;
    // Three proposals from three callbacks of one check phase, each finishing its microtasks
    // before the next runs: as requests read from three sockets in one poll phase are.
    const outcomes = await new Promise<{ index: number; result: unknown }[]>((resolve, reject) => {
      const proposals: Promise<{ index: number; result: unknown }>[] = [];
      for (let i = 1; i <= 3; i++) {
        setImmediate(() => {
          proposals.push(node.propose(Uint8Array.of(i)));
          if (i === 3) Promise.all(proposals).then(resolve, reject);
        });
      }
    });
    // The first went alone and at once; the other two waited for the turn's end, together.
    assert.deepEqual(storage.appends, [1, 2]);
    const first = outcomes[0].index;
    assert.deepEqual(
      outcomes.map((o) => [o.index, o.result]),
      [
        [first, 1],
        [first + 1, 2],
        [first + 2, 3],
      ],
    );
    assert.deepEqual(applied.slice(-3), [
      { index: first, data: 1 },
      { index: first + 1, data: 2 },
      { index: first + 2, data: 3 },
    ]);
    // A proposal in a later turn goes at once again.
    const later = await node.propose(Uint8Array.of(4));
    assert.equal(later.index, first + 3);
    assert.deepEqual(storage.appends, [1, 2, 1]);
  } finally {
    await node.close();
  }
});
