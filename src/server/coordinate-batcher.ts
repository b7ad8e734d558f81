import type { NodeCoordinate } from "../model/catalog.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Consensus } from "./consensus.ts";

// The server side of Coordinate.Update (Consul's Coordinate endpoint batchUpdate): updates are
// kept per node (a newer one replaces an older one still waiting) and written through Raft once
// per coordinate_update_period, in batches of 128 and at most 5 batches a period; what does not
// fit is dropped with a warning, as Consul does, since agents send again soon anyway.

export const COORDINATE_BATCH_SIZE = 128;
export const COORDINATE_MAX_BATCHES = 5;

export class CoordinateBatcher {
  readonly #consensus: Consensus;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #periodMs: number;
  readonly #pending = new Map<string, NodeCoordinate>();
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(consensus: Consensus, clock: Clock, logger: Logger, periodMs: number) {
    this.#consensus = consensus;
    this.#clock = clock;
    this.#logger = logger;
    this.#periodMs = periodMs;
  }

  get pending(): number {
    return this.#pending.size;
  }

  enqueue(entry: NodeCoordinate): void {
    if (this.#stopped) return;
    this.#pending.set(`${entry.Node.toLowerCase()}\0${entry.Segment}`, entry);
    this.#timer ??= this.#clock.setTimer(this.#periodMs, () => void this.flush());
  }

  /** Writes what is waiting (at most 5 batches of 128). */
  async flush(): Promise<void> {
    this.#timer = undefined;
    const all = [...this.#pending.values()];
    this.#pending.clear();
    const limit = COORDINATE_BATCH_SIZE * COORDINATE_MAX_BATCHES;
    if (all.length > limit) {
      this.#logger.warn("Discarded coordinate updates", { number_discarded: all.length - limit });
    }
    const kept = all.slice(0, limit);
    for (let i = 0; i < kept.length; i += COORDINATE_BATCH_SIZE) {
      try {
        const { result } = await this.#consensus.propose({ Type: "coordinate-update", Coordinates: kept.slice(i, i + COORDINATE_BATCH_SIZE) });
        if (!result.ok) this.#logger.warn("Failed to apply coordinate updates", { error: result.error });
      } catch (e) {
        this.#logger.warn("Failed to apply coordinate updates", { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pending.clear();
  }
}
