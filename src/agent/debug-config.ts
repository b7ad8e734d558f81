import { isIP } from "node:net";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import type { TlsStanzaSettings } from "../config/tls.ts";
import { formatGoDuration } from "../model/duration.ts";
import { BUILD_DATE, CONSUL_COMPAT_VERSION } from "../version.ts";
import { openClientPorts } from "./open-ports.ts";

// /v1/agent/self's DebugConfig in Consul's shape: the Go RuntimeConfig field names (PascalCase,
// nested structs where Consul nests them), durations in Go's time.Duration form, addresses as
// Consul's sanitizer prints them ("tcp://ip:port", "udp://…", "unix://…"), and every string
// field whose name says key/token/secret replaced by "hidden" — empty or not, as Sanitized()
// does. Tools read it by those names (`consul debug` reads EnableDebug and ACLsEnabled, Nomad's
// fingerprint ConnectEnabled and GRPCPort).
//
// Only fields this agent really runs with are reported: a Consul field we have no setting for
// (cloud, segments, syslog, audit…) is left out rather than shown with a value that would claim
// a behaviour. Service and check definitions from the configuration are left out too: Consul
// prints them as its Go structs, which we do not mirror field for field.

type Partialish = Partial<RuntimeConfig>;
type Out = Record<string, unknown>;

const HIDDEN = "hidden";

/** Consul's isSecret(): a field or map key naming a key, token or secret. */
function isSecretName(name: string): boolean {
  if (name === "TokenLocality" || name === "IntroTokenFile") return false;
  const lower = name.toLowerCase();
  return lower.includes("key") || lower.includes("token") || lower.includes("secret");
}

/** Consul's sanitize() over a free-form value (maps keep their keys; list elements are named `name[i]`). */
function sanitizeFreeForm(name: string, value: unknown): unknown {
  if (typeof value === "string") return isSecretName(name) ? HIDDEN : value;
  if (Array.isArray(value)) return value.map((v, i) => sanitizeFreeForm(`${name}[${i}]`, v));
  if (typeof value === "object" && value !== null) {
    const out: Out = {};
    for (const [k, v] of Object.entries(value)) out[k] = sanitizeFreeForm(k, v);
    return out;
  }
  return value;
}

/** go-discover strings: each `key=value` word whose key names a secret keeps only its key. */
function cleanRetryJoin(entry: string): string {
  return entry
    .split(/\s+/)
    .filter((w) => w !== "")
    .map((w) => (isSecretName(w) ? `${w.split("=", 1)[0]}=hidden` : w))
    .join(" ");
}

const duration = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatGoDuration(ms));

/** net.JoinHostPort. */
function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The listener addresses of one endpoint, or none when it is disabled, as Consul's makeAddrs. */
function listenerAddrs(addrs: readonly string[] | undefined, port: number, schemes: readonly string[]): string[] {
  if (addrs === undefined || port <= 0) return [];
  const out: string[] = [];
  for (const a of addrs) {
    if (a.startsWith("unix://")) out.push(a);
    else for (const scheme of schemes) out.push(`${scheme}://${hostPort(a, port)}`);
  }
  return out;
}

const tcpAddr = (ip: string | undefined, port: number | undefined): string | undefined =>
  ip === undefined || port === undefined ? undefined : port > 0 ? `tcp://${hostPort(ip, port)}` : "";

/** Consul's logging levels are configured and kept upper case ("INFO"). */
const LOG_LEVEL: Record<string, string> = { trace: "TRACE", debug: "DEBUG", info: "INFO", warn: "WARN", error: "ERROR" };

function tlsStanza(s: TlsStanzaSettings & { verifyServerHostname?: boolean }): Out {
  return {
    CAFile: s.caFile,
    CAPath: s.caPath,
    CertFile: s.certFile,
    CipherSuites: [...s.cipherSuites],
    KeyFile: HIDDEN,
    TLSMinVersion: s.minVersion,
    VerifyIncoming: s.verifyIncoming,
    VerifyOutgoing: s.verifyOutgoing,
    VerifyServerHostname: s.verifyServerHostname === true,
  };
}

