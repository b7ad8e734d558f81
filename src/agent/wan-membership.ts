import type { RuntimeConfig } from "../config/runtime-config.ts";
import { DEFAULT_LOCAL_CONFIG, DEFAULT_WAN_CONFIG, gossipConfig, type GossipConfig } from "../gossip/config.ts";
import { Keyring } from "../transport/gossip-crypto.ts";
import type { AgentIdentity } from "./agent.ts";
import { LoneMembership } from "./lone-membership.ts";
import { gossipBindHost, memberProtocol, tunedGossipConfig } from "./membership-config.ts";
import { GossipMembership, type GossipMembershipDeps, type GossipMembershipSettings, type Membership } from "./membership.ts";
import { readSelfConfig, wanMember } from "./self-info.ts";

// A server's WAN gossip pool (Consul's serf WAN): every server of every federated datacenter,
// named `<node>.<dc>`, on ports.serf_wan with memberlist's WAN timing profile. It is the same
// gossip membership as the LAN pool, started with the WAN settings; client agents have none,
// and ports.serf_wan = -1 turns it off on a server ("WAN Federation is disabled").

/** Consul's ErrWANFederationDisabled text. */
export const WAN_FEDERATION_DISABLED = "WAN Federation is disabled";

/**
 * -dev runs memberlist's local profile, as the LAN pool does (the dev gossip_wan presets set
 * probe_timeout = probe_interval); otherwise gossip_wan tunes memberlist's WAN profile.
 */
export function wanGossipConfig(rc: RuntimeConfig): GossipConfig {
  if (rc.dev) return gossipConfig({ reconnectTimeoutMs: rc.reconnectTimeoutWanMs || DEFAULT_LOCAL_CONFIG.reconnectTimeoutMs }, DEFAULT_LOCAL_CONFIG);
  return tunedGossipConfig(rc.gossipWan, rc.reconnectTimeoutWanMs, DEFAULT_WAN_CONFIG);
}

/** The WAN pool's settings, or undefined when this agent has none (a client, or serf_wan = -1). */
export function wanMembershipSettings(rc: RuntimeConfig, identity: AgentIdentity, fallbackToFreePort = false): GossipMembershipSettings | undefined {
  if (!identity.server || rc.ports.serfWan <= 0) return undefined;
  const self = wanMember(identity, readSelfConfig(identity, rc as unknown as Record<string, unknown>));
  if (!self) return undefined;
  return {
    nodeName: self.name,
    datacenter: identity.datacenter,
    host: gossipBindHost(rc.serfWanBindAddr, rc.advertiseAddrWan),
    port: rc.ports.serfWan,
    fallbackToFreePort,
    tags: self.tags,
    gossip: wanGossipConfig(rc),
    // Consul keeps a WAN keyring of its own (serf/remote.keyring), seeded with the same key.
    keyring: rc.encryptKey !== "" ? new Keyring([rc.encryptKey]) : undefined,
    gossipVerify: { incoming: rc.encryptVerifyIncoming, outgoing: rc.encryptVerifyOutgoing },
    retryJoin: rc.retryJoinWan,
    retryIntervalMs: rc.retryIntervalWanMs > 0 ? rc.retryIntervalWanMs : 30_000,
    retryMax: rc.retryMaxWan,
    protocol: memberProtocol(self),
    pool: "WAN",
  };
}

/**
 * The server's WAN pool: real gossip when started from configuration, a pool of one (this
 * server as `<node>.<dc>`) without it; undefined on client agents and with serf_wan = -1.
 * `keyring`: the WAN keyring as loaded from the data dir (serf/remote.keyring); `-encrypt` alone when absent.
 */
export async function startWanMembership(
  rc: RuntimeConfig | undefined,
  identity: AgentIdentity,
  deps: GossipMembershipDeps,
  keyring?: Keyring,
  fallbackToFreePort = false,
): Promise<Membership | undefined> {
  if (rc) {
    const settings = wanMembershipSettings(rc, identity, fallbackToFreePort);
    return settings ? GossipMembership.start(keyring ? { ...settings, keyring } : settings, deps) : undefined;
  }
  const self = wanMember(identity, readSelfConfig(identity, {}));
  return self ? new LoneMembership(self, identity.datacenter, deps.logger) : undefined;
}
