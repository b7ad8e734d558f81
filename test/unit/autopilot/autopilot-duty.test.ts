import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { ApplyResult, Command } from "../../../src/fsm/command.ts";
import { DEFAULT_AUTOPILOT_CONFIG } from "../../../src/model/autopilot.ts";
import type { Clock, TimerHandle } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { AutopilotDuty, type AutopilotRaft } from "../../../src/server/autopilot.ts";
import type { RaftPeer, RaftPeerProgress } from "../../../src/server/raft-consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import { type LocalMember, MEMBER_STATUS, type MemberStatus } from "../../../src/model/members.ts";

/** A clock the test moves by hand; timers fire in order as it passes them. */
class ManualClock implements Clock {
  #now = 1_700_000_000_000;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.#now;
  }
  monotonicMs(): number {
    return this.#now;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + delayMs, fn, live: true };
    this.#timers.push(t);
    return { cancel: () => (t.live = false) };
  }
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.#now = due.at;
      due.fn();
    }
    this.#now = end;
  }
}

/** Moves the clock tick by tick, letting each tick's leader duties finish as real time would. */
async function run(clock: ManualClock, duty: AutopilotDuty, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 1_000) {
    clock.advance(Math.min(1_000, left));
    await duty.idle();
  }
}

const id = (n: number) => `0000000${n}-0000-0000-0000-000000000000`;
const peer = (n: number): RaftPeer => ({ id: id(n), address: `10.0.0.${n}:8300`, raftAddress: `10.0.0.${n}:8300` });

class FakeRaft implements AutopilotRaft {
  readonly nodeId = id(1);
  voters = [1, 2, 3];
  learners: number[] = [];
  readonly removed: string[] = [];
  readonly promoted: string[] = [];
  configuration() {
    return { voters: this.voters.map(peer), learners: this.learners.map(peer) };
  }
  progress(): Map<string, RaftPeerProgress> {
    return new Map([...this.voters, ...this.learners].map((n) => [id(n), { matchIndex: 5, lastContactMs: 0, voter: this.voters.includes(n) }]));
  }
  leaderId(): string {
    return id(1);
  }
  term(): number {
    return 4;
  }
  removePeer(nodeId: string): Promise<void> {
    this.removed.push(nodeId);
    this.voters = this.voters.filter((n) => id(n) !== nodeId);
    return Promise.resolve();
  }
  addPeer(p: RaftPeer): Promise<void> {
    this.promoted.push(p.id);
    const n = this.learners.find((l) => id(l) === p.id);
    if (n !== undefined) {
      this.learners = this.learners.filter((l) => l !== n);
      this.voters.push(n);
    }
    return Promise.resolve();
  }
}

function member(n: number, status: MemberStatus): LocalMember {
  return { name: `s${n}`, addr: `10.0.0.${n}`, port: 8301, tags: { id: id(n), build: "1.20.0:abc", role: "consul" }, status, protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4 };
}

function setUp(options: { leader?: boolean } = {}) {
  const clock = new ManualClock();
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let index = 0;
  const consensus = {
    leader: options.leader ?? true,
    propose(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
      index++;
      return Promise.resolve({ index, result: fsm.apply(index, cmd) });
    },
    isLeader() {
      return this.leader;
    },
    appliedIndex: () => Math.max(index, 5),
    lastContactMs: () => 0,
  };
  const raft = new FakeRaft();
  const statuses = new Map<number, MemberStatus>([
    [1, MEMBER_STATUS.alive],
    [2, MEMBER_STATUS.alive],
    [3, MEMBER_STATUS.alive],
  ]);
  const membership = { members: () => [...statuses].map(([n, s]) => member(n, s)) };
  const duty = new AutopilotDuty(
    {
      consensus,
      raft,
      membership,
      state,
      self: { nodeId: id(1), nodeName: "s1", version: "1.20.0", serverAddress: "10.0.0.1:8300" },
      seed: { ...DEFAULT_AUTOPILOT_CONFIG, MaxTrailingLogs: 77 },
      clock,
      logger: silentLogger,
    },
    { healthIntervalMs: 1_000, reconcileIntervalMs: 5_000 },
  );
  return { clock, state, consensus, raft, statuses, duty };
}

