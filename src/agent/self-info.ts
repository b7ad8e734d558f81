import { MEMBER_STATUS, type LocalMember, type MemberStatus } from "../model/members.ts";
import os from "node:os";
import type { Coordinate } from "../model/catalog.ts";
import type { Consensus } from "../server/consensus.ts";
import { BUILD_DATE } from "../version.ts";
import type { AgentIdentity } from "./agent.ts";
import { openClientPorts, type ClientPorts } from "./open-ports.ts";

// What the agent says about itself (/v1/agent/self, /v1/agent/members, `consul info`), derived
// from its identity and the merged configuration. Until gossip lands this node is the only
// member of its pools, always alive, with serf's protocol versions.

/** version.ts keeps Go's time.String() form ("2026-11-25 00:00:00 +0000 UTC"); the API speaks RFC 3339. */
function rfc3339(goTime: string): string {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)? \+0000 UTC$/.exec(goTime);
  return m ? `${m[1]}T${m[2]}Z` : "1970-01-01T00:00:01Z";
}

/** Build facts. Without release stamping the revision is empty, as in an unstamped Consul build. */
export const BUILD_INFO = {
  revision: "",
  buildDate: rfc3339(BUILD_DATE),
  prerelease: "",
  versionMetadata: "",
  fips: "",
} as const;

/** memberlist protocol range and serf delegate protocol versions Consul runs with. */
const PROTOCOL = { min: 1, max: 5, cur: 2 } as const;
const DELEGATE = { min: 2, max: 5, cur: 4 } as const;
/** Consul RPC protocol (vsn tags) and Raft protocol. */
const CONSUL_PROTOCOL = { cur: 2, min: 2, max: 3 } as const;
const RAFT_PROTOCOL = 3;

export const DEFAULT_SERF_WAN_PORT = 8302;

/** A new serf coordinate: the origin of an 8-dimensional Vivaldi space. */
export const ORIGIN_COORDINATE: Coordinate = { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 };

/** The configuration facts /agent/self and the member tags need beyond the identity. */
export interface SelfConfig {
  primaryDatacenter: string;
  advertiseAddrWan: string;
  serfWanPort: number;
  grpcPort: number;
  grpcTlsPort: number;
  aclEnabled: boolean;
  bootstrap: boolean;
  bootstrapExpect: number;
  disableCoordinates: boolean;
  gossipEncrypted: boolean;
}

