import { isIP } from "node:net";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import { DEFAULT_LAN_CONFIG, DEFAULT_LOCAL_CONFIG, gossipConfig, type GossipConfig } from "../gossip/config.ts";
import { Keyring } from "../transport/gossip-crypto.ts";
import type { AgentIdentity } from "./agent.ts";
import { LoneMembership } from "./lone-membership.ts";
import { GossipMembership, type GossipMembershipDeps, type GossipMembershipSettings, type Membership } from "./membership.ts";
import { lanMember, readSelfConfig } from "./self-info.ts";
import type { LocalMember } from "../model/members.ts";

// From the resolved configuration to the LAN pool's settings: the serf tags this agent
// announces (the same ones /v1/agent/self shows), the gossip timing profile, the keyring.

function isAnyAddress(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

/**
 * The host a pool's runner binds. The runner gossips from the address it binds, so an
 * any-address bind gossips from the advertise address (an address of this host by construction).
 */
export function gossipBindHost(bindAddr: string, advertiseAddr: string): string {
  const bind = isAnyAddress(bindAddr) ? advertiseAddr : bindAddr;
  return isIP(bind) === 0 && bind.startsWith("[") ? bind.slice(1, -1) : bind;
}

/** The protocol fields of listed members, templated on this agent's own member. */
export function memberProtocol(self: LocalMember): GossipMembershipSettings["protocol"] {
  const { protocolMin, protocolMax, protocolCur, delegateMin, delegateMax, delegateCur } = self;
  return { protocolMin, protocolMax, protocolCur, delegateMin, delegateMax, delegateCur };
}

/**
 * -dev runs memberlist's local profile (its gossip_lan presets are tuned for one loopback
 * member and would not pass the probe-timeout check); otherwise gossip_lan tunes the LAN one.
 */
export function lanGossipConfig(rc: RuntimeConfig): GossipConfig {
  if (rc.dev) return gossipConfig({ reconnectTimeoutMs: rc.reconnectTimeoutMs || DEFAULT_LOCAL_CONFIG.reconnectTimeoutMs }, DEFAULT_LOCAL_CONFIG);
  return tunedGossipConfig(rc.gossipLan, rc.reconnectTimeoutMs, DEFAULT_LAN_CONFIG);
}

/** A memberlist profile with the configured gossip_lan / gossip_wan tuning (0 = keep the profile's value). */
export function tunedGossipConfig(g: RuntimeConfig["gossipLan"], reconnectTimeoutMs: number, profile: GossipConfig): GossipConfig {
  const overrides: { -readonly [K in keyof GossipConfig]?: GossipConfig[K] } = {};
  if (g.gossipNodes > 0) overrides.gossipNodes = g.gossipNodes;
  if (g.gossipIntervalMs > 0) overrides.gossipIntervalMs = g.gossipIntervalMs;
  if (g.probeIntervalMs > 0) overrides.probeIntervalMs = g.probeIntervalMs;
  if (g.probeTimeoutMs > 0) overrides.probeTimeoutMs = g.probeTimeoutMs;
  if (g.retransmitMult > 0) overrides.retransmitMult = g.retransmitMult;
  if (g.suspicionMult > 0) overrides.suspicionMult = g.suspicionMult;
  if (reconnectTimeoutMs > 0) overrides.reconnectTimeoutMs = reconnectTimeoutMs;
  return gossipConfig(overrides, profile);
}

/** `keyring`: the LAN keyring as keyring-setup.ts loaded it (the keyring file wins over -encrypt). */
export function gossipMembershipSettings(rc: RuntimeConfig, identity: AgentIdentity, keyring?: Keyring, fallbackToFreePort = false): GossipMembershipSettings {
  const self = lanMember(identity, readSelfConfig(identity, rc as unknown as Record<string, unknown>));
  return {
    nodeName: identity.nodeName,
    datacenter: identity.datacenter,
    host: gossipBindHost(rc.serfLanBindAddr, rc.advertiseAddr),
    port: rc.ports.serfLan,
    fallbackToFreePort,
    tags: self.tags,
    gossip: lanGossipConfig(rc),
    keyring: keyring ?? (rc.encryptKey !== "" ? new Keyring([rc.encryptKey]) : undefined),
    gossipVerify: { incoming: rc.encryptVerifyIncoming, outgoing: rc.encryptVerifyOutgoing },
    retryJoin: rc.retryJoin,
    retryIntervalMs: rc.retryIntervalMs > 0 ? rc.retryIntervalMs : 30_000,
    retryMax: rc.retryMax,
    protocol: memberProtocol(self),
  };
}

/** The agent's LAN pool: real gossip when started from configuration, else a pool of one. */
export async function startMembership(rc: RuntimeConfig | undefined, identity: AgentIdentity, deps: GossipMembershipDeps, keyring?: Keyring, fallbackToFreePort = false): Promise<Membership> {
  if (rc) return GossipMembership.start(gossipMembershipSettings(rc, identity, keyring, fallbackToFreePort), deps);
  return new LoneMembership(lanMember(identity, readSelfConfig(identity, {})), identity.datacenter, deps.logger);
}
