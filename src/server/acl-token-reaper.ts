import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { StateStore } from "../state/store.ts";
import type { Consensus } from "./consensus.ts";

// The leader duty that deletes expired ACL tokens (Consul's token reaping). Expired tokens
// already stop working the moment ExpirationTime passes (resolution treats them as not
// found); this only removes the rows. It wakes every `intervalMs` while leader and deletes
// at most `batchSize` global and `batchSize` local tokens per pass, as Consul's reaper does.

export interface AclTokenReaperDeps {
  clock: Clock;
  consensus: Consensus;
  state: StateStore;
  logger: Logger;
  intervalMs?: number;
  batchSize?: number;
}

export const ACL_TOKEN_REAP_INTERVAL_MS = 1_000;
export const ACL_TOKEN_REAP_BATCH = 4096;

export class AclTokenReaper {
  readonly #deps: AclTokenReaperDeps;
  #timer: TimerHandle | undefined;
  #running = false;
  #busy = false;

  constructor(deps: AclTokenReaperDeps) {
    this.#deps = deps;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** One pass: deletes what has expired by now. Resolves to the number of tokens deleted. */
  async reapOnce(): Promise<number> {
    const { clock, consensus, state, logger } = this.#deps;
    if (!consensus.isLeader() || this.#busy) return 0;
    this.#busy = true;
    let deleted = 0;
    try {
      const batch = this.#deps.batchSize ?? ACL_TOKEN_REAP_BATCH;
      for (const local of [false, true]) {
        const expired = state.acl.tokens.expired(clock.now(), local, batch);
        if (expired.length === 0) continue;
        const ids = expired.map((t) => t.AccessorID);
        const { result } = await consensus.propose({ Type: "acl-token-delete", AccessorIDs: ids });
        if (result.ok) deleted += ids.length;
        else logger.warn("acl: failed to reap expired tokens", { error: result.error });
      }
    } catch (e) {
      logger.warn("acl: failed to reap expired tokens", { error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.#busy = false;
    }
    return deleted;
  }

  #arm(): void {
    if (!this.#running) return;
    this.#timer = this.#deps.clock.setTimer(this.#deps.intervalMs ?? ACL_TOKEN_REAP_INTERVAL_MS, () => {
      this.#timer = undefined;
      void this.reapOnce().finally(() => this.#arm());
    });
  }
}
