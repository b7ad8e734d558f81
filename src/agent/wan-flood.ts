import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Membership } from "./membership.ts";
import { type LocalMember, MEMBER_STATUS } from "../model/members.ts";

// Consul's serf flooder (agent/router/serf_flooder.go): each server keeps every alive server of
// its own datacenter in its WAN pool by joining that server's `<lan ip>:<wan_join_port>` when
// the WAN pool does not list `<node>.<dc>` as alive. One WAN join per datacenter then
// federates all of its servers: the datacenter's servers already share one WAN pool, and gossip
// carries the newcomer to each of them. It runs whenever the LAN servers change and on a slow
// timer (a join that failed, or a server the WAN pool lost, is retried there).

export const WAN_FLOOD_INTERVAL_MS = 30_000;

export interface WanFloodDeps {
  lan: Pick<Membership, "members" | "onServersChanged">;
  wan: Pick<Membership, "members" | "join">;
  datacenter: string;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}

export class WanFlood {
  readonly #deps: WanFloodDeps;
  readonly #joining = new Set<string>();
  #timer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(deps: WanFloodDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#unsubscribe = this.#deps.lan.onServersChanged(() => this.flood());
    this.flood();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#unsubscribe?.();
  }

  /** Joins the WAN pool address of every alive LAN server of ours that the WAN pool lacks. */
  flood(): void {
    if (this.#stopped) return;
    const { lan, wan, datacenter } = this.#deps;
    const aliveInWan = new Set(wan.members().filter((m) => m.status === MEMBER_STATUS.alive).map((m) => m.name));
    for (const m of lan.members()) {
      const target = floodTarget(m, datacenter);
      if (target === undefined || aliveInWan.has(`${m.name}.${datacenter}`) || this.#joining.has(target)) continue;
      this.#join(m.name, target);
    }
  }

  #join(name: string, target: string): void {
    this.#joining.add(target);
    this.#deps.wan.join([target]).then(
      () => {
        this.#joining.delete(target);
        this.#deps.logger.debug("Added LAN server to the WAN pool", { server: name, address: target });
      },
      (err: unknown) => {
        this.#joining.delete(target);
        if (!this.#stopped) this.#deps.logger.debug("Failed to flood-join server", { server: name, address: target, error: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#deps.clock.setTimer(this.#deps.intervalMs ?? WAN_FLOOD_INTERVAL_MS, () => {
      this.flood();
      this.#schedule();
    });
  }
}

/** `<lan ip>:<wan_join_port>` of an alive server of our datacenter; undefined for anything else. */
function floodTarget(m: LocalMember, datacenter: string): string | undefined {
  if (m.status !== MEMBER_STATUS.alive || m.tags.role !== "consul" || m.tags.dc !== datacenter) return undefined;
  const port = Number(m.tags.wan_join_port);
  if (!Number.isInteger(port) || port <= 0 || m.addr === "") return undefined;
  return m.addr.includes(":") ? `[${m.addr}]:${port}` : `${m.addr}:${port}`;
}
