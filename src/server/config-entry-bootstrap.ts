import { decodeBootstrapEntries } from "../connect/config-entry-decode.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { StateStore } from "../state/store.ts";
import type { Consensus } from "./consensus.ts";

// `config_entries { bootstrap = [...] }`: a new leader writes each entry unless one of that kind
// and name already exists (as Consul does: create-only, so later edits through the API stay).
// The list was validated when the configuration was built.

export class ConfigEntryBootstrap {
  readonly #d: { consensus: Consensus; state: StateStore; clock: Clock; logger: Logger; entries: readonly unknown[] };
  #running = false;
  #retry: TimerHandle | undefined;
  #stopped = false;

  constructor(deps: { consensus: Consensus; state: StateStore; clock: Clock; logger: Logger; entries: readonly unknown[] }) {
    this.#d = deps;
  }

  start(): void {
    this.leadershipChanged();
  }

  stop(): void {
    this.#stopped = true;
    this.#retry?.cancel();
  }

  leadershipChanged(): void {
    if (this.#stopped || this.#running || this.#d.entries.length === 0 || !this.#d.consensus.isLeader()) return;
    this.#running = true;
    this.#writeAll().then(
      () => {
        this.#running = false;
      },
      (err: unknown) => {
        this.#running = false;
        this.#d.logger.warn("failed to bootstrap config entries; retrying", { error: err instanceof Error ? err.message : String(err) });
        this.#retry = this.#d.clock.setTimer(1000, () => this.leadershipChanged());
      },
    );
  }

  async #writeAll(): Promise<void> {
    const entries = decodeBootstrapEntries(this.#d.entries, { protocolOf: () => "tcp" });
    for (const entry of entries) {
      if (this.#d.state.configEntries.get(entry.Kind, entry.Name)) continue;
      const { result } = await this.#d.consensus.propose({ Type: "config-entry-set", Op: "cas", CasIndex: 0, Entry: entry });
      if (!result.ok) throw new Error(result.error);
      if (result.value === true) this.#d.logger.info("bootstrapped config entry", { kind: entry.Kind, name: entry.Name });
    }
  }
}
