import { after, test } from "node:test";
import assert from "node:assert/strict";
import { systemClock, type Clock } from "../../../src/runtime/clock.ts";
import { leaderLeaseMsFor } from "../../../src/server/raft-timing.ts";
import { clusterSpecs, kvSet, proposeToLeader, startServer, waitFor, waitForLeader, type RunningServer } from "./raft-consensus-harness.ts";

// Issue 12 item 7: a leader must know its lease ran out the moment it is asked (monotonic
// clock), not at its next tick. Each server gets a clock that can jump forward, which is what
// a paused process sees when it runs again: time passed, no tick and no message ran.

class JumpingClock implements Clock {
  offsetMs = 0;
  now(): number {
    return systemClock.now() + this.offsetMs;
  }
  monotonicMs(): number {
    return systemClock.monotonicMs() + this.offsetMs;
  }
  setTimer(delayMs: number, fn: () => void): ReturnType<Clock["setTimer"]> {
    return systemClock.setTimer(delayMs, fn);
  }
}

const servers: RunningServer[] = [];
const clocks = new Map<string, JumpingClock>();
after(async () => {
  for (const s of servers) await s.consensus.close();
});

test("leader lease: past its lease a leader at once stops claiming to lead, reports its true last contact, and regains the lease when a quorum answers", async () => {
  const specs = await clusterSpecs(3);
  for (const spec of specs) {
    const clock = new JumpingClock();
    clocks.set(spec.peer.id, clock);
    servers.push(await startServer(spec, specs, { clock }));
  }
  await proposeToLeader(servers, kvSet("k", "v"));
  const leader = await waitForLeader(servers);
  assert.equal(leader.consensus.lastContactMs(), 0, "a leader in contact reports 0, as Consul does");
  const clock = clocks.get(leader.spec.peer.id);
  assert.ok(clock);

  const leaseMs = leaderLeaseMsFor({ tickMs: 50, electionTick: 10 });
  clock.offsetMs += 10 * leaseMs;
  // Synchronously, before any timer or socket of this process has run again.
  assert.equal(leader.consensus.isLeader(), false, "past its lease it does not serve as leader");
  assert.equal(leader.consensus.leaderAddress(), "", "nor claims a known leader");
  assert.ok(leader.consensus.lastContactMs() >= 10 * leaseMs, `LastContact ${leader.consensus.lastContactMs()} is the true age of its quorum contact`);

  // The others never stopped hearing from it (only its clock jumped): the next heartbeat
  // round restores the lease without an election.
  await waitFor("the lease renewed by a quorum", () => leader.consensus.isLeader());
  assert.equal(leader.consensus.leaderAddress(), leader.spec.peer.address);
  assert.equal(leader.consensus.lastContactMs(), 0);
});

test("leader lease: a follower that finds it was paused reports the true age, then vouches for its state again once a ReadIndex round confirms it", async () => {
  const leader = await waitForLeader(servers);
  const follower = servers.find((s) => s !== leader);
  assert.ok(follower);
  const clock = clocks.get(follower.spec.peer.id);
  assert.ok(clock);
  clock.offsetMs += 5000;
  assert.ok(follower.consensus.lastContactMs() >= 5000, "right after the pause its last contact is old");
  // Its next heartbeat shows a tick overdue by far more than the lease; a ReadIndex round
  // through the leader then confirms it, and it is back in contact (not stuck unconfirmed).
  await waitFor("the follower back in confirmed contact", () => {
    return follower.consensus.leaderAddress() === leader.spec.peer.address && follower.consensus.lastContactMs() < 1000;
  });
  await proposeToLeader(servers, kvSet("k", "after"));
});
