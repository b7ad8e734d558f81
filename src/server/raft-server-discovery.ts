import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { memberChangeOf } from "./leader-reconcile.ts";
import type { RaftPeer } from "./raft-consensus.ts";
import type { LocalMember, MemberChange, ServerMember } from "../model/members.ts";

// How gossip shapes the Raft cluster of a server (Consul's maybeBootstrap + the leader's
// joinConsulServer/removeConsulServer):
//   - every server seen in the LAN pool is recorded as a Raft peer: Raft runs over the server
//     RPC port, so a peer's Raft address is the rpcAddr its gossip tags announce, and a
//     restarted cluster re-learns every address from gossip (nothing else is persisted);
//   - with bootstrap_expect = N, a fresh server waits until N servers (itself included) with
//     the same expect are alive, asks each of them for its Raft peers, and when none has any
//     bootstraps with the N lowest node ids (every server computes the same set; a server
//     outside it waits to be added by the leader);
//   - the leader adds alive servers missing from the configuration (first removing a member of
//     another id on the same address: the same server restarted with a new id) and removes
//     servers that left gracefully. Failed servers stay voters (autopilot's dead-server cleanup decides).
// One pass runs at a time; changes and a periodic timer queue another.

/** What the duty needs of the server's Raft consensus (RaftConsensus). */
export interface DiscoveryRaft {
  readonly nodeId: string;
  isLeader(): boolean;
  isFresh(): boolean;
  hasMember(nodeId: string): boolean;
  /** Node id of the member whose server address is `address` ("" when none is known there). */
  memberAt(address: string): string;
  setPeerAddress(peer: RaftPeer): void;
  bootstrapIfFresh(servers: readonly RaftPeer[]): Promise<boolean>;
  addPeer(peer: RaftPeer): Promise<void>;
  removePeer(nodeId: string): Promise<void>;
  onLeadershipChange(cb: (isLeader: boolean) => void): () => void;
}

/** What the duty needs of the LAN pool. */
export interface DiscoveryMembership {
  servers(): ServerMember[];
  members(): LocalMember[];
  onServersChanged(listener: (servers: ServerMember[]) => void): () => void;
  onMemberChange(listener: (change: MemberChange) => void): () => void;
}

export interface RaftServerDiscoveryDeps {
  raft: DiscoveryRaft;
  membership: DiscoveryMembership;
  /** The Raft voters another server reports (Status.Peers over RPC); rejects when it cannot be asked. */
  queryPeers: (rpcAddr: string) => Promise<string[]>;
  /** bootstrap_expect; 0 disables expect-bootstrap. */
  bootstrapExpect: number;
  clock: Clock;
  logger: Logger;
  /** Period of the retry pass (failed peer queries, refused membership changes). */
  intervalMs?: number;
}

type Phase = "idle" | "running" | "stopped";

function peerOf(server: ServerMember): RaftPeer {
  return { id: server.id, address: server.rpcAddr, raftAddress: server.rpcAddr };
}

/** The servers an expect-bootstrap starts with: the `expect` lowest node ids, the same on every server. */
export function bootstrapVoters(servers: readonly ServerMember[], expect: number): ServerMember[] {
  return [...servers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, expect);
}

export class RaftServerDiscovery {
  readonly #deps: RaftServerDiscoveryDeps;
  readonly #unsubscribe: (() => void)[] = [];
  #phase: Phase = "idle";
  #again = false;
  #expectDone: boolean;
  #timer: TimerHandle | undefined;
  #lastWaitLog = "";

  constructor(deps: RaftServerDiscoveryDeps) {
    this.#deps = deps;
    this.#expectDone = deps.bootstrapExpect <= 0;
  }

  start(): void {
    const { membership, raft } = this.#deps;
    this.#unsubscribe.push(membership.onServersChanged(() => this.poke()));
    this.#unsubscribe.push(membership.onMemberChange(() => this.poke()));
    this.#unsubscribe.push(raft.onLeadershipChange(() => this.poke()));
    this.#arm();
    this.poke();
  }

