// Leader duties under Consul's names: each full reconcile pass waits for a barrier first
// (consul.leader.barrier) and is timed as a whole (consul.leader.reconcile).
import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { ApplyResult, Command } from "../../../src/fsm/command.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { singleIntervalMetrics } from "../../support/metrics.ts";
import { LeaderReconcile } from "../../../src/server/leader-reconcile.ts";
import { StateStore } from "../../../src/state/store.ts";
import { type LocalMember, MEMBER_STATUS, type MemberChange } from "../../../src/model/members.ts";

const clientTags = { role: "node", dc: "dc1", id: "aaaaaaaa-0000-0000-0000-000000000001", segment: "" };
const member = (name: string): LocalMember => ({
  name, addr: "10.0.0.2", port: 8301, tags: clientTags, status: MEMBER_STATUS.alive,
  protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4,
});

test("leader metrics - a full pass records consul.leader.barrier (the barrier's wait) and consul.leader.reconcile", async () => {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let index = 0;
  let barriers = 0;
  let applied = 0;
  const consensus = {
    propose(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
      const at = ++index;
      return Promise.resolve({ index: at, result: fsm.apply(at, cmd) });
    },
    isLeader: () => true,
    async readBarrier(): Promise<void> {
      barriers++;
      await new Promise((r) => setTimeout(r, 40));
      applied = index;
    },
  };
  const metrics = singleIntervalMetrics();
  const membership = { members: () => [member("c1"), member("c2")], onMemberChange: (_l: (c: MemberChange) => void) => () => {} };
  const duty = new LeaderReconcile({ consensus, catalog: state.catalog, membership, clock: systemClock, logger: silentLogger, nodeName: "leader", datacenter: "dc1", metrics }, { leaderCheckMs: 10 });
  duty.start();
  await new Promise((r) => setTimeout(r, 20));
  await duty.idle();
  duty.stop();
  assert.equal(barriers, 1, "one barrier before the pass");
  assert.equal(applied, 0, "the barrier ran before any proposal of the pass");
  assert.ok(state.catalog.getNode("c2"), "the pass registered the members");
  const samples = new Map(metrics.summary().Samples.map((s) => [s.Name, s]));
  const barrier = samples.get("consul.leader.barrier");
  assert.equal(barrier?.Count, 1);
  assert.ok(barrier.Min >= 35, `barrier timed at ${barrier.Min} ms`);
  assert.equal(samples.get("consul.leader.reconcile")?.Count, 1);
});