/** Sets each defined value; an undefined one is a field this configuration does not carry. */
function assign(out: Out, fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
}

function orEmpty(section: Out): Out | undefined {
  return Object.keys(section).length > 0 ? section : undefined;
}

function portsAndListeners(rc: Partialish): Out {
  const ports = rc.ports;
  if (ports === undefined) return {};
  // A listener this build does not run is reported as Consul reports a disabled one.
  const open = openClientPorts(ports);
  const listen = rc.listenAddrs;
  return {
    HTTPPort: open.http,
    HTTPSPort: open.https,
    GRPCPort: open.grpc,
    GRPCTLSPort: open.grpcTls,
    DNSPort: open.dns,
    HTTPAddrs: listenerAddrs(listen?.http, open.http, ["tcp"]),
    HTTPSAddrs: listenerAddrs(listen?.https, open.https, ["tcp"]),
    GRPCAddrs: listenerAddrs(listen?.grpc, open.grpc, ["tcp"]),
    GRPCTLSAddrs: listenerAddrs(listen?.grpc, open.grpcTls, ["tcp"]),
    DNSAddrs: listenerAddrs(listen?.dns, open.dns, ["tcp", "udp"]),
    SerfPortLAN: ports.serfLan,
    SerfPortWAN: ports.serfWan,
    ServerPort: ports.server,
    ConnectSidecarMinPort: ports.sidecarMin,
    ConnectSidecarMaxPort: ports.sidecarMax,
    ExposeMinPort: ports.exposeMin,
    ExposeMaxPort: ports.exposeMax,
    SerfBindAddrLAN: tcpAddr(rc.serfLanBindAddr, ports.serfLan),
    SerfBindAddrWAN: tcpAddr(rc.serfWanBindAddr, ports.serfWan),
    SerfAdvertiseAddrLAN: tcpAddr(rc.advertiseAddr, ports.serfLan),
    SerfAdvertiseAddrWAN: tcpAddr(rc.advertiseAddrWan, ports.serfWan),
    RPCBindAddr: tcpAddr(rc.bindAddr, ports.server),
    RPCAdvertiseAddr: tcpAddr(rc.advertiseAddr, ports.server),
  };
}

function aclFields(rc: Partialish): Out {
  const tokens = rc.aclTokens;
  const resolver: Out = {};
  assign(resolver, {
    ACLsEnabled: rc.aclEnabled,
    ACLDefaultPolicy: rc.aclDefaultPolicy,
    ACLDownPolicy: rc.aclDownPolicy,
    ACLTokenTTL: duration(rc.aclTokenTtlMs),
    ACLPolicyTTL: duration(rc.aclPolicyTtlMs),
    ACLRoleTTL: duration(rc.aclRoleTtlMs),
    Datacenter: rc.datacenter,
    NodeName: rc.nodeName,
  });
  const tokenConfig: Out = {};
  assign(tokenConfig, {
    EnablePersistence: rc.aclEnableTokenPersistence,
    DataDir: rc.dataDir,
    ...(tokens
      ? {
          ACLDefaultToken: HIDDEN,
          ACLAgentToken: HIDDEN,
          ACLAgentRecoveryToken: HIDDEN,
          ACLReplicationToken: HIDDEN,
          ACLConfigFileRegistrationToken: HIDDEN,
          ACLDNSToken: HIDDEN,
        }
      : {}),
  });
  return {
    // `consul debug` reads this one to decide whether an operator token may profile.
    ACLsEnabled: rc.aclEnabled === true,
    ACLEnableKeyListPolicy: rc.aclEnableKeyListPolicy,
    ACLTokenReplication: rc.aclEnableTokenReplication,
    ACLInitialManagementToken: tokens ? HIDDEN : undefined,
    ACLResolverSettings: orEmpty(resolver),
    ACLTokens: orEmpty(tokenConfig),
  };
}

