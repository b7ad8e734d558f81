import type { CheckStatus } from "../model/catalog.ts";

// SuccessBeforePassing / FailuresBeforeWarning / FailuresBeforeCritical (Consul's
// checks.StatusHandler). Both counters start at their thresholds, so the very first result
// after registration is reported at once; after that a run of consecutive results has to
// reach the threshold before the reported status moves. A warning counts as a success.

export interface ThresholdSettings {
  successBeforePassing: number;
  /** 0 = same as failuresBeforeCritical (Consul's default). */
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
}

export interface CheckResult {
  status: CheckStatus;
  output: string;
}

export class StatusThresholds {
  readonly #successBeforePassing: number;
  readonly #failuresBeforeWarning: number;
  readonly #failuresBeforeCritical: number;
  #successes: number;
  #failures: number;

  constructor(settings: ThresholdSettings) {
    this.#successBeforePassing = settings.successBeforePassing;
    this.#failuresBeforeCritical = settings.failuresBeforeCritical;
    this.#failuresBeforeWarning = settings.failuresBeforeWarning === 0 ? settings.failuresBeforeCritical : settings.failuresBeforeWarning;
    this.#successes = this.#successBeforePassing;
    this.#failures = this.#failuresBeforeCritical;
  }

  /** The result to report for a probe outcome, or undefined while a threshold holds it back. */
  next(result: CheckResult): CheckResult | undefined {
    if (result.status === "passing" || result.status === "warning") {
      this.#successes++;
      this.#failures = 0;
      return this.#successes >= this.#successBeforePassing ? result : undefined;
    }
    this.#failures++;
    this.#successes = 0;
    if (this.#failures >= this.#failuresBeforeCritical) return result;
    if (this.#failures >= this.#failuresBeforeWarning) return { status: "warning", output: result.output };
    return undefined;
  }
}
