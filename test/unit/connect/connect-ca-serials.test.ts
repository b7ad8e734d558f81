import assert from "node:assert/strict";
import { test } from "node:test";
import { createLeafKeyAndCsr } from "../../../src/connect/leaf-key.ts";
import { trustDomainOf } from "../../../src/connect/spiffe.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { ConnectCa } from "../../../src/server/connect-ca.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";
import { eventually } from "../../support/eventually.ts";

// Leaf serial numbers come from blocks the leader reserves with one Raft write each. Every
// certificate must still get its own number: across concurrent signings, a leadership change
// (the block is dropped) and a restart (the block was only in memory; the counter is Raft state).

/** Small blocks keep the test short; the server's default is SERIAL_BLOCK. */
const BLOCK = 8;

interface Server {
  ca: ConnectCa;
  serialWrites: () => number;
}

function server(state: StateStore): Server {
  const log = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  let writes = 0;
  const propose = log.propose.bind(log);
  log.propose = (cmd: Command) => {
    if (cmd.Type === "connect-ca-serial") writes++;
    return propose(cmd);
  };
  const ca = new ConnectCa({ consensus: log, state, clock: systemClock, rng: seededRng(7), logger: silentLogger, datacenter: "dc1", enabled: true, seed: { provider: "consul", config: { csr_max_per_second: 0 } }, serialBlock: BLOCK });
  return { ca, serialWrites: () => writes };
}

async function signSerials(state: StateStore, ca: ConnectCa, services: string[]): Promise<number[]> {
  const clusterId = state.connectCa.config()?.ClusterID ?? "";
  const csrs = await Promise.all(services.map((s) => createLeafKeyAndCsr(`spiffe://${trustDomainOf(clusterId)}/ns/default/dc/dc1/svc/${s}`, s)));
  const leaves = await Promise.all(csrs.map((c) => ca.sign(c.csrPem)));
  return leaves.map((l) => Number.parseInt(l.SerialNumber.replaceAll(":", ""), 16));
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test("leaf serials: one Raft write per block, unique across concurrent signings, a leadership change and a restart; a re-issued leaf's index passes the old one", async () => {
  const state = new StateStore();
  const first = server(state);
  first.ca.start();
  await eventually("the CA to initialise", async () => state.connectCa.activeRoot() !== undefined, 10_000);
  const rootWrites = first.serialWrites();

  // Concurrent signings of more than two blocks: the root's block's remainder, then one
  // reservation per block, each shared by the signings waiting for it.
  const batch = await signSerials(state, first.ca, names("a", 2 * BLOCK + 3));
  assert.equal(new Set(batch).size, batch.length);
  assert.equal(first.serialWrites() - rootWrites, 2);

  // A leadership change drops the rest of the block; the next leaf takes a fresh one.
  first.ca.leadershipChanged();
  const afterChange = await signSerials(state, first.ca, ["b"]);
  assert.ok(afterChange[0] > Math.max(...batch), `${afterChange[0]} after ${Math.max(...batch)}`);
  assert.equal(first.serialWrites() - rootWrites, 3);
  first.ca.stop();

  // A re-issued leaf passes its predecessor's index even when nothing was written in between.
  const clusterId = state.connectCa.config()?.ClusterID ?? "";
  const { csrPem } = await createLeafKeyAndCsr(`spiffe://${trustDomainOf(clusterId)}/ns/default/dc/dc1/svc/d`, "d");
  const firstLeaf = await first.ca.sign(csrPem);
  const again = await first.ca.sign(csrPem, () => {}, firstLeaf.ModifyIndex);
  assert.ok(again.ModifyIndex > firstLeaf.ModifyIndex, `${again.ModifyIndex} after ${firstLeaf.ModifyIndex}`);
  assert.notEqual(again.SerialNumber, firstLeaf.SerialNumber);

  // A restart (from a snapshot of the Raft state): the block in memory is gone, the counter is not.
  const restarted = new StateStore();
  restoreState(restarted, serializeState(state));
  const second = server(restarted);
  const afterRestart = await signSerials(restarted, second.ca, names("c", 3));
  const all = [...batch, ...afterChange, ...[firstLeaf, again].map((l) => Number.parseInt(l.SerialNumber.replaceAll(":", ""), 16)), ...afterRestart];
  assert.equal(new Set(all).size, all.length);
  assert.ok(Math.min(...afterRestart) > Math.max(...all.slice(0, -afterRestart.length)));
  second.ca.stop();
});
