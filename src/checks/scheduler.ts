import type { CheckStatus } from "../model/catalog.ts";
import type { TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { TimerWheel } from "../runtime/timer-wheel.ts";
import type { CheckDefinition, CheckKind } from "./definition.ts";
import { StatusThresholds, type ThresholdSettings } from "./status-thresholds.ts";

// One scheduler runs every interval-driven check of the agent (HTTP, TCP, UDP, script, gRPC,
// H2PING) on the runtime's timer wheel: no timer object per check, no polling loop.
// As Consul: the first run comes after a random stagger within one interval (so thousands of
// checks registered together do not fire together), the next one an interval after the
// previous run *finished* (a slow target is never probed twice at once), intervals below
// one second are raised to one second, and the probe is aborted at its timeout.

/** Consul's checks.MinInterval. */
export const MIN_INTERVAL_MS = 1_000;
/** Default timeout of network checks (HTTP, TCP, UDP, gRPC, H2PING). */
export const DEFAULT_NETWORK_TIMEOUT_MS = 10_000;
/** Default timeout of script checks. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

export interface ProbeOutcome {
  status: CheckStatus;
  output: string;
  /** Reported as is, past the thresholds (Consul does so for script timeouts and start errors). */
  bypassThresholds?: boolean;
}

/**
 * One execution of a check. It must settle promptly once `signal` aborts (the timeout or the
 * check being stopped) and release every socket or process it opened.
 */
export type Probe = (signal: AbortSignal) => Promise<ProbeOutcome>;

export interface ScheduledCheckSpec {
  checkId: string;
  kind: CheckKind;
  intervalMs: number;
  timeoutMs: number;
  thresholds: ThresholdSettings;
  probe: Probe;
}

export function effectiveIntervalMs(def: CheckDefinition): number {
  return Math.max(def.intervalMs, MIN_INTERVAL_MS);
}

export function effectiveTimeoutMs(def: CheckDefinition, defaultMs: number): number {
  return def.timeoutMs > 0 ? def.timeoutMs : defaultMs;
}

export function thresholdsOf(def: CheckDefinition): ThresholdSettings {
  return {
    successBeforePassing: def.successBeforePassing,
    failuresBeforeWarning: def.failuresBeforeWarning,
    failuresBeforeCritical: def.failuresBeforeCritical,
  };
}

/** Where results go (structurally the runner seam's ResultSink). */
export interface ResultSink {
  updateCheckStatus(checkId: string, status: CheckStatus, output: string): void;
}

/** A scheduled check (structurally the runner seam's RunningCheck). */
export interface ScheduledHandle {
  readonly checkId: string;
  readonly kind: CheckKind;
  stop(): void;
}

export interface SchedulerDeps {
  wheel: TimerWheel;
  rng: Rng;
  logger: Logger;
}

class ScheduledCheck implements ScheduledHandle {
  readonly checkId: string;
  readonly kind: CheckKind;
  readonly #spec: ScheduledCheckSpec;
  readonly #scheduler: CheckScheduler;
  readonly #sink: ResultSink;
  readonly #thresholds: StatusThresholds;
  #timer: TimerHandle | undefined;
  #inFlight: AbortController | undefined;
  #stopped = false;

  constructor(spec: ScheduledCheckSpec, scheduler: CheckScheduler, sink: ResultSink, firstDelayMs: number) {
    this.checkId = spec.checkId;
    this.kind = spec.kind;
    this.#spec = spec;
    this.#scheduler = scheduler;
    this.#sink = sink;
    this.#thresholds = new StatusThresholds(spec.thresholds);
    this.#arm(firstDelayMs);
  }

  get running(): boolean {
    return this.#inFlight !== undefined;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#inFlight?.abort();
    this.#scheduler.forget(this);
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = this.#scheduler.wheel.schedule(delayMs, () => {
      this.#timer = undefined;
      this.#run();
    });
  }

  #run(): void {
    if (this.#stopped) return;
    const abort = new AbortController();
    this.#inFlight = abort;
    this.#scheduler.runsStarted++;
    const timeout = this.#scheduler.wheel.schedule(this.#spec.timeoutMs, () => abort.abort());
    let outcome: Promise<ProbeOutcome>;
    try {
      outcome = this.#spec.probe(abort.signal);
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome
      .catch((err: unknown): ProbeOutcome => ({ status: "critical", output: err instanceof Error ? err.message : String(err) }))
      .then((result) => {
        timeout.cancel();
        this.#inFlight = undefined;
        if (this.#stopped) return;
        this.#report(result);
        this.#arm(this.#spec.intervalMs);
      })
      .catch((err: unknown) => {
        this.#scheduler.logger.error("check result could not be recorded", { check: this.checkId, error: String(err) });
      });
  }

  #report(result: ProbeOutcome): void {
    const reported = result.bypassThresholds ? result : this.#thresholds.next(result);
    if (!reported) {
      this.#scheduler.logger.debug("Check result held back by its threshold", { check: this.checkId, status: result.status });
      return;
    }
    this.#sink.updateCheckStatus(this.checkId, reported.status, reported.output);
  }
}

export class CheckScheduler {
  readonly wheel: TimerWheel;
  readonly logger: Logger;
  readonly #rng: Rng;
  readonly #checks = new Set<ScheduledCheck>();
  /** Probes started since creation (metrics, benchmarks). */
  runsStarted = 0;

  constructor(deps: SchedulerDeps) {
    this.wheel = deps.wheel;
    this.#rng = deps.rng;
    this.logger = deps.logger.named("checks");
  }

  /** Starts running a check: first after a random stagger within one interval. */
  schedule(spec: ScheduledCheckSpec, sink: ResultSink): ScheduledHandle {
    const intervalMs = Math.max(spec.intervalMs, MIN_INTERVAL_MS);
    if (spec.intervalMs < MIN_INTERVAL_MS) {
      this.logger.warn("check has interval below minimum", { check: spec.checkId, minimum_interval: "1s" });
    }
    const check = new ScheduledCheck({ ...spec, intervalMs }, this, sink, Math.floor(this.#rng.float() * intervalMs));
    this.#checks.add(check);
    return check;
  }

  get scheduledChecks(): number {
    return this.#checks.size;
  }

  get probesInFlight(): number {
    let n = 0;
    for (const c of this.#checks) if (c.running) n++;
    return n;
  }

  /** Stops every check (agent shutdown). */
  stopAll(): void {
    for (const c of [...this.#checks]) c.stop();
  }

  forget(check: ScheduledCheck): void {
    this.#checks.delete(check);
  }
}
