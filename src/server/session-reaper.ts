import { parseGoDuration } from "../model/duration.ts";

// The session TTL reaper as a pure state machine (spec/session.md §5): no timers, no clock.
// The driver feeds it the session table (`sync`), renewals and the time (`tick`), and
// destroys what `tick` returns. Consul waits TTL × 2 without renewal before invalidating.

export const SESSION_TTL_MULTIPLIER = 2;

export interface TtlSession {
  ID: string;
  /** Go duration text as stored; "" (or unparsable) means no TTL. */
  TTL: string;
}

export function sessionTtlMs(ttl: string): number {
  if (ttl === "") return 0;
  try {
    return Math.max(0, parseGoDuration(ttl));
  } catch {
    return 0;
  }
}

interface Timer {
  ttlMs: number;
  deadlineMs: number;
}

export class SessionReaper {
  readonly #timers = new Map<string, Timer>();
  readonly #multiplier: number;

  constructor(options: { multiplier?: number } = {}) {
    this.#multiplier = options.multiplier ?? SESSION_TTL_MULTIPLIER;
  }

  get size(): number {
    return this.#timers.size;
  }

  /**
   * Brings the timers in line with the sessions that exist: a TTL session seen for the first
   * time gets a full TTL × 2 from `nowMs`; timers of sessions that are gone are dropped.
   */
  sync(sessions: Iterable<TtlSession>, nowMs: number): void {
    const seen = new Set<string>();
    for (const s of sessions) {
      const ttlMs = sessionTtlMs(s.TTL);
      if (ttlMs <= 0) continue;
      seen.add(s.ID);
      if (!this.#timers.has(s.ID)) this.#timers.set(s.ID, { ttlMs, deadlineMs: nowMs + ttlMs * this.#multiplier });
    }
    for (const id of this.#timers.keys()) if (!seen.has(id)) this.#timers.delete(id);
  }

  /** A renewal restarts the full TTL × 2; false when the session has no running timer. */
  renew(id: string, nowMs: number): boolean {
    const t = this.#timers.get(id);
    if (!t) return false;
    t.deadlineMs = nowMs + t.ttlMs * this.#multiplier;
    return true;
  }

  /** A new leader restarts every timer in full (it cannot know when renewals last came). */
  restartAll(nowMs: number): void {
    for (const t of this.#timers.values()) t.deadlineMs = nowMs + t.ttlMs * this.#multiplier;
  }

  /**
   * Sessions whose deadline has passed, in deadline order. They are forgotten here, so each
   * is reported once; a later `sync` that still sees one re-arms it as a safety net.
   */
  tick(nowMs: number): string[] {
    const due = [...this.#timers].filter(([, t]) => t.deadlineMs <= nowMs).sort((a, b) => a[1].deadlineMs - b[1].deadlineMs || (a[0] < b[0] ? -1 : 1));
    for (const [id] of due) this.#timers.delete(id);
    return due.map(([id]) => id);
  }

  /** Earliest deadline, for arming the one timer; undefined when nothing runs. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers.values()) if (next === undefined || t.deadlineMs < next) next = t.deadlineMs;
    return next;
  }
}
