import { setTimeout as sleep } from "node:timers/promises";
import type { Deployment } from "./etcd-deployments.ts";
import { httpCall } from "./http-call.ts";

// Leader failover under a light write load: writes go out every WRITE_INTERVAL_MS, round-robin
// over the live members, each on its own connection and without waiting for the previous one
// (a write held by a follower that has lost its leader must not hold back the next). The
// leader is killed with SIGKILL; the figure is the time from the kill to the first
// acknowledgement of a write *sent after* the kill, so a write the old leader committed just
// before dying cannot count.

export const WRITE_INTERVAL_MS = 20;
const WRITE_TIMEOUT_MS = 5000;
const LOAD_BEFORE_KILL_MS = 1000;
const MIN_ACKS_BEFORE_KILL = 10;
const GIVE_UP_AFTER_KILL_MS = 20_000;

export interface FailoverOutcome {
  /** Kill → first acknowledged write sent after it; Infinity when none came within the deadline. */
  failoverMs: number;
  acksBeforeKill: number;
  failedWritesAfterKill: number;
}

export async function measureFailover(deployment: Deployment): Promise<FailoverOutcome> {
  const { members, leaderAt } = deployment;
  if (members.length < 3) throw new Error("failover needs at least three members");
  const alive = members.map(() => true);
  let killedAt: number | undefined;
  let firstAckAfterKill: number | undefined;
  let acksBeforeKill = 0;
  let failedWritesAfterKill = 0;
  const inFlight = new Set<Promise<void>>();

  const send = (sequence: number, at: number): void => {
    const afterKill = killedAt !== undefined;
    const request = members[at].write(sequence);
    const done = httpCall(request.url, request.method, request.body, WRITE_TIMEOUT_MS).then(
      (answer) => {
        if (answer.status !== 200) {
          if (afterKill) failedWritesAfterKill++;
          return;
        }
        if (!afterKill) acksBeforeKill++;
        else firstAckAfterKill ??= performance.now();
      },
      () => {
        if (afterKill) failedWritesAfterKill++;
      },
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };

  let stopWriting = false;
  const writer = (async () => {
    for (let sequence = 0, turn = 0; !stopWriting; sequence++) {
      let at = turn++ % members.length;
      while (!alive[at]) at = turn++ % members.length;
      send(sequence, at);
      await sleep(WRITE_INTERVAL_MS);
    }
  })();

  try {
    await sleep(LOAD_BEFORE_KILL_MS);
    if (acksBeforeKill < MIN_ACKS_BEFORE_KILL) throw new Error(`only ${acksBeforeKill} writes acknowledged before the kill`);
    alive[leaderAt] = false;
    killedAt = performance.now();
    await members[leaderAt].kill();
    const giveUpAt = killedAt + GIVE_UP_AFTER_KILL_MS;
    while (firstAckAfterKill === undefined && performance.now() < giveUpAt) await sleep(WRITE_INTERVAL_MS);
    return {
      failoverMs: firstAckAfterKill === undefined ? Number.POSITIVE_INFINITY : firstAckAfterKill - killedAt,
      acksBeforeKill,
      failedWritesAfterKill,
    };
  } finally {
    stopWriting = true;
    await writer;
    await Promise.all(inFlight);
  }
}