test("autopilot duty - a leader seeds the configuration from the agent's values once", async () => {
  const { duty, state } = setUp();
  assert.equal(duty.configuration().ModifyIndex, 0);
  assert.equal(duty.configuration().MaxTrailingLogs, 77);
  duty.start();
  await duty.idle();
  const stored = state.autopilot.get();
  assert.equal(stored?.MaxTrailingLogs, 77);
  assert.ok((stored?.ModifyIndex ?? 0) > 0);
  duty.stop();
});

test("autopilot duty - a follower judges health but neither seeds nor removes", async () => {
  const { duty, state, statuses, clock, raft } = setUp({ leader: false });
  duty.start();
  statuses.set(3, MEMBER_STATUS.failed);
  await run(clock, duty, 20_000);
  assert.equal(state.autopilot.get(), undefined);
  assert.deepEqual(raft.removed, []);
  assert.equal(duty.current().servers.find((s) => s.id === id(3))?.healthy, false);
  duty.stop();
});

test("autopilot duty - the leader removes a failed voter at its reconcile interval, and health shows it gone", async () => {
  const { duty, statuses, clock, raft } = setUp();
  duty.start();
  await duty.idle();
  assert.equal(duty.current().healthy, true);
  assert.equal(duty.current().failureTolerance, 1);
  statuses.set(3, MEMBER_STATUS.failed);
  await run(clock, duty, 1_000);
  assert.equal(duty.current().healthy, false);
  assert.deepEqual(raft.removed, [], "not before the reconcile interval");
  await run(clock, duty, 4_000);
  assert.deepEqual(raft.removed, [id(3)]);
  assert.deepEqual(
    duty.current().servers.map((s) => s.id),
    [id(1), id(2)],
  );
  // Two voters left: the next failure is never cleaned up (it would take the majority).
  statuses.set(2, MEMBER_STATUS.failed);
  await run(clock, duty, 10_000);
  assert.deepEqual(raft.removed, [id(3)]);
  duty.stop();
});

test("autopilot duty - with cleanup_dead_servers off a failed server stays", async () => {
  const { duty, statuses, clock, raft, consensus } = setUp();
  await consensus.propose({ Type: "autopilot-set-config", Op: "set", Config: { ...DEFAULT_AUTOPILOT_CONFIG, CleanupDeadServers: false } });
  duty.start();
  statuses.set(3, MEMBER_STATUS.failed);
  await run(clock, duty, 20_000);
  assert.deepEqual(raft.removed, []);
  duty.stop();
});

test("autopilot duty - a non-voter is promoted once healthy for the stabilization time (10 s)", async () => {
  const { duty, clock, raft, statuses } = setUp();
  duty.start();
  await run(clock, duty, 12_000);
  raft.learners = [4];
  statuses.set(4, MEMBER_STATUS.alive);
  await run(clock, duty, 9_000);
  assert.deepEqual(raft.promoted, [], "reconciled at 15 s and 20 s: not stable yet");
  await run(clock, duty, 4_000);
  assert.deepEqual(raft.promoted, [id(4)]);
  assert.deepEqual(duty.current().voters, [id(1), id(2), id(3), id(4)]);
  duty.stop();
});

test("autopilot duty - losing leadership restarts the history; stop ends the ticks", async () => {
  const { duty, consensus, clock } = setUp();
  duty.start();
  await duty.idle();
  assert.equal(duty.phase, "leading");
  const before = duty.current().firstStateMs;
  clock.advance(3_000);
  consensus.leader = false;
  duty.leadershipChanged();
  assert.equal(duty.phase, "standby");
  assert.ok(duty.current().firstStateMs > before);
  duty.stop();
  assert.equal(duty.phase, "stopped");
  const frozen = duty.current().computedAtMs;
  clock.advance(10_000);
  assert.equal(duty.current().computedAtMs, frozen);
});
