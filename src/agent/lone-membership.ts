import type { Logger } from "../runtime/logger.ts";
import { joinTarget, JoinFailedError, serverFromMember, type Membership, type ReceivedUserEvent } from "./membership.ts";
import type { LocalMember, MemberChange, ServerMember } from "../model/members.ts";

// A pool of one without sockets, for agents wired without a runtime configuration (in-process
// harnesses and embedders): the agent is its only member and user events loop back locally.

export class LoneMembership implements Membership {
  readonly #self: LocalMember;
  readonly #datacenter: string;
  readonly #logger: Logger;
  readonly #eventListeners = new Set<(e: ReceivedUserEvent) => void>();
  #ltime = 0;

  constructor(self: LocalMember, datacenter: string, logger: Logger) {
    this.#self = self;
    this.#datacenter = datacenter;
    this.#logger = logger;
  }

  get gossipAddr(): string {
    return joinTarget(this.#self.addr, this.#self.port);
  }

  members(): LocalMember[] {
    return [{ ...this.#self, tags: { ...this.#self.tags } }];
  }

  join(addrs: readonly string[]): Promise<number> {
    const targets = addrs.map((a) => joinTarget(a, this.#self.port));
    const own = targets.filter((t) => t === this.gossipAddr).length;
    if (own > 0) return Promise.resolve(own);
    const lines = targets.map((t) => `\t* Failed to join ${t}: no gossip transport on this agent`).join("\n");
    return Promise.reject(new JoinFailedError(`${targets.length} error${targets.length === 1 ? "" : "s"} occurred:\n${lines}\n\n`));
  }

  leave(): Promise<void> {
    return Promise.resolve();
  }

  /** The only member is this live agent: a leave intent for it is refuted, so nothing changes. */
  forceLeave(node: string): boolean {
    return node === this.#self.name;
  }

  servers(): ServerMember[] {
    const server = serverFromMember(this.#self, this.#datacenter);
    return server ? [server] : [];
  }

  onServersChanged(): () => void {
    return () => {};
  }

  onMemberChange(_listener: (change: MemberChange) => void): () => void {
    return () => {};
  }

  fireUserEvent(name: string, payload: Uint8Array): void {
    const event = { name, payload, ltime: ++this.#ltime };
    for (const l of [...this.#eventListeners]) {
      try {
        l(event);
      } catch (e) {
        this.#logger.error("membership listener failed", { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  onUserEvent(listener: (event: ReceivedUserEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
