import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { ApplyResult, Command } from "../../../src/fsm/command.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import type { Consensus } from "../../../src/server/consensus.ts";
import { LeaderReconcile, reconcileCommand, SERF_CHECK_FAILED_OUTPUT } from "../../../src/server/leader-reconcile.ts";
import { StateStore } from "../../../src/state/store.ts";
import { type LocalMember, MEMBER_STATUS, type MemberChange } from "../../../src/model/members.ts";

/** A consensus whose leadership the test flips, applying proposals to a real state machine. */
class FakeConsensus implements Pick<Consensus, "propose" | "isLeader"> {
  leader = true;
  readonly proposed: Command[] = [];
  readonly #fsm: StateMachine;
  #index = 0;
  constructor(fsm: StateMachine) {
    this.#fsm = fsm;
  }
  propose(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
    if (!this.leader) return Promise.reject(new Error("not leader"));
    this.proposed.push(cmd);
    const index = ++this.#index;
    return Promise.resolve({ index, result: this.#fsm.apply(index, cmd) });
  }
  isLeader(): boolean {
    return this.leader;
  }
}

/** Scripted gossip: a member list plus change events pushed by the test. */
class ScriptedMembership {
  list: LocalMember[] = [];
  readonly #listeners = new Set<(c: MemberChange) => void>();
  members(): LocalMember[] {
    return this.list;
  }
  onMemberChange(listener: (c: MemberChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  push(change: MemberChange): void {
    for (const l of this.#listeners) l(change);
  }
}

const clientTags = { role: "node", dc: "dc1", id: "aaaaaaaa-0000-0000-0000-000000000001", segment: "" };
const serverTags = { role: "consul", dc: "dc1", id: "bbbbbbbb-0000-0000-0000-000000000002", port: "8300", raft_vsn: "3", build: "1.20.0:" };

function localMember(name: string, addr: string, tags: Record<string, string>, status: LocalMember["status"]): LocalMember {
  return { name, addr, port: 8301, tags, status, protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4 };
}

function rig() {
  const state = new StateStore();
  const consensus = new FakeConsensus(new StateMachine(state));
  const membership = new ScriptedMembership();
  const duty = new LeaderReconcile(
    { consensus, catalog: state.catalog, membership, clock: systemClock, logger: silentLogger, nodeName: "leader", datacenter: "dc1" },
    { leaderCheckMs: 10 },
  );
  return { state, consensus, membership, duty };
}

const serfStatus = (state: StateStore, node: string) => state.catalog.nodeChecks(node).find((c) => c.CheckID === "serfHealth");

test("leader reconcile - gaining leadership registers every alive member with a passing serfHealth", async () => {
  const { state, membership, duty } = rig();
  membership.list = [localMember("client-1", "10.0.0.2", clientTags, MEMBER_STATUS.alive), localMember("server-2", "10.0.0.3", serverTags, MEMBER_STATUS.alive)];
  duty.start();
  await duty.idle();
  assert.equal(state.catalog.getNode("client-1")?.Address, "10.0.0.2");
  assert.equal(state.catalog.getNode("client-1")?.ID, clientTags.id);
  assert.equal(serfStatus(state, "client-1")?.Status, "passing");
  assert.equal(serfStatus(state, "client-1")?.Output, "Agent alive and reachable");
  assert.equal(state.catalog.getService("server-2", "consul")?.Port, 8300, "servers also get the consul service");
  duty.stop();
});

test("leader reconcile - a failed member's serfHealth goes critical, a left member is deregistered", async () => {
  const { state, membership, duty } = rig();
  duty.start();
  membership.push({ name: "c1", addr: "10.0.0.2", port: 8301, tags: clientTags, status: "alive" });
  membership.push({ name: "c2", addr: "10.0.0.4", port: 8301, tags: clientTags, status: "alive" });
  await duty.idle();
  membership.push({ name: "c1", addr: "10.0.0.2", port: 8301, tags: clientTags, status: "failed" });
  membership.push({ name: "c2", addr: "10.0.0.4", port: 8301, tags: clientTags, status: "left" });
  await duty.idle();
  assert.equal(serfStatus(state, "c1")?.Status, "critical");
  assert.equal(serfStatus(state, "c1")?.Output, SERF_CHECK_FAILED_OUTPUT);
  assert.equal(state.catalog.getNode("c2"), undefined);
  duty.stop();
});

test("leader reconcile - an unchanged member proposes nothing; the leader never deregisters itself", async () => {
  const { consensus, membership, duty } = rig();
  duty.start();
  membership.push({ name: "c1", addr: "10.0.0.2", port: 8301, tags: clientTags, status: "alive" });
  await duty.idle();
  const before = consensus.proposed.length;
  membership.push({ name: "c1", addr: "10.0.0.2", port: 8301, tags: clientTags, status: "alive" });
  membership.push({ name: "leader", addr: "10.0.0.1", port: 8301, tags: serverTags, status: "left" });
  await duty.idle();
  assert.equal(consensus.proposed.length, before);
  duty.stop();
});

test("leader reconcile - followers propose nothing; a catalog node gossip forgot is reaped on gaining leadership", async () => {
  const { state, consensus, membership, duty } = rig();
  consensus.leader = false;
  duty.start();
  membership.push({ name: "c1", addr: "10.0.0.2", port: 8301, tags: clientTags, status: "alive" });
  await duty.idle();
  assert.equal(consensus.proposed.length, 0);
  assert.equal(duty.phase, "standby");
  // A node with serfHealth that gossip does not know (registered by an earlier leader).
  const cmd = reconcileCommand({ name: "ghost", addr: "10.0.0.9", port: 8301, tags: clientTags, status: "alive" }, { catalog: state.catalog, nodeName: "leader", datacenter: "dc1", nowMs: 0 });
  assert.ok(cmd);
  consensus.leader = true;
  await consensus.propose(cmd);
  membership.list = [localMember("c1", "10.0.0.2", clientTags, MEMBER_STATUS.alive)];
  duty.leadershipChanged();
  await duty.idle();
  assert.equal(duty.phase, "leading");
  assert.equal(state.catalog.getNode("ghost"), undefined);
  assert.equal(serfStatus(state, "c1")?.Status, "passing");
  duty.stop();
});

test("leader reconcile - a member of another datacenter or role is left alone", () => {
  const state = new StateStore();
  const inputs = { catalog: state.catalog, nodeName: "leader", datacenter: "dc1", nowMs: 0 };
  assert.equal(reconcileCommand({ name: "x", addr: "10.0.0.5", port: 8301, tags: { ...clientTags, dc: "dc2" }, status: "alive" }, inputs), undefined);
  assert.equal(reconcileCommand({ name: "y", addr: "10.0.0.6", port: 8301, tags: { role: "nomad" }, status: "alive" }, inputs), undefined);
});

test("leader reconcile - a proposal failing on lost leadership is retried once leadership returns", async () => {
  const { state, consensus, membership, duty } = rig();
  duty.start();
  await duty.idle();
  consensus.leader = false;
  membership.push({ name: "c3", addr: "10.0.0.7", port: 8301, tags: clientTags, status: "alive" });
  await duty.idle();
  assert.equal(state.catalog.getNode("c3"), undefined);
  membership.list = [localMember("c3", "10.0.0.7", clientTags, MEMBER_STATUS.alive)];
  consensus.leader = true;
  await new Promise((r) => setTimeout(r, 50));
  await duty.idle();
  assert.equal(serfStatus(state, "c3")?.Status, "passing");
  duty.stop();
});
