import { MEMBER_STATUS, type LocalMember, type MemberChange, type ReconcileStatus, type ServerMember } from "../model/members.ts";
import type { GossipConfig } from "../gossip/config.ts";
import { memberlistMetrics } from "../gossip/memberlist-metrics.ts";
import type { Metrics } from "../runtime/metrics.ts";
import type { Coordinate } from "../model/catalog.ts";
import { CoordinateTracker } from "../gossip/coordinate-tracker.ts";
import { systemRng } from "../runtime/rng.ts";
import type { Member, MemberTags } from "../gossip/member-state.ts";
import type { GossipEvent } from "../gossip/swim.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { GossipVerify, Keyring } from "../transport/gossip-crypto.ts";
import { GossipRunner, type StreamExtension } from "../transport/gossip-runner.ts";

// The agent's LAN gossip pool (Consul's serf LAN): membership with Consul's serf statuses,
// joins (explicit and -retry-join), graceful and forced leaves, user events, and the view of
// which members are servers that the RPC client and Raft bootstrap follow.

export interface ReceivedUserEvent {
  name: string;
  payload: Uint8Array;
  ltime: number;
}

export class JoinFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JoinFailedError";
  }
}

/** The gossip pool as the agent, its HTTP handlers and its leader duties see it. */
export interface Membership {
  /** "ip:port" this agent gossips on. */
  readonly gossipAddr: string;
  /** Every known member, self included, as /v1/agent/members lists them. */
  members(): LocalMember[];
  /** Joins through each address (host or host:port, default port = our gossip port); resolves with how many answered. */
  join(addrs: readonly string[]): Promise<number>;
  /** Graceful leave: tells the pool we are going (peers see `left`). */
  leave(): Promise<void>;
  /** Marks a failed member as left (prune: forget it at once); false when no such member. */
  forceLeave(node: string, prune: boolean): boolean;
  /** Alive members with role=consul in our datacenter. */
  servers(): ServerMember[];
  /** Called with the new list whenever the set of alive servers changes; returns an unsubscribe. */
  onServersChanged(listener: (servers: ServerMember[]) => void): () => void;
  /** Every status change of a member, for the leader's catalog reconciliation. */
  onMemberChange(listener: (change: MemberChange) => void): () => void;
  /** memberlist's health score (Lifeguard awareness: 0 is healthy); absent for a pool of one. */
  healthScore?(): number;
  /** serf's queue depths (intents, user events, queries) for consul.serf.queue.*; absent for a pool of one. */
  queueDepths?(): { intent: number; event: number; query: number };
  /** Broadcasts a user event to every member, this one included (delivered through onUserEvent). */
  fireUserEvent(name: string, payload: Uint8Array): void;
  onUserEvent(listener: (event: ReceivedUserEvent) => void): () => void;
  /** This agent's Vivaldi coordinate in this pool; absent for a pool of one. */
  coordinate?(): Coordinate;
  /** The last coordinate a member of this pool sent us (serf's cache); absent for a pool of one. */
  memberCoordinate?(name: string): Coordinate | undefined;
  stop(): Promise<void>;
}

export interface GossipMembershipSettings {
  nodeName: string;
  datacenter: string;
  /** Address to bind and advertise (the runner gossips from the address it binds). */
  host: string;
  /** Configured serf LAN port (8301). */
  port: number;
  /** When the configured port is taken, take a free one instead (dev agents side by side). */
  fallbackToFreePort: boolean;
  tags: MemberTags;
  gossip: GossipConfig;
  keyring?: Keyring;
  /** encrypt_verify_incoming / encrypt_verify_outgoing (rolling roll-out of a gossip key). */
  gossipVerify?: GossipVerify;
  retryJoin: readonly string[];
  retryIntervalMs: number;
  /** 0 = retry forever. */
  retryMax: number;
  /** Template for the protocol fields of listed members. */
  protocol: Pick<LocalMember, "protocolMin" | "protocolMax" | "protocolCur" | "delegateMin" | "delegateMax" | "delegateCur">;
  /** Which serf pool this is, for log names and labels (default LAN; wan-membership.ts runs the WAN one). */
  pool?: GossipPool;
}

export type GossipPool = "LAN" | "WAN";

/** Consul's logger names: the LAN pool of an agent, the WAN pool of a server. */
function serfLoggerName(pool: GossipPool = "LAN"): string {
  return pool === "WAN" ? "agent.server.serf.wan" : "agent.client.serf.lan";
}

