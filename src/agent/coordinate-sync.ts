import type { Coordinate } from "../model/catalog.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";

// Every agent sends its own LAN coordinate to the servers now and then (Consul's
// agent.sendCoordinate): the interval grows with the pool so the servers see about
// `rateTarget` updates a second in all, never below `intervalMinMs`, plus a random stagger of up
// to the same again so agents started together do not send together.

export interface CoordinateSyncSettings {
  nodeName: string;
  intervalMinMs: number;
  /** Updates per second the whole pool should send (sync_coordinate_rate_target). */
  rateTarget: number;
}

export interface CoordinateSyncDeps {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** This agent's LAN coordinate; undefined while it has none (a pool of one). */
  coordinate: () => Coordinate | undefined;
  memberCount: () => number;
  /**
   * PUT /v1/coordinate/update through this agent's own dispatcher with its agent token;
   * resolves with the status, the body and, when refused (403), the AccessorID of the token
   * it carried ("" when that does not resolve) for the warning.
   */
  send: (body: Buffer) => Promise<{ status: number; body: string; accessorID?: string }>;
}

/** lib.RateScaledInterval: max(min, n / rate seconds). */
export function rateScaledIntervalMs(rate: number, minMs: number, n: number): number {
  if (rate <= 0) return minMs;
  return Math.max(minMs, (n / rate) * 1000);
}

export class CoordinateSync {
  readonly #settings: CoordinateSyncSettings;
  readonly #deps: CoordinateSyncDeps;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(settings: CoordinateSyncSettings, deps: CoordinateSyncDeps) {
    this.#settings = settings;
    this.#deps = deps;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const base = rateScaledIntervalMs(this.#settings.rateTarget, this.#settings.intervalMinMs, this.#deps.memberCount());
    const delay = base + Math.floor(this.#deps.rng.float() * base);
    this.#timer = this.#deps.clock.setTimer(delay, () => {
      this.#timer = undefined;
      void this.sendNow().finally(() => this.#schedule());
    });
  }

  /** Sends the current coordinate once (errors are logged, as Consul's loop logs and goes on). */
  async sendNow(): Promise<void> {
    const coord = this.#deps.coordinate();
    if (!coord || this.#stopped) return;
    const body = Buffer.from(JSON.stringify({ Node: this.#settings.nodeName, Segment: "", Coord: coord }));
    try {
      const answer = await this.#deps.send(body);
      if (answer.status === 403) this.#deps.logger.warn("Coordinate update blocked by ACLs", { accessorID: answer.accessorID ?? "" });
      else if (answer.status !== 200) this.#deps.logger.error("Coordinate update error", { error: answer.body });
    } catch (e) {
      this.#deps.logger.error("Coordinate update error", { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
