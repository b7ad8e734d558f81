import { errors } from "../errors/catalog.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "./consensus.ts";

// Holding requests through a leader election, as Consul does (agent/consul/rpc.go ForwardRPC
// and canRetry, performance.rpc_hold_timeout): a request that needs the leader while none is
// known, or whose hand-off failed in a way that proves nothing ran, is tried again after a
// random pause of up to a sixteenth of the hold (lib.RandomStagger(RPCHoldTimeout /
// JitterFraction)), until the hold, counted from the request's first attempt, has passed;
// only then does the caller see the error ("No cluster leader"). An election takes a second
// or two, so writes during a failover wait instead of failing.

/** Consul's default `performance.rpc_hold_timeout`. */
export const DEFAULT_RPC_HOLD_TIMEOUT_MS = 7000;
/** Consul's structs.JitterFraction: retries pause for up to hold / 16. */
export const JITTER_FRACTION = 16;

export interface LeaderHold {
  clock: Clock;
  rng: Rng;
  /** performance.rpc_hold_timeout; 0 fails at once. */
  holdTimeoutMs: number;
}

/** One try: its value, or an error that a later try may not meet (no leader yet, call never sent). */
export type HoldAttempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface HoldOptions {
  /** The caller went away: stop holding and give the last error. */
  signal?: AbortSignal;
  /** Wakes a pause early when this server gains or loses leadership (it may answer itself now). */
  leadership?: Pick<Consensus, "onLeadershipChange">;
}

/** A random pause in [1, hold / JitterFraction] ms. */
export function holdRetryPauseMs(hold: LeaderHold): number {
  return Math.max(1, Math.floor(hold.rng.float() * (hold.holdTimeoutMs / JITTER_FRACTION)));
}

/**
 * Runs `attempt` until it gives a value or throws; each retryable failure pauses and tries
 * again while the hold lasts. The last try happens at the deadline, whose failure is thrown.
 */
export async function holdUntilLeader<T>(hold: LeaderHold, attempt: () => Promise<HoldAttempt<T>> | HoldAttempt<T>, options: HoldOptions = {}): Promise<T> {
  const deadline = hold.clock.monotonicMs() + hold.holdTimeoutMs;
  for (;;) {
    const outcome = await attempt();
    if (outcome.ok) return outcome.value;
    const left = deadline - hold.clock.monotonicMs();
    if (left <= 0 || options.signal?.aborted) throw outcome.error;
    await pause(hold.clock, Math.min(left, holdRetryPauseMs(hold)), options);
  }
}

/** True when this server leads or knows who does. */
export function knowsLeader(consensus: Pick<Consensus, "isLeader" | "leaderAddress">): boolean {
  return consensus.isLeader() || consensus.leaderAddress() !== "";
}

/**
 * Waits while no leader is known, up to the hold; then fails with "No cluster leader" (what
 * Consul answers once its hold is over). Resolves at once when a leader is known.
 */
export async function awaitKnownLeader(consensus: Pick<Consensus, "isLeader" | "leaderAddress" | "onLeadershipChange">, hold: LeaderHold, signal?: AbortSignal): Promise<void> {
  if (knowsLeader(consensus)) return;
  await holdUntilLeader(hold, () => (knowsLeader(consensus) ? { ok: true, value: undefined } : { ok: false, error: errors.noLeader() }), {
    signal,
    leadership: consensus,
  });
}

function pause(clock: Clock, ms: number, options: HoldOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = (): void => {
      timer.cancel();
      unsubscribe?.();
      options.signal?.removeEventListener("abort", wake);
      resolve();
    };
    const timer: TimerHandle = clock.setTimer(ms, wake);
    const unsubscribe = options.leadership?.onLeadershipChange(wake);
    options.signal?.addEventListener("abort", wake, { once: true });
  });
}
