// Gossip defaults in one object, after memberlist's DefaultLANConfig (and serf's reconnect and
// tombstone timers, and its event buffer). The WAN and local profiles override a few fields,
// exactly as memberlist derives DefaultWANConfig / DefaultLocalConfig from the LAN one.

export interface GossipConfig {
  /** Time between failure probes; one member is probed per interval (scaled by awareness). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before asking `indirectChecks` peers to probe. */
  readonly probeTimeoutMs: number;
  /** Peers asked to probe a member that missed its direct ack (SWIM's k). */
  readonly indirectChecks: number;
  /** Also ping over TCP when the UDP probe fails; tells a UDP-only outage from a dead member. */
  readonly tcpFallbackProbe: boolean;
  /** Broadcast retransmits = retransmitMult × ceil(log10(n + 1)). */
  readonly retransmitMult: number;
  /** Minimum suspicion timeout = suspicionMult × max(1, log10(n)) × probeInterval. */
  readonly suspicionMult: number;
  /** Maximum suspicion timeout = this × minimum; confirmations shrink it toward the minimum. */
  readonly suspicionMaxTimeoutMult: number;
  /** Lifeguard: probe intervals scale by (health score + 1), the score capped below this. */
  readonly awarenessMaxMultiplier: number;
  /** Gossip fan-out per gossip interval. */
  readonly gossipNodes: number;
  readonly gossipIntervalMs: number;
  /** Dead members still receive gossip this long, so a falsely-dead member can refute. */
  readonly gossipToTheDeadMs: number;
  /** Full state exchange with one random member; scaled up past 32 members (memberlist). */
  readonly pushPullIntervalMs: number;
  /** Deadline for a TCP exchange (push-pull, fallback ping). */
  readonly tcpTimeoutMs: number;
  /** Largest UDP payload we emit, before encryption overhead. */
  readonly udpBufferSizeBytes: number;
  /** Encoded tag map limit (memberlist MetaMaxSize). */
  readonly metaMaxBytes: number;
  /** A dead member with another address may reclaim its name after this (0 = never). */
  readonly deadNodeReclaimTimeMs: number;
  /** Broadcast queue depth limit; oldest-by-transmits are pruned past it (memberlist). */
  readonly maxBroadcastQueueDepth: number;
  /** How often failed members are retried with a join (serf ReconnectInterval). */
  readonly reconnectIntervalMs: number;
  /** Failed members are reaped (forgotten) after this (serf/Consul reconnect_timeout: 72 h). */
  readonly reconnectTimeoutMs: number;
  /** Left members are reaped after this (serf TombstoneTimeout: 24 h). */
  readonly tombstoneTimeoutMs: number;
  /** How often the reaper runs (serf ReapInterval). */
  readonly reapIntervalMs: number;
  /** User events remembered for de-duplication, by Lamport time slot (serf EventBuffer). */
  readonly eventBufferSize: number;
  /** Largest user event payload + name (serf UserEventSizeLimit). */
  readonly userEventMaxBytes: number;
  /** After leave(), the leave broadcast is given this long to go out before giving up (serf BroadcastTimeout). */
  readonly leaveBroadcastTimeoutMs: number;
}

export const DEFAULT_LAN_CONFIG: GossipConfig = {
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  tcpFallbackProbe: true,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  gossipNodes: 3,
  gossipIntervalMs: 200,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  tcpTimeoutMs: 10_000,
  udpBufferSizeBytes: 1_400,
  metaMaxBytes: 512,
  deadNodeReclaimTimeMs: 0,
  maxBroadcastQueueDepth: 4_096,
  reconnectIntervalMs: 30_000,
  reconnectTimeoutMs: 72 * 3_600_000,
  tombstoneTimeoutMs: 24 * 3_600_000,
  reapIntervalMs: 15_000,
  eventBufferSize: 512,
  userEventMaxBytes: 9 * 1024,
  leaveBroadcastTimeoutMs: 5_000,
};

/** Higher latency, more loss: slower probes, longer suspicion (memberlist DefaultWANConfig). */
export const DEFAULT_WAN_CONFIG: GossipConfig = {
  ...DEFAULT_LAN_CONFIG,
  tcpTimeoutMs: 30_000,
  suspicionMult: 6,
  pushPullIntervalMs: 60_000,
  probeTimeoutMs: 3_000,
  probeIntervalMs: 5_000,
  gossipNodes: 4,
  gossipIntervalMs: 500,
  gossipToTheDeadMs: 60_000,
};

/** Loopback or one rack: faster everything (memberlist DefaultLocalConfig). */
export const DEFAULT_LOCAL_CONFIG: GossipConfig = {
  ...DEFAULT_LAN_CONFIG,
  tcpTimeoutMs: 1_000,
  indirectChecks: 1,
  retransmitMult: 2,
  suspicionMult: 3,
  pushPullIntervalMs: 15_000,
  probeTimeoutMs: 200,
  probeIntervalMs: 1_000,
  gossipIntervalMs: 100,
  gossipToTheDeadMs: 15_000,
};

export class GossipConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`gossip config ${field}: ${message}`);
    this.name = "GossipConfigError";
    this.field = field;
  }
}

/** Merges overrides onto a profile and rejects combinations the protocol cannot run with. */
export function gossipConfig(overrides: Partial<GossipConfig> = {}, base: GossipConfig = DEFAULT_LAN_CONFIG): GossipConfig {
  const c: GossipConfig = { ...base, ...overrides };
  for (const [field, value] of Object.entries(c)) {
    if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) {
      throw new GossipConfigError(field, `must be a non-negative number, got ${value}`);
    }
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) {
    throw new GossipConfigError("probeTimeoutMs", "must be shorter than probeIntervalMs so indirect probes have time");
  }
  if (c.udpBufferSizeBytes < 512) throw new GossipConfigError("udpBufferSizeBytes", "must be at least 512");
  if (c.awarenessMaxMultiplier < 1) throw new GossipConfigError("awarenessMaxMultiplier", "must be at least 1");
  if (c.suspicionMult < 1) throw new GossipConfigError("suspicionMult", "must be at least 1");
  if (c.eventBufferSize < 1) throw new GossipConfigError("eventBufferSize", "must be at least 1");
  return c;
}