function dnsFields(rc: Partialish): Out {
  const dns = rc.dns;
  return {
    DNSDomain: rc.domain,
    DNSAltDomain: rc.altDomain,
    DNSRecursors: rc.recursors ? [...rc.recursors] : undefined,
    ...(dns
      ? {
          DNSAllowStale: dns.allowStale,
          DNSMaxStale: duration(dns.maxStaleMs),
          DNSNodeTTL: duration(dns.nodeTtlMs),
          DNSServiceTTL: Object.fromEntries(Object.entries(dns.serviceTtlMs).map(([name, ms]) => [name, formatGoDuration(ms)])),
          DNSEnableTruncate: dns.enableTruncate,
          DNSOnlyPassing: dns.onlyPassing,
          DNSUDPAnswerLimit: dns.udpAnswerLimit,
          DNSARecordLimit: dns.aRecordLimit,
          DNSRecursorStrategy: dns.recursorStrategy,
          DNSRecursorTimeout: duration(dns.recursorTimeoutMs),
          DNSDisableCompression: dns.disableCompression,
          DNSNodeMetaTXT: dns.enableAdditionalNodeMetaTxt,
          DNSSOA: { Refresh: dns.soa.refresh, Retry: dns.soa.retry, Expire: dns.soa.expire, Minttl: dns.soa.minTtl },
          DNSUseCache: dns.useCache,
          DNSCacheMaxAge: duration(dns.cacheMaxAgeMs),
        }
      : {}),
  };
}

function gossipFields(rc: Partialish): Out {
  const out: Out = {};
  for (const [pool, g] of [
    ["LAN", rc.gossipLan],
    ["WAN", rc.gossipWan],
  ] as const) {
    if (g === undefined) continue;
    out[`Gossip${pool}GossipInterval`] = formatGoDuration(g.gossipIntervalMs);
    out[`Gossip${pool}GossipNodes`] = g.gossipNodes;
    out[`Gossip${pool}ProbeInterval`] = formatGoDuration(g.probeIntervalMs);
    out[`Gossip${pool}ProbeTimeout`] = formatGoDuration(g.probeTimeoutMs);
    out[`Gossip${pool}RetransmitMult`] = g.retransmitMult;
    out[`Gossip${pool}SuspicionMult`] = g.suspicionMult;
  }
  return out;
}

function raftAndAutopilotFields(rc: Partialish): Out {
  const raft = rc.raft;
  const ap = rc.autopilot;
  return {
    ...(raft
      ? {
          RaftProtocol: raft.protocol,
          RaftSnapshotThreshold: raft.snapshotThreshold,
          RaftSnapshotInterval: formatGoDuration(raft.snapshotIntervalMs),
          RaftTrailingLogs: raft.trailingLogs,
          // Consul keeps these already scaled by performance.raft_multiplier, as we do.
          ConsulRaftElectionTimeout: formatGoDuration(raft.electionTimeoutMs),
          ConsulRaftHeartbeatTimeout: formatGoDuration(raft.heartbeatTimeoutMs),
          ConsulRaftLeaderLeaseTimeout: formatGoDuration(raft.leaderLeaseTimeoutMs),
        }
      : {}),
    ...(ap
      ? {
          AutopilotCleanupDeadServers: ap.cleanupDeadServers,
          AutopilotLastContactThreshold: formatGoDuration(ap.lastContactThresholdMs),
          AutopilotMaxTrailingLogs: ap.maxTrailingLogs,
          AutopilotMinQuorum: ap.minQuorum,
          AutopilotServerStabilizationTime: formatGoDuration(ap.serverStabilizationTimeMs),
        }
      : {}),
  };
}

function telemetryField(rc: Partialish): Out | undefined {
  const t = rc.telemetry;
  if (t === undefined) return undefined;
  // telemetry.prefix_filter entries are "+prefix" (allowed) or "-prefix" (blocked), split as Consul does.
  const allowed = t.prefixFilter.filter((p) => p.startsWith("+")).map((p) => p.slice(1));
  const blocked = t.prefixFilter.filter((p) => p.startsWith("-")).map((p) => p.slice(1));
  const out: Out = {
    MetricsPrefix: t.metricsPrefix,
    DisableHostname: t.disableHostname,
    FilterDefault: t.filterDefault,
    AllowedPrefixes: allowed,
    BlockedPrefixes: blocked,
  };
  if (rc.prometheusRetentionTimeMs !== undefined) out.PrometheusOpts = { Expiration: formatGoDuration(rc.prometheusRetentionTimeMs) };
  return out;
}