function objectAt(source: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = source[key];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function numberAt(source: Record<string, unknown>, key: string, fallback: number): number {
  const v = source[key];
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function stringAt(source: Record<string, unknown>, key: string, fallback: string): string {
  const v = source[key];
  return typeof v === "string" && v !== "" ? v : fallback;
}

function boolAt(source: Record<string, unknown>, key: string): boolean {
  return source[key] === true;
}

/** The client ports of a runtime configuration as configured (Consul's defaults where absent). */
function configuredClientPorts(runtimeConfig: Record<string, unknown>): ClientPorts {
  const ports = objectAt(runtimeConfig, "ports");
  return {
    http: numberAt(ports, "http", 8500),
    https: numberAt(ports, "https", -1),
    grpc: numberAt(ports, "grpc", -1),
    grpcTls: numberAt(ports, "grpcTls", -1),
    dns: numberAt(ports, "dns", 8600),
  };
}

/** Reads the merged runtime configuration (config/runtime-config.ts shape); absent fields take Consul's defaults. */
export function readSelfConfig(identity: AgentIdentity, runtimeConfig: Record<string, unknown>): SelfConfig {
  const ports = objectAt(runtimeConfig, "ports");
  // Gossip tags advertise gRPC ports to other agents: only ones that are open.
  const open = openClientPorts(configuredClientPorts(runtimeConfig));
  const encrypt = runtimeConfig.encryptKey ?? runtimeConfig.encrypt;
  return {
    primaryDatacenter: stringAt(runtimeConfig, "primaryDatacenter", identity.datacenter),
    advertiseAddrWan: stringAt(runtimeConfig, "advertiseAddrWan", identity.advertiseAddr),
    serfWanPort: numberAt(ports, "serfWan", DEFAULT_SERF_WAN_PORT),
    grpcPort: open.grpc,
    grpcTlsPort: open.grpcTls,
    aclEnabled: boolAt(runtimeConfig, "aclEnabled"),
    bootstrap: boolAt(runtimeConfig, "bootstrap"),
    bootstrapExpect: numberAt(runtimeConfig, "bootstrapExpect", 0),
    disableCoordinates: boolAt(runtimeConfig, "disableCoordinates"),
    gossipEncrypted: typeof encrypt === "string" && encrypt !== "",
  };
}

/** The `build` tag and `consul members` Build column: "<version><prerelease>:<revision[:8]>". */
export function buildTag(version: string): string {
  return `${version}${BUILD_INFO.prerelease}:${BUILD_INFO.revision.slice(0, 8)}`;
}

function commonTags(identity: AgentIdentity, cfg: SelfConfig): Record<string, string> {
  return {
    acls: cfg.aclEnabled ? "1" : "0",
    build: buildTag(identity.version),
    dc: identity.datacenter,
    id: identity.nodeId,
    vsn: String(CONSUL_PROTOCOL.cur),
    vsn_max: String(CONSUL_PROTOCOL.max),
    vsn_min: String(CONSUL_PROTOCOL.min),
  };
}

function serverTags(identity: AgentIdentity, cfg: SelfConfig): Record<string, string> {
  const tags: Record<string, string> = {
    ...commonTags(identity, cfg),
    role: "consul",
    port: String(identity.serverPort),
    raft_vsn: String(RAFT_PROTOCOL),
    ft_fs: "1",
    ft_si: "1",
  };
  if (cfg.bootstrap) tags.bootstrap = "1";
  if (cfg.bootstrapExpect > 0) tags.expect = String(cfg.bootstrapExpect);
  if (cfg.grpcPort > 0) tags.grpc_port = String(cfg.grpcPort);
  if (cfg.grpcTlsPort > 0) tags.grpc_tls_port = String(cfg.grpcTlsPort);
  return tags;
}

function member(name: string, addr: string, port: number, tags: Record<string, string>): LocalMember {
  return {
    name,
    addr,
    port,
    tags,
    status: MEMBER_STATUS.alive,
    protocolMin: PROTOCOL.min,
    protocolMax: PROTOCOL.max,
    protocolCur: PROTOCOL.cur,
    delegateMin: DELEGATE.min,
    delegateMax: DELEGATE.max,
    delegateCur: DELEGATE.cur,
  };
}

/** This agent as a member of its LAN pool. */
export function lanMember(identity: AgentIdentity, cfg: SelfConfig): LocalMember {
  // wan_join_port only while the WAN pool listens (Consul sets it only with a WAN serf config).
  const wanJoin: Record<string, string> = cfg.serfWanPort > 0 ? { wan_join_port: String(cfg.serfWanPort) } : {};
  const tags = identity.server
    ? { ...serverTags(identity, cfg), segment: "", ...wanJoin }
    : { ...commonTags(identity, cfg), role: "node", segment: "" };
  return member(identity.nodeName, identity.advertiseAddr, identity.serfLanPort, tags);
}

/** This server as a member of the WAN pool (named `<node>.<dc>`); clients are not in it. */
export function wanMember(identity: AgentIdentity, cfg: SelfConfig): LocalMember | undefined {
  if (!identity.server) return undefined;
  return member(`${identity.nodeName}.${identity.datacenter}`, cfg.advertiseAddrWan, cfg.serfWanPort, serverTags(identity, cfg));
}

export interface LocalStateCounts {
  services: number;
  checks: number;
  checkMonitors: number;
  checkTtls: number;
}

const GO_OS: Record<string, string> = { win32: "windows" };
const GO_ARCH: Record<string, string> = { x64: "amd64", ia32: "386" };

function raftStats(identity: AgentIdentity, consensus: Consensus): Record<string, string> {
  const applied = consensus.appliedIndex();
  const leader = consensus.isLeader();
  const lastContactMs = consensus.lastContactMs();
  const peers = consensus.peers();
  const self = `${identity.advertiseAddr}:${identity.serverPort}`;
  const configuration = peers
    .map((address) => `{Suffrage:Voter ID:${address === self ? identity.nodeId : address} Address:${address}}`)
    .join(" ");
  // The dev-mode local log has no terms: its one "leader" term is reported as 1, its log is
  // exactly what it applied, and it never snapshots.
  const log = consensus.logStatus?.() ?? {
    term: 1,
    commitIndex: applied,
    lastLogIndex: applied,
    lastLogTerm: applied > 0 ? 1 : 0,
    snapshotIndex: 0,
    snapshotTerm: 0,
  };
  return {
    applied_index: String(applied),
    commit_index: String(log.commitIndex),
    fsm_pending: String(Math.max(0, log.commitIndex - applied)),
    last_contact: leader ? "0" : consensus.leaderAddress() === "" ? "never" : `${lastContactMs}ms`,
    last_log_index: String(log.lastLogIndex),
    last_log_term: String(log.lastLogTerm),
    last_snapshot_index: String(log.snapshotIndex),
    last_snapshot_term: String(log.snapshotTerm),
    latest_configuration: `[${configuration}]`,
    latest_configuration_index: "0",
    num_peers: String(Math.max(0, peers.length - 1)),
    protocol_version: String(RAFT_PROTOCOL),
    protocol_version_max: "3",
    protocol_version_min: "0",
    snapshot_version_max: "1",
    snapshot_version_min: "0",
    state: leader ? "Leader" : consensus.leaderAddress() === "" ? "Candidate" : "Follower",
    term: String(log.term),
  };
}

/** The pools' views `consul info` counts from (serf's Stats: every known member, failed and left among them). */
export interface PoolCounts {
  members: readonly { status: MemberStatus }[];
  /** LAN only: servers of this datacenter the agent can route RPCs to. */
  servers?: number;
}

function serfStats(cfg: SelfConfig, pool?: PoolCounts): Record<string, string> {
  const count = (status: MemberStatus): number => pool?.members.filter((m) => m.status === status).length ?? 0;
  return {
    coordinate_resets: "0",
    encrypted: String(cfg.gossipEncrypted),
    event_queue: "0",
    event_time: "1",
    failed: String(count(MEMBER_STATUS.failed)),
    health_score: "0",
    intent_queue: "0",
    left: String(count(MEMBER_STATUS.left)),
    member_time: "1",
    members: String(pool ? pool.members.length : 1),
    query_queue: "0",
    query_time: "1",
  };
}

function runtimeStats(): Record<string, string> {
  const cpus = os.availableParallelism();
  return {
    arch: GO_ARCH[process.arch] ?? process.arch,
    cpu_count: String(cpus),
    goroutines: String(process.getActiveResourcesInfo().length),
    max_procs: String(cpus),
    os: GO_OS[process.platform] ?? process.platform,
    version: `node${process.versions.node}`,
  };
}

/** The `Stats` map of /v1/agent/self, section by section as `consul info` prints it; all values are strings. */
export function agentStats(
  identity: AgentIdentity,
  inputs: { consensus: Consensus; cfg: SelfConfig; counts: LocalStateCounts; lan?: PoolCounts; wan?: PoolCounts },
): Record<string, Record<string, string>> {
  const { consensus, cfg, counts, lan, wan } = inputs;
  const stats: Record<string, Record<string, string>> = {
    agent: {
      check_monitors: String(counts.checkMonitors),
      check_ttls: String(counts.checkTtls),
      checks: String(counts.checks),
      services: String(counts.services),
    },
    build: {
      prerelease: BUILD_INFO.prerelease,
      revision: BUILD_INFO.revision.slice(0, 8),
      version: identity.version,
      version_metadata: BUILD_INFO.versionMetadata,
    },
    runtime: runtimeStats(),
    serf_lan: serfStats(cfg, lan),
  };
  if (identity.server) {
    stats.consul = {
      acl: cfg.aclEnabled ? "enabled" : "disabled",
      bootstrap: String(cfg.bootstrap),
      known_datacenters: "1",
      leader: String(consensus.isLeader()),
      leader_addr: consensus.leaderAddress(),
      server: "true",
    };
    stats.raft = raftStats(identity, consensus);
    stats.serf_wan = serfStats(cfg, wan);
  } else {
    stats.consul = {
      acl: cfg.aclEnabled ? "enabled" : "disabled",
      known_servers: String(lan?.servers ?? (consensus.leaderAddress() === "" ? 0 : 1)),
      server: "false",
    };
  }
  return stats;
}

/** GET /v1/agent/host: gopsutil's shapes (lower camelCase inside), declared unstable upstream. */
export function hostInfo(nowMs: number): Record<string, unknown> {
  const total = os.totalmem();
  const free = os.freemem();
  const uptimeSeconds = Math.floor(os.uptime());
  return {
    Memory: { total, available: free, used: total - free, usedPercent: total > 0 ? ((total - free) / total) * 100 : 0, free },
    CPU: os.cpus().map((cpu, i) => ({
      cpu: i,
      vendorId: "",
      family: "",
      model: "",
      stepping: 0,
      physicalId: "",
      coreId: String(i),
      cores: 1,
      modelName: cpu.model,
      mhz: cpu.speed,
      cacheSize: 0,
      flags: [],
      microcode: "",
    })),
    Host: {
      hostname: os.hostname(),
      uptime: uptimeSeconds,
      bootTime: Math.floor(nowMs / 1000) - uptimeSeconds,
      procs: 0,
      os: GO_OS[process.platform] ?? process.platform,
      platform: os.type().toLowerCase(),
      platformFamily: "",
      platformVersion: os.release(),
      kernelVersion: os.release(),
      kernelArch: os.machine(),
      virtualizationSystem: "",
      virtualizationRole: "",
      hostId: "",
    },
    // Disk usage needs the filesystem, which only storage/ touches; gopsutil leaves it nil on failure too.
    Disk: null,
    CollectionTime: BigInt(nowMs) * 1_000_000n,
    Errors: null,
  };
}
