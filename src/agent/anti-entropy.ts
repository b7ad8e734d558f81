import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";

// Anti-entropy (after Consul's agent/ae): keeps the catalog equal to the agent's local state.
// A *changes* sync pushes what is marked out of sync, promptly after every local change; a
// *full* sync first re-reads the catalog, marking drift (someone deregistered our service,
// edited our node) as out of sync, then pushes — periodically, and on request.
//
// The protocol is a pure state machine (`antiEntropyNext`): events in, next state and effects
// out. `AntiEntropy` is its driver: it owns the timers (through the injected Clock), runs the
// async syncs one at a time and feeds their outcome back as events.

export interface AntiEntropySettings {
  /** Base period of full syncs; each is followed by a random extra delay of up to the same. */
  fullSyncIntervalMs: number;
  /** After a failed sync, the next full sync comes after this plus up to the same at random. */
  retryIntervalMs: number;
}

export const DEFAULT_ANTI_ENTROPY_SETTINGS: AntiEntropySettings = {
  fullSyncIntervalMs: 60_000,
  retryIntervalMs: 15_000,
};

export type SyncKind = "full" | "changes";

export type AntiEntropyState =
  | { readonly name: "idle" }
  /** One sync in flight; requests arriving meanwhile are queued (at most one of each kind). */
  | { readonly name: "syncing"; readonly run: SyncKind; readonly changesQueued: boolean; readonly fullQueued: boolean }
  /** Nothing in flight: waits for a local change, a timer or a full-sync request. */
  | { readonly name: "waiting" }
  | { readonly name: "stopped" };

export type AntiEntropyEvent =
  | { readonly type: "start" }
  | { readonly type: "local-change" }
  | { readonly type: "full-sync-requested" }
  /** The periodic timer or the retry timer fired. */
  | { readonly type: "full-sync-due" }
  | { readonly type: "sync-finished"; readonly ok: boolean }
  | { readonly type: "stop" };

/**
 * Effects, to be carried out in order. Timers replace any earlier timer of the same kind; the
 * delay is `baseMs` plus a random stagger in [0, staggerMs).
 */
export type AntiEntropyEffect =
  | { readonly type: "run-sync"; readonly kind: SyncKind }
  | { readonly type: "arm-full-sync-timer"; readonly baseMs: number; readonly staggerMs: number }
  | { readonly type: "arm-retry-timer"; readonly baseMs: number; readonly staggerMs: number }
  | { readonly type: "cancel-retry-timer" }
  | { readonly type: "cancel-timers" };

export interface Transition {
  state: AntiEntropyState;
  effects: AntiEntropyEffect[];
}

const syncing = (run: SyncKind): Transition => ({
  state: { name: "syncing", run, changesQueued: false, fullQueued: false },
  effects: [{ type: "run-sync", kind: run }],
});

export function antiEntropyNext(state: AntiEntropyState, event: AntiEntropyEvent, settings: AntiEntropySettings): Transition {
  if (state.name === "stopped") return { state, effects: [] };
  if (event.type === "stop") return { state: { name: "stopped" }, effects: [{ type: "cancel-timers" }] };

  switch (state.name) {
    case "idle":
      // Only `start` leaves idle: the first thing a starting agent does is a full sync.
      return event.type === "start" ? syncing("full") : { state, effects: [] };

    case "waiting":
      switch (event.type) {
        case "local-change":
          return syncing("changes");
        case "full-sync-requested":
        case "full-sync-due":
          return syncing("full");
        default:
          return { state, effects: [] };
      }

    case "syncing": {
      switch (event.type) {
        case "local-change":
          return { state: { ...state, changesQueued: true }, effects: [] };
        case "full-sync-requested":
        case "full-sync-due":
          return { state: { ...state, fullQueued: true }, effects: [] };
        case "sync-finished": {
          const effects: AntiEntropyEffect[] = [];
          if (!event.ok) {
            effects.push({ type: "arm-retry-timer", baseMs: settings.retryIntervalMs, staggerMs: settings.retryIntervalMs });
          } else if (state.run === "full") {
            effects.push({ type: "cancel-retry-timer" });
            effects.push({ type: "arm-full-sync-timer", baseMs: settings.fullSyncIntervalMs, staggerMs: settings.fullSyncIntervalMs });
          }
          // A failed full sync is not repeated at once (the retry timer will); queued changes are.
          const next = state.fullQueued && event.ok ? syncing("full") : state.changesQueued || state.fullQueued ? syncing("changes") : undefined;
          if (!next) return { state: { name: "waiting" }, effects };
          return { state: next.state, effects: [...effects, ...next.effects] };
        }
        default:
          return { state, effects: [] };
      }
    }
  }
}

/** The two sync operations the machine schedules (implemented by CatalogSync). */
export interface SyncTarget {
  syncFull(): Promise<void>;
  syncChanges(): Promise<void>;
}