function tlsField(rc: Partialish): Out | undefined {
  const tls = rc.tls;
  if (tls === undefined) return undefined;
  const out: Out = { InternalRPC: tlsStanza(tls.internalRpc), HTTPS: tlsStanza(tls.https), GRPC: tlsStanza(tls.grpc) };
  assign(out, { NodeName: rc.nodeName, ServerMode: rc.server, Domain: rc.domain });
  return out;
}

function loggingField(rc: Partialish): Out | undefined {
  if (rc.logLevel === undefined) return undefined;
  const out: Out = { LogLevel: LOG_LEVEL[rc.logLevel] ?? rc.logLevel.toUpperCase() };
  assign(out, {
    LogJSON: rc.logJson,
    LogFilePath: rc.logFile,
    LogRotateBytes: rc.logRotate?.bytes,
    LogRotateDuration: duration(rc.logRotate?.durationMs),
    LogRotateMaxFiles: rc.logRotate?.maxFiles,
  });
  return out;
}

function uiField(rc: Partialish): Out | undefined {
  if (rc.uiEnabled === undefined) return undefined;
  const out: Out = { Enabled: rc.uiEnabled };
  assign(out, { Dir: rc.uiDir, ContentPath: rc.uiContentPath });
  return out;
}

/**
 * /v1/agent/self's DebugConfig for a runtime configuration (config/runtime-config.ts shape; the
 * handler tests pass partial ones, and only what is present is described). EnableDebug and
 * ACLsEnabled are always there: `consul debug` refuses an answer without them.
 */