  stop(): void {
    this.#phase = "stopped";
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  /** Queues a pass (runs at once when none is running). */
  poke(): void {
    if (this.#phase === "stopped") return;
    if (this.#phase === "running") {
      this.#again = true;
      return;
    }
    this.#phase = "running";
    void this.#loop();
  }

  /** Resolves once no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.#phase === "running") await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#pass();
      } catch (err) {
        this.#deps.logger.warn("raft server discovery pass failed", { error: err instanceof Error ? err.message : String(err) });
      }
    } while (this.#again && this.#phase === "running");
    if (this.#phase === "running") this.#phase = "idle";
  }

  #arm(): void {
    this.#timer = this.#deps.clock.setTimer(this.#deps.intervalMs ?? 1000, () => {
      this.#timer = undefined;
      if (this.#phase === "stopped") return;
      this.poke();
      this.#arm();
    });
  }

  async #pass(): Promise<void> {
    const { raft, membership } = this.#deps;
    const servers = membership.servers().filter((s) => s.id !== "");
    for (const s of servers) if (s.id !== raft.nodeId) raft.setPeerAddress(peerOf(s));
    if (!this.#expectDone) await this.#maybeBootstrap(servers);
    if (raft.isLeader()) await this.#reconcileConfiguration(servers);
  }

  async #maybeBootstrap(servers: ServerMember[]): Promise<void> {
    const { raft, logger, bootstrapExpect: expect } = this.#deps;
    if (!raft.isFresh()) {
      this.#expectDone = true;
      return;
    }
    for (const s of servers) {
      if (s.bootstrap) {
        logger.error("Member has bootstrap mode. Expect disabled.", { member: s.name });
        this.#expectDone = true;
        return;
      }
      if (s.expect !== 0 && s.expect !== expect) {
        this.#logWaiting(`conflict:${s.name}`, () => logger.error("Member has a conflicting expect value. All nodes should expect the same number.", { member: s.name }));
        return;
      }
    }
    if (servers.length < expect) {
      this.#logWaiting(`count:${servers.length}`, () => logger.info("Waiting for servers to bootstrap", { found: servers.length, expect }));
      return;
    }
    const voters = bootstrapVoters(servers, expect);
    if (!voters.some((s) => s.id === raft.nodeId)) {
      // Not among the initial voters: the cluster's leader adds this server once it exists.
      this.#expectDone = true;
      return;
    }
    for (const s of servers) {
      if (s.id === raft.nodeId) continue;
      let peers: string[];
      try {
        peers = await this.#deps.queryPeers(s.rpcAddr);
      } catch (err) {
        logger.warn("Failed to confirm peer status", { peer: s.name, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      if (peers.length > 0) {
        logger.info("Existing Raft peers reported by server, disabling bootstrap mode", { server: s.name });
        this.#expectDone = true;
        return;
      }
    }
    await raft.bootstrapIfFresh(voters.map(peerOf));
    this.#expectDone = true;
  }

  async #reconcileConfiguration(servers: ServerMember[]): Promise<void> {
    const { raft, membership, logger } = this.#deps;
    for (const s of servers) {
      if (s.id === raft.nodeId || raft.hasMember(s.id)) continue;
      // A server restarted with a new id (its data dir wiped) on its old address: the old id
      // goes first, as Consul's joinConsulServer does, so the configuration never counts
      // both, one of which can never answer again (with 3 servers, 4 voters need 3 for quorum).
      const stale = raft.memberAt(s.rpcAddr);
      if (stale !== "" && stale !== s.id && stale !== raft.nodeId) {
        try {
          await raft.removePeer(stale);
          logger.info("removed server with duplicate address", { address: s.rpcAddr });
        } catch (err) {
          logger.warn("failed to remove server with duplicate address", { address: s.rpcAddr, error: err instanceof Error ? err.message : String(err) });
          return;
        }
        if (!raft.isLeader()) return;
      }
      try {
        await raft.addPeer(peerOf(s));
        logger.info("added server to the Raft configuration", { server: s.name, address: s.rpcAddr });
      } catch (err) {
        logger.warn("failed to add raft peer", { server: s.name, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      if (!raft.isLeader()) return;
    }
    for (const m of membership.members()) {
      const change = memberChangeOf(m);
      const id = m.tags.id ?? "";
      if (change.status !== "left" || m.tags.role !== "consul" || id === "" || id === raft.nodeId || !raft.hasMember(id)) continue;
      try {
        await raft.removePeer(id);
        logger.info("removed server that left from the Raft configuration", { server: m.name });
      } catch (err) {
        logger.warn("failed to remove raft peer", { server: m.name, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      if (!raft.isLeader()) return;
    }
  }

  /** Logs a waiting condition once per distinct state, not on every pass. */
  #logWaiting(key: string, log: () => void): void {
    if (key === this.#lastWaitLog) return;
    this.#lastWaitLog = key;
    log();
  }
}
