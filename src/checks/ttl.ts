import type { CheckStatus } from "../model/catalog.ts";
import type { TimerHandle } from "../runtime/clock.ts";
import type { CheckDefinition } from "./definition.ts";
import { truncateOutput, type CheckRunContext, type CheckRunner, type ExternallyUpdatedCheck } from "./runner.ts";

// TTL checks (Consul's checks.CheckTTL): the application reports its own status through
// /v1/agent/check/pass|warn|fail|update; if it stays silent for a whole TTL the check turns
// critical with Consul's `TTL expired` output.

export function expiredOutput(lastOutput: string): string {
  return lastOutput === "" ? "TTL expired" : `TTL expired (last output before timeout follows): ${lastOutput}`;
}

class TtlCheck implements ExternallyUpdatedCheck {
  readonly checkId: string;
  readonly kind = "ttl" as const;
  readonly #ttlMs: number;
  readonly #ctx: CheckRunContext;
  #timer: TimerHandle | undefined;
  #lastOutput = "";
  #stopped = false;

  constructor(checkId: string, ttlMs: number, ctx: CheckRunContext) {
    this.checkId = checkId;
    this.#ttlMs = ttlMs;
    this.#ctx = ctx;
    this.#arm();
  }

  setStatus(status: CheckStatus, output: string): string {
    const kept = truncateOutput(output, this.#ctx.outputMaxSize);
    this.#lastOutput = kept;
    this.#ctx.sink.updateCheckStatus(this.checkId, status, kept);
    this.#arm();
    return kept;
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer?.cancel();
    this.#timer = this.#ctx.clock.setTimer(this.#ttlMs, () => this.#expire());
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#ctx.logger.warn("Check missed TTL, is now critical", { check: this.checkId });
    this.#ctx.sink.updateCheckStatus(this.checkId, "critical", expiredOutput(this.#lastOutput));
  }
}

export const ttlRunner: CheckRunner = {
  kind: "ttl",
  start(checkId: string, definition: CheckDefinition, ctx: CheckRunContext): ExternallyUpdatedCheck {
    return new TtlCheck(checkId, definition.ttlMs, ctx);
  },
};
