import type { CheckStatus } from "../model/catalog.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { CheckDefinition, CheckKind } from "./definition.ts";
import type { CheckScheduler } from "./scheduler.ts";

// The seam between the agent and whatever decides a check's status. The agent owns the
// check's record; a runner only reports results back through `CheckStatusSink`. One runner
// per check kind; a kind without a registered runner is kept as registered but never
// executed (its status stays what registration set).

/** Where a running check reports its results (the agent's local state). */
export interface CheckStatusSink {
  updateCheckStatus(checkId: string, status: CheckStatus, output: string): void;
}

export interface CheckRunContext {
  clock: Clock;
  logger: Logger;
  sink: CheckStatusSink;
  /** Effective output limit in bytes (agent `check_output_max_size` capped by the check's own). */
  outputMaxSize: number;
  /** Runs interval-driven checks (everything but TTL and alias). */
  scheduler: CheckScheduler;
}

/** A started check; `stop` is idempotent and must cancel every timer the check armed. */
export interface RunningCheck {
  readonly checkId: string;
  readonly kind: CheckKind;
  stop(): void;
}

/** A check whose status is pushed from outside (TTL): pass/warn/fail/update land here. */
export interface ExternallyUpdatedCheck extends RunningCheck {
  /** Sets the status, restarts the expiry timer and returns the (possibly truncated) output. */
  setStatus(status: CheckStatus, output: string): string;
}

export function isExternallyUpdated(check: RunningCheck | undefined): check is ExternallyUpdatedCheck {
  return check !== undefined && "setStatus" in check && typeof (check as ExternallyUpdatedCheck).setStatus === "function";
}

export interface CheckRunner {
  readonly kind: CheckKind;
  start(checkId: string, definition: CheckDefinition, ctx: CheckRunContext): RunningCheck;
}

/** Runners keyed by check kind; the agent asks it which runner starts a given check. */
export class CheckRunnerRegistry {
  readonly #runners = new Map<CheckKind, CheckRunner>();

  constructor(runners: readonly CheckRunner[] = []) {
    for (const r of runners) this.register(r);
  }

  register(runner: CheckRunner): void {
    this.#runners.set(runner.kind, runner);
  }

  get(kind: CheckKind): CheckRunner | undefined {
    return this.#runners.get(kind);
  }

  kinds(): CheckKind[] {
    return [...this.#runners.keys()];
  }
}

/** Consul's output cap: keep the first `max` bytes and say how much was dropped. */
export function truncateOutput(output: string, max: number): string {
  const bytes = Buffer.byteLength(output);
  if (max <= 0 || bytes <= max) return output;
  const kept = Buffer.from(output).subarray(0, max).toString("utf8");
  return `${kept} ... (captured ${max} of ${bytes} bytes)`;
}