export function debugConfig(runtimeConfig: Record<string, unknown>): Record<string, unknown> {
  const rc = runtimeConfig as Partialish;
  const out: Out = {};
  assign(out, {
    Version: CONSUL_COMPAT_VERSION,
    VersionPrerelease: "",
    VersionMetadata: "",
    Revision: "",
    BuildDate: BUILD_DATE,
    DevMode: rc.dev,
    NodeName: rc.nodeName,
    NodeID: rc.nodeId,
    Datacenter: rc.datacenter,
    PrimaryDatacenter: rc.primaryDatacenter,
    ServerMode: rc.server,
    Bootstrap: rc.bootstrap,
    BootstrapExpect: rc.bootstrapExpect,
    DataDir: rc.dataDir,
    ClientAddrs: rc.clientAddrs ? [...rc.clientAddrs] : undefined,
    BindAddr: rc.bindAddr,
    AdvertiseAddrLAN: rc.advertiseAddr,
    AdvertiseAddrWAN: rc.advertiseAddrWan,
    TaggedAddresses: rc.taggedAddresses ? sanitizeFreeForm("TaggedAddresses", rc.taggedAddresses) : undefined,
    NodeMeta: rc.nodeMeta ? sanitizeFreeForm("NodeMeta", rc.nodeMeta) : undefined,
    ...portsAndListeners(rc),
    PidFile: rc.pidFile,
    Logging: loggingField(rc),
    EnableRemoteScriptChecks: rc.enableScriptChecks,
    EnableLocalScriptChecks: rc.enableLocalScriptChecks,
    UIConfig: uiField(rc),
    KVMaxValueSize: rc.kvMaxValueSizeBytes,
    TxnMaxReqLen: rc.txnMaxReqLenBytes,
    HTTPMaxConnsPerClient: rc.httpMaxConnsPerClient,
    HTTPSHandshakeTimeout: duration(rc.httpsHandshakeTimeoutMs),
    HTTPBlockEndpoints: rc.blockEndpoints ? [...rc.blockEndpoints] : undefined,
    HTTPResponseHeaders: rc.responseHeaders ? sanitizeFreeForm("HTTPResponseHeaders", rc.responseHeaders) : undefined,
    AllowWriteHTTPFrom: rc.allowWriteHttpFrom ? [...rc.allowWriteHttpFrom] : undefined,
    ...aclFields(rc),
    ConnectEnabled: rc.connectEnabled,
    ConnectCAProvider: rc.connectCaProvider,
    ConnectCAConfig: rc.connectCaConfig ? sanitizeFreeForm("ConnectCAConfig", rc.connectCaConfig) : undefined,
    AutoEncryptTLS: rc.autoEncrypt?.tls,
    AutoEncryptAllowTLS: rc.autoEncrypt?.allowTls,
    AutoEncryptDNSSAN: rc.autoEncrypt ? [...rc.autoEncrypt.dnsSan] : undefined,
    AutoEncryptIPSAN: rc.autoEncrypt ? [...rc.autoEncrypt.ipSan] : undefined,
    PeeringEnabled: rc.peeringEnabled,
    Telemetry: telemetryField(rc),
    DiscoveryMaxStale: duration(rc.discoveryMaxStaleMs),
    RPCHoldTimeout: duration(rc.rpcHoldTimeoutMs),
    DefaultQueryTime: duration(rc.defaultQueryTimeMs),
    MaxQueryTime: duration(rc.maxQueryTimeMs),
    SessionTTLMin: duration(rc.sessionTtlMinMs),
    CheckUpdateInterval: duration(rc.checkUpdateIntervalMs),
    CheckOutputMaxSize: rc.checkOutputMaxSize,
    DiscardCheckOutput: rc.discardCheckOutput,
    ReconnectTimeoutLAN: duration(rc.reconnectTimeoutMs),
    ReconnectTimeoutWAN: duration(rc.reconnectTimeoutWanMs),
    DisableCoordinates: rc.disableCoordinates,
    SyncCoordinateIntervalMin: duration(rc.syncCoordinateIntervalMinMs),
    SyncCoordinateRateTarget: rc.syncCoordinateRateTarget,
    ...dnsFields(rc),
    ...gossipFields(rc),
    ...raftAndAutopilotFields(rc),
    AEInterval: duration(rc.aeIntervalMs),
    ConsulCoordinateUpdatePeriod: duration(rc.coordinateUpdatePeriodMs),
    RetryJoinLAN: rc.retryJoin?.map(cleanRetryJoin),
    RetryJoinIntervalLAN: duration(rc.retryIntervalMs),
    RetryJoinMaxAttemptsLAN: rc.retryMax,
    RetryJoinWAN: rc.retryJoinWan?.map(cleanRetryJoin),
    RetryJoinIntervalWAN: duration(rc.retryIntervalWanMs),
    RetryJoinMaxAttemptsWAN: rc.retryMaxWan,
    RejoinAfterLeave: rc.rejoinAfterLeave,
    LeaveOnTerm: rc.leaveOnTerminate,
    SkipLeaveOnInt: rc.skipLeaveOnInterrupt,
    TLS: tlsField(rc),
    EncryptKey: rc.encryptKey === undefined ? undefined : HIDDEN,
    StaticRuntimeConfig:
      rc.encryptVerifyIncoming === undefined ? undefined : { EncryptVerifyIncoming: rc.encryptVerifyIncoming, EncryptVerifyOutgoing: rc.encryptVerifyOutgoing === true },
    DisableKeyringFile: rc.disableKeyringFile,
    // `consul debug` reads this one to decide whether to capture profiles.
    EnableDebug: rc.enableDebug === true,
    DisableUpdateCheck: rc.disableUpdateCheck,
    DisableRemoteExec: rc.disableRemoteExec,
    DisableHostNodeID: rc.disableHostNodeId,
    EnableCentralServiceConfig: rc.enableCentralServiceConfig,
    Watches: rc.watches ? sanitizeFreeForm("Watches", rc.watches) : undefined,
  });
  return sortedKeys(out) as Record<string, unknown>;
}

/** Sanitized() turns every struct into a map, and Go's encoding/json writes map keys sorted. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== "object" || value === null) return value;
  const obj = value as Out;
  return Object.fromEntries(
    Object.keys(obj)
      .sort()
      .map((k) => [k, sortedKeys(obj[k])]),
  );
}