export interface GossipMembershipDeps {
  clock: Clock;
  logger: Logger;
  /** Called when -retry-join gave up after retry_max attempts (Consul then shuts the agent down). */
  onRetryJoinExhausted?: (error: Error) => void;
  /** The agent's metrics sink: memberlist's series (consul.memberlist.*) for this pool. */
  metrics?: Metrics;
}

/** Splits "host:port" / "[v6]:port" into its parts. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(addr);
  if (bracketed) return { host: bracketed[1], port: Number(bracketed[2]) };
  const i = addr.lastIndexOf(":");
  return i < 0 ? { host: addr, port: 0 } : { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** memberlist's address parsing: `host` or `host:port` (IPv6 in brackets), default port per pool. */
export function joinTarget(address: string, defaultPort: number): string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) return `[${bracketed[1]}]:${bracketed[2] ?? defaultPort}`;
  const colons = address.split(":").length - 1;
  if (colons === 1) return address;
  if (colons > 1) return `[${address}]:${defaultPort}`;
  return `${address}:${defaultPort}`;
}

function reconcileStatus(event: GossipEvent): ReconcileStatus | undefined {
  switch (event.type) {
    case "join":
    case "update":
    case "alive":
      return "alive";
    case "dead":
      return "failed";
    case "leave":
      return "left";
    case "reap":
      return "reaped";
    default:
      // serf folds memberlist's suspicion into alive: a suspect member is still a member.
      return undefined;
  }
}

export function serverFromMember(member: Pick<MemberChange, "name" | "addr" | "tags">, datacenter: string): ServerMember | undefined {
  const t = member.tags;
  if (t.role !== "consul" || (t.dc ?? datacenter) !== datacenter) return undefined;
  const port = Number(t.port);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  const host = member.addr.includes(":") ? `[${member.addr}]` : member.addr;
  return { name: member.name, id: t.id ?? "", rpcAddr: `${host}:${port}`, expect: Number(t.expect ?? 0) || 0, bootstrap: t.bootstrap === "1", datacenter: t.dc ?? datacenter };
}