interface RunWaiter {
  /** Resolve after a run numbered above this finishes. */
  after: number;
  fullOnly: boolean;
  resolve: (ok: boolean) => void;
}

export class AntiEntropy {
  readonly #target: SyncTarget;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #logger: Logger;
  readonly #settings: AntiEntropySettings;
  #state: AntiEntropyState = { name: "idle" };
  #fullTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #runsStarted = 0;
  #inFlight: Promise<void> | undefined;
  #waiters: RunWaiter[] = [];
  /** Counters for metrics and tests. */
  readonly stats = { fullSyncs: 0, changeSyncs: 0, failures: 0 };

  constructor(deps: { target: SyncTarget; clock: Clock; rng: Rng; logger: Logger }, settings: AntiEntropySettings = DEFAULT_ANTI_ENTROPY_SETTINGS) {
    this.#target = deps.target;
    this.#clock = deps.clock;
    this.#rng = deps.rng;
    this.#logger = deps.logger.named("anti_entropy");
    this.#settings = settings;
  }

  get state(): AntiEntropyState {
    return this.#state;
  }

  start(): void {
    this.#step({ type: "start" });
  }

  /** Stops timers and waits for an in-flight sync, so nothing is proposed afterwards. */
  async stop(): Promise<void> {
    this.#step({ type: "stop" });
    await this.#inFlight;
    for (const w of this.#waiters.splice(0)) w.resolve(false);
  }

  /** A local change (e.g. a check result) to push soon; nobody waits for it. */
  notifyChange(): void {
    this.#step({ type: "local-change" });
  }

  /** A local change: sync it promptly. Resolves (true = synced) once a sync that saw it ended. */
  syncChanges(): Promise<boolean> {
    const done = this.#waitForRun(false);
    this.#step({ type: "local-change" });
    return done;
  }

  /** A full sync now (catalog drift repair); resolves once one that started after the call ended. */
  syncFull(): Promise<boolean> {
    const done = this.#waitForRun(true);
    this.#step({ type: "full-sync-requested" });
    return done;
  }

  #waitForRun(fullOnly: boolean): Promise<boolean> {
    // Before start the first full sync will push everything anyway; after stop nothing will.
    if (this.#state.name === "stopped" || this.#state.name === "idle") return Promise.resolve(false);
    return new Promise((resolve) => this.#waiters.push({ after: this.#runsStarted, fullOnly, resolve }));
  }

  #step(event: AntiEntropyEvent): void {
    const { state, effects } = antiEntropyNext(this.#state, event, this.#settings);
    this.#state = state;
    for (const effect of effects) this.#apply(effect);
  }

  #apply(effect: AntiEntropyEffect): void {
    switch (effect.type) {
      case "run-sync":
        this.#run(effect.kind);
        return;
      case "arm-full-sync-timer":
        this.#fullTimer?.cancel();
        this.#fullTimer = this.#clock.setTimer(this.#delay(effect.baseMs, effect.staggerMs), () => {
          this.#fullTimer = undefined;
          this.#step({ type: "full-sync-due" });
        });
        return;
      case "arm-retry-timer":
        this.#retryTimer?.cancel();
        this.#retryTimer = this.#clock.setTimer(this.#delay(effect.baseMs, effect.staggerMs), () => {
          this.#retryTimer = undefined;
          this.#step({ type: "full-sync-due" });
        });
        return;
      case "cancel-retry-timer":
        this.#retryTimer?.cancel();
        this.#retryTimer = undefined;
        return;
      case "cancel-timers":
        this.#fullTimer?.cancel();
        this.#retryTimer?.cancel();
        this.#fullTimer = this.#retryTimer = undefined;
        return;
    }
  }

  #delay(baseMs: number, staggerMs: number): number {
    return baseMs + Math.floor(this.#rng.float() * staggerMs);
  }

  #run(kind: SyncKind): void {
    const runId = ++this.#runsStarted;
    const work = kind === "full" ? this.#target.syncFull() : this.#target.syncChanges();
    this.#inFlight = work.then(
      () => this.#finish(runId, kind, true),
      (err: unknown) => {
        this.#logger.error(kind === "full" ? "failed to sync remote state" : "failed to sync changes", {
          error: err instanceof Error ? err.message : String(err),
        });
        this.#finish(runId, kind, false);
      },
    );
  }

  #finish(runId: number, kind: SyncKind, ok: boolean): void {
    if (kind === "full") this.stats.fullSyncs++;
    else this.stats.changeSyncs++;
    if (!ok) this.stats.failures++;
    this.#inFlight = undefined;
    const ready = this.#waiters.filter((w) => w.after < runId && (!w.fullOnly || kind === "full"));
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    this.#step({ type: "sync-finished", ok });
    for (const w of ready) w.resolve(ok);
  }
}
