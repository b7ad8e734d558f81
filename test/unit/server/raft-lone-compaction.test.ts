import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { RaftConsensus } from "../../../src/server/raft-consensus.ts";
import { RaftNode } from "../../../src/server/raft-node.ts";
import { InMemoryRaftStorage } from "../../../src/server/raft-storage.ts";
import { StateStore } from "../../../src/state/store.ts";

// -dev's Raft (one voter, in memory, no transport) compacts its log without capturing the
// state: nothing ever reads those snapshots.

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