/** Subscribers of one kind, each removable. */
class Listeners<T> {
  readonly #set = new Set<(value: T) => void>();
  add(listener: (value: T) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }
  emit(value: T, logger: Logger): void {
    for (const l of [...this.#set]) {
      try {
        l(value);
      } catch (e) {
        logger.error("membership listener failed", { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
}

/** Which step -retry-join is at; it runs once per agent and ends joined, exhausted or stopped. */
type RetryJoinPhase = "idle" | "joining" | "waiting" | "joined" | "exhausted" | "stopped";

export class GossipMembership implements Membership {
  readonly #runner: GossipRunner;
  readonly #coordinates: CoordinateTracker;
  readonly #settings: GossipMembershipSettings;
  readonly #deps: GossipMembershipDeps;
  readonly #logger: Logger;
  readonly #agentLogger: Logger;
  readonly #serverListeners = new Listeners<ServerMember[]>();
  readonly #changeListeners = new Listeners<MemberChange>();
  readonly #eventListeners = new Listeners<ReceivedUserEvent>();
  #serversKey = "";
  #retryPhase: RetryJoinPhase = "idle";
  #retryTimer: TimerHandle | undefined;
  #leaving = false;
  #left = false;
  #stopped = false;

  private constructor(runner: GossipRunner, coordinates: CoordinateTracker, settings: GossipMembershipSettings, deps: GossipMembershipDeps) {
    this.#runner = runner;
    this.#coordinates = coordinates;
    this.#settings = settings;
    this.#deps = deps;
    this.#logger = deps.logger.named(serfLoggerName(settings.pool));
    this.#agentLogger = deps.logger.named("agent");
    runner.onEvent((e) => this.#onGossipEvent(e));
    this.#serversKey = serversKey(this.servers());
  }

  static async start(settings: GossipMembershipSettings, deps: GossipMembershipDeps): Promise<GossipMembership> {
    const logger = deps.logger.named(serfLoggerName(settings.pool));
    const observer = deps.metrics ? memberlistMetrics(deps.metrics, settings.pool === "WAN" ? "wan" : "lan") : undefined;
    const coordinates = new CoordinateTracker(settings.nodeName, systemRng);
    const options = { name: settings.nodeName, bindHost: settings.host, config: settings.gossip, tags: settings.tags, keyring: settings.keyring, gossipVerify: settings.gossipVerify, clock: deps.clock, observer, ping: coordinates };
    let runner: GossipRunner;
    try {
      runner = await GossipRunner.start({ ...options, port: settings.port });
    } catch (e) {
      if (!settings.fallbackToFreePort || !isAddressInUse(e)) throw e;
      runner = await GossipRunner.start({ ...options, port: 0 });
      logger.warn(`serf ${settings.pool ?? "LAN"} port in use, gossiping on a free port instead`, { wanted: settings.port, addr: runner.addr });
    }
    const membership = new GossipMembership(runner, coordinates, settings, deps);
    membership.#startRetryJoin();
    return membership;
  }

  get gossipAddr(): string {
    return this.#runner.addr;
  }

  get retryJoinPhase(): RetryJoinPhase {
    return this.#retryPhase;
  }

  members(): LocalMember[] {
    const self = this.#settings.nodeName;
    return this.#runner
      .members()
      .map((m) => this.#localMember(m, m.name === self));
  }

  async join(addrs: readonly string[]): Promise<number> {
    const targets = addrs.map((a) => joinTarget(a, this.#settings.port));
    const own = this.#runner.addr;
    // memberlist push/pulls with itself too; ours would only time out, so it counts at once.
    const others = targets.filter((t) => t !== own);
    const failures = others.length > 0 ? await this.#runner.joinEach(others) : [];
    const joined = failures.filter((f) => f === undefined).length + (targets.length - others.length);
    if (joined === 0) {
      // memberlist's wording: a name that does not resolve fails before any dial.
      const lines = others.map((t, i) => {
        const failure = failures[i];
        if (failure?.stage === "resolve") return `\t* Failed to resolve ${addrs[targets.indexOf(t)] ?? t}: ${failure.message}`;
        return `\t* Failed to join ${t}: ${failure?.message ?? "no answer to the gossip state exchange"}`;
      });
      throw new JoinFailedError(`${lines.length} error${lines.length === 1 ? "" : "s"} occurred:\n${lines.join("\n")}\n\n`);
    }
    return joined;
  }

  async leave(): Promise<void> {
    if (this.#leaving || this.#stopped) return;
    this.#leaving = true;
    this.#cancelRetryJoin();
    this.#logger.info("EventMemberLeave (local)", { member: this.#settings.nodeName });
    await this.#runner.leave();
    this.#left = true;
  }

  /** serf's leave intent, broadcast by the gossip core: every member records a failed node as left. */
  forceLeave(node: string, prune: boolean): boolean {
    return this.#runner.forceLeave(node, prune);
  }

  servers(): ServerMember[] {
    const dc = this.#settings.datacenter;
    const out: ServerMember[] = [];
    for (const m of this.#runner.members()) {
      if (m.status !== "alive" && m.status !== "suspect") continue;
      const server = serverFromMember({ name: m.name, addr: splitHostPort(m.addr).host, tags: m.tags }, dc);
      if (server) out.push(server);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  onServersChanged(listener: (servers: ServerMember[]) => void): () => void {
    return this.#serverListeners.add(listener);
  }

  onMemberChange(listener: (change: MemberChange) => void): () => void {
    return this.#changeListeners.add(listener);
  }

  healthScore(): number {
    return this.#runner.swim.stats().healthScore;
  }

  queueDepths(): { intent: number; event: number; query: number } {
    const stats = this.#runner.swim.stats();
    // No serf queries are sent (keyring operations use streams), so that queue is always empty.
    return { intent: stats.intentQueueDepth, event: stats.eventQueueDepth, query: 0 };
  }

  fireUserEvent(name: string, payload: Uint8Array): void {
    this.#runner.userEvent(name, payload);
  }

  onUserEvent(listener: (event: ReceivedUserEvent) => void): () => void {
    return this.#eventListeners.add(listener);
  }

  coordinate(): Coordinate {
    return this.#coordinates.coordinate;
  }

  memberCoordinate(name: string): Coordinate | undefined {
    return this.#coordinates.cached(name);
  }

  /** Request/reply streams of layers above gossip (keyring queries) on this pool's port: see GossipRunner.handleStreamKind. */
  handleStreams(kind: number, handler: StreamExtension): void {
    this.#runner.handleStreamKind(kind, handler);
  }

  requestStream(addr: string, bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array | undefined> {
    return this.#runner.streamRequest(addr, bytes, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancelRetryJoin();
    this.#retryPhase = "stopped";
    await this.#runner.shutdown();
  }

  #localMember(m: Member, isSelf: boolean): LocalMember {
    const { host, port } = splitHostPort(m.addr);
    let status: LocalMember["status"];
    if (isSelf && this.#leaving && !this.#left) status = MEMBER_STATUS.leaving;
    else if (m.status === "left") status = MEMBER_STATUS.left;
    else if (m.leaving === true && !isSelf) status = MEMBER_STATUS.leaving;
    else if (m.status === "dead") status = MEMBER_STATUS.failed;
    else status = MEMBER_STATUS.alive;
    return { ...this.#settings.protocol, name: m.name, addr: host, port, tags: { ...m.tags }, status };
  }

  #change(m: Member): Omit<MemberChange, "status"> {
    const { host, port } = splitHostPort(m.addr);
    return { name: m.name, addr: host, port, tags: m.tags };
  }

  #onGossipEvent(event: GossipEvent): void {
    if (event.type === "user") {
      this.#eventListeners.emit({ name: event.name, payload: event.payload, ltime: event.ltime }, this.#logger);
      return;
    }
    if (event.type === "conflict") {
      this.#logger.error("Name conflict", { member: event.existing.name, existing_addr: event.existing.addr, claimed_addr: event.claimedAddr });
      return;
    }
    if (event.type === "leaveComplete") return;
    const status = reconcileStatus(event);
    if (status === undefined) return;
    const m = event.member;
    if (event.type === "join") this.#logger.info("EventMemberJoin", { member: m.name, addr: m.addr });
    else if (status === "failed") this.#logger.info("EventMemberFailed", { member: m.name, addr: m.addr });
    else if (status === "left") this.#logger.info(event.type === "leave" && event.forced ? "EventMemberLeave (forced)" : "EventMemberLeave", { member: m.name, addr: m.addr });
    else if (status === "reaped") this.#logger.info("EventMemberReap", { member: m.name, addr: m.addr });
    if (status === "left" || status === "reaped") this.#coordinates.forget(m.name);
    this.#changeListeners.emit({ ...this.#change(m), status }, this.#logger);
    this.#notifyServersIfChanged();
  }

  #notifyServersIfChanged(): void {
    const servers = this.servers();
    const key = serversKey(servers);
    if (key === this.#serversKey) return;
    this.#serversKey = key;
    this.#serverListeners.emit(servers, this.#logger);
  }

  // ---- -retry-join: idle → joining → (joined | waiting → joining … | exhausted) ----

  #startRetryJoin(): void {
    if (this.#settings.retryJoin.length === 0) return;
    this.#agentLogger.info("Joining cluster...", { cluster: this.#pool });
    void this.#attemptJoin(1);
  }

  async #attemptJoin(attempt: number): Promise<void> {
    if (this.#stopped || this.#leaving) return;
    this.#retryPhase = "joining";
    const log = this.#agentLogger;
    const addrs = this.#settings.retryJoin;
    log.info(`(${this.#pool}) joining`, { [`${this.#pool.toLowerCase()}_addresses`]: `[${addrs.join(" ")}]` });
    let joined = 0;
    let error = "";
    try {
      joined = await this.join(addrs);
    } catch (e) {
      error = e instanceof Error ? e.message.trim() : String(e);
    }
    if (this.#stopped || this.#leaving) return;
    if (joined > 0) {
      this.#retryPhase = "joined";
      log.info(`(${this.#pool}) joined`, { number_of_nodes: joined });
      log.info("Join cluster completed. Synced with initial agents", { cluster: this.#pool, num_agents: joined });
      return;
    }
    const { retryMax, retryIntervalMs } = this.#settings;
    if (retryMax > 0 && attempt >= retryMax) {
      this.#retryPhase = "exhausted";
      const err = new Error("agent: max join retry exhausted");
      log.error("Join cluster failed", { cluster: this.#pool, error: err.message });
      this.#deps.onRetryJoinExhausted?.(err);
      return;
    }
    this.#retryPhase = "waiting";
    log.warn("Join cluster failed, will retry", { cluster: this.#pool, retry_interval: `${retryIntervalMs / 1000}s`, error });
    this.#retryTimer = this.#deps.clock.setTimer(retryIntervalMs, () => {
      this.#retryTimer = undefined;
      void this.#attemptJoin(attempt + 1);
    });
  }

  get #pool(): GossipPool {
    return this.#settings.pool ?? "LAN";
  }

  #cancelRetryJoin(): void {
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
  }
}

function serversKey(servers: readonly ServerMember[]): string {
  return servers.map((s) => `${s.name}@${s.rpcAddr}/${s.expect}`).join(",");
}

function isAddressInUse(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "EADDRINUSE";
}
