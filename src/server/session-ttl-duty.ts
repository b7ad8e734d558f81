import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { StateStore } from "../state/store.ts";
import { Topics } from "../state/watch.ts";
import type { Consensus } from "./consensus.ts";
import { SessionReaper } from "./session-reaper.ts";

// The leader duty that drives the pure SessionReaper with the runtime clock: it re-syncs the
// timers whenever the sessions table changes, arms one clock timer at the earliest deadline,
// and proposes a session-destroy (carrying NowMs) for every session that expired.

export interface SessionTtlDeps {
  clock: Clock;
  consensus: Consensus;
  state: StateStore;
  logger: Logger;
}

export class SessionTtlDuty {
  readonly reaper = new SessionReaper();
  readonly #deps: SessionTtlDeps;
  #timer: TimerHandle | undefined;
  #timerAtMs = Infinity;
  #unsubscribe: () => void = () => {};
  #running = false;
  #syncQueued = false;

  constructor(deps: SessionTtlDeps) {
    this.#deps = deps;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#sync();
  }

  stop(): void {
    this.#running = false;
    this.#unsubscribe();
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Restarts a session's TTL × 2; false when it has no timer (unknown or no TTL). */
  renew(id: string): boolean {
    const ok = this.reaper.renew(id, this.#deps.clock.now());
    if (ok) this.#arm();
    return ok;
  }

  /** Call when this server becomes leader: every timer restarts in full. */
  onLeadershipAcquired(): void {
    this.reaper.restartAll(this.#deps.clock.now());
    this.#arm();
  }

  #sync(): void {
    if (!this.#running) return;
    const { state, clock } = this.#deps;
    this.reaper.sync(state.sessions.list(), clock.now());
    // Watch topics fire once; subscribe again after every change.
    this.#unsubscribe = state.hub.subscribe([Topics.sessions], () => {
      if (this.#syncQueued) return;
      this.#syncQueued = true;
      queueMicrotask(() => {
        this.#syncQueued = false;
        this.#sync();
      });
    });
    this.#arm();
  }

  #arm(): void {
    if (!this.#running) return;
    const next = this.reaper.nextDeadlineMs();
    if (next === undefined) {
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#timerAtMs = Infinity;
      return;
    }
    if (this.#timer && this.#timerAtMs <= next) return;
    this.#timer?.cancel();
    this.#timerAtMs = next;
    this.#timer = this.#deps.clock.setTimer(next - this.#deps.clock.now(), () => {
      this.#timer = undefined;
      this.#timerAtMs = Infinity;
      void this.#expire();
    });
  }

  async #expire(): Promise<void> {
    const { clock, consensus, logger } = this.#deps;
    if (!this.#running) return;
    if (!consensus.isLeader()) {
      this.#arm();
      return;
    }
    const due = this.reaper.tick(clock.now());
    for (const id of due) {
      try {
        const { result } = await consensus.propose({ Type: "session-destroy", ID: id, NowMs: clock.now() });
        if (!result.ok) logger.warn("session ttl: destroy failed", { session: id, error: result.error });
      } catch (e) {
        logger.warn("session ttl: destroy failed", { session: id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    this.#arm();
  }
}
