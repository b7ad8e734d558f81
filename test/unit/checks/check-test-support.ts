import type { CheckStatus } from "../../../src/model/catalog.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { TimerWheel } from "../../../src/runtime/timer-wheel.ts";
import { CheckScheduler, type ProbeOutcome } from "../../../src/checks/scheduler.ts";
import { manualClock, type ManualClock } from "../agent/fake-clock.ts";

/** Results a sink received, in order. */
export interface RecordingSink {
  updates: { checkId: string; status: CheckStatus; output: string }[];
  updateCheckStatus(checkId: string, status: CheckStatus, output: string): void;
  last(): { status: CheckStatus; output: string } | undefined;
}

export function recordingSink(): RecordingSink {
  const updates: RecordingSink["updates"] = [];
  return {
    updates,
    updateCheckStatus: (checkId, status, output) => void updates.push({ checkId, status, output }),
    last: () => {
      const u = updates.at(-1);
      return u && { status: u.status, output: u.output };
    },
  };
}

export interface SchedulerRig {
  clock: ManualClock;
  wheel: TimerWheel;
  scheduler: CheckScheduler;
}

/** A scheduler on a manual clock: probes run only when the test advances time. */
export function schedulerRig(seed = 1): SchedulerRig {
  const clock = manualClock();
  const wheel = new TimerWheel(clock);
  return { clock, wheel, scheduler: new CheckScheduler({ wheel, rng: seededRng(seed), logger: silentLogger }) };
}

/** Lets resolved probe promises deliver their results. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A probe whose answers the test scripts one run at a time. */
export function scriptedProbe(answers: ProbeOutcome[]): { probe: () => Promise<ProbeOutcome>; runs: () => number } {
  let runs = 0;
  return {
    probe: () => {
      const answer = answers[Math.min(runs, answers.length - 1)];
      runs++;
      return Promise.resolve(answer);
    },
    runs: () => runs,
  };
}

/** Polls real I/O (sockets, processes) until `predicate` holds; fails after `timeoutMs`. */
export async function eventually<T>(read: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
