// The fully resolved, typed configuration the rest of the agent reads, built once from the
// merged snake_case config. All semantic validation happens here, with Consul's wording.

import { isAclDownPolicy, type AclDownPolicy } from "../acl/down-policy.ts";
import { CaConfigError, parseCaConfig } from "../connect/ca-config.ts";
import { ConfigEntryError, decodeBootstrapEntries } from "../connect/config-entry-decode.ts";
import { isIP } from "node:net";
import { formatGoDuration, parseGoDuration } from "../model/duration.ts";
import { ConfigError, formatMultiError } from "./config-error.ts";
import { isPlainObject, type RawConfig } from "./decode.ts";
import { DEV_INTERNAL_TIMINGS, INTERNAL_TIMINGS } from "./defaults.ts";
import { resolveTlsSettings, type TlsMaterial, type TlsSettings } from "./tls.ts";
import { expandSockaddrTemplate, privateIPv4s, publicIPv6s, type InterfaceTable } from "./sockaddr.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface PortsConfig {
  http: number;
  https: number;
  grpc: number;
  grpcTls: number;
  dns: number;
  serfLan: number;
  serfWan: number;
  server: number;
  sidecarMin: number;
  sidecarMax: number;
  exposeMin: number;
  exposeMax: number;
}

export interface GossipConfig {
  gossipNodes: number;
  gossipIntervalMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  retransmitMult: number;
  suspicionMult: number;
}

export interface RuntimeConfig {
  dev: boolean;
  /** Dev mode keeps Raft and state in memory only. */
  inMemory: boolean;
  nodeName: string;
  nodeId: string;
  /** True when no node_id was configured and one was generated: the agent should prefer data_dir/node-id. */
  nodeIdGenerated: boolean;
  datacenter: string;
  primaryDatacenter: string;
  server: boolean;
  /** As configured (false in -dev, so the banner prints `Bootstrap: false`). */
  bootstrap: boolean;
  bootstrapExpect: number;
  /** A lone server that elects itself: -dev, bootstrap, or bootstrap_expect = 1. */
  selfElect: boolean;
  dataDir: string;
  /**
   * -recover-truncated-log: start even though the Raft log on disk ends before the recorded
   * commit index (acknowledged entries are gone); otherwise such a server refuses to start.
   */
  recoverTruncatedLog: boolean;
  clientAddrs: string[];
  bindAddr: string;
  advertiseAddr: string;
  advertiseAddrWan: string;
  serfLanBindAddr: string;
  serfWanBindAddr: string;
  taggedAddresses: Record<string, string>;
  /** Per-listener addresses: `addresses.*` when set, else clientAddrs. May hold unix:// paths. */
  listenAddrs: { dns: string[]; http: string[]; https: string[]; grpc: string[] };
  ports: PortsConfig;
  logLevel: LogLevel;
  logJson: boolean;
  logFile: string;
  /** log_rotate_*: 0 bytes = no size limit; max files 0 = keep all, -1 = keep none. */
  logRotate: { bytes: number; durationMs: number; maxFiles: number };
  pidFile: string;
  enableScriptChecks: boolean;
  enableLocalScriptChecks: boolean;
  nodeMeta: Record<string, string>;
  /** ui_config.enabled, or a ui_config.dir to serve (which counts as enabled). */
  uiEnabled: boolean;
  /** ui_config.dir: serve this directory instead of the built-in UI ("" = built-in). */
  uiDir: string;
  /** ui_config.content_path, normalised to "/x/". */
  uiContentPath: string;
  domain: string;
  altDomain: string;
  recursors: string[];
  kvMaxValueSizeBytes: number;
  txnMaxReqLenBytes: number;
  httpMaxConnsPerClient: number;
  aclEnabled: boolean;
  aclDefaultPolicy: "allow" | "deny";
  /** What a client agent does when no server answers a token lookup (acl.down_policy). */
  aclDownPolicy: AclDownPolicy;
  aclTokenTtlMs: number;
  aclPolicyTtlMs: number;
  aclRoleTtlMs: number;
  aclEnableTokenPersistence: boolean;
  /** acl.enable_key_list_policy: recursive KV reads (?recurse, ?keys) also need key:list on the prefix. */
  aclEnableKeyListPolicy: boolean;
  /** acl.enable_token_replication: only secondary datacenters replicate, and ACLs run only in the primary (config/unsupported.ts). */
  aclEnableTokenReplication: boolean;
  aclTokens: {
    initialManagement: string;
    agent: string;
    agentRecovery: string;
    default: string;
    replication: string;
    configFileServiceRegistration: string;
    dns: string;
  };
  connectEnabled: boolean;
  /** auto_encrypt: clients ask a server for their RPC certificate; servers with allowTls sign them. */
  autoEncrypt: { tls: boolean; allowTls: boolean; dnsSan: string[]; ipSan: string[] };
  connectCaProvider: string;
  connectCaConfig: Record<string, unknown>;
  peeringEnabled: boolean;
  prometheusRetentionTimeMs: number;
  telemetry: { metricsPrefix: string; disableHostname: boolean; filterDefault: boolean; prefixFilter: string[] };
  discoveryMaxStaleMs: number;
  /** performance.rpc_hold_timeout: how long a request waits for a cluster leader before "No cluster leader". */
  rpcHoldTimeoutMs: number;
  defaultQueryTimeMs: number;
  maxQueryTimeMs: number;
  sessionTtlMinMs: number;
  checkUpdateIntervalMs: number;
  checkOutputMaxSize: number;
  discardCheckOutput: boolean;
  reconnectTimeoutMs: number;
  reconnectTimeoutWanMs: number;
  disableCoordinates: boolean;
  /** How often an agent sends its LAN coordinate: max(this, members / rate target) (Consul's sendCoordinate). */
  syncCoordinateIntervalMinMs: number;
  syncCoordinateRateTarget: number;
  blockEndpoints: string[];
  responseHeaders: Record<string, string>;
  allowWriteHttpFrom: string[];
  dns: {
    allowStale: boolean;
    maxStaleMs: number;
    nodeTtlMs: number;
    serviceTtlMs: Record<string, number>;
    enableTruncate: boolean;
    onlyPassing: boolean;
    udpAnswerLimit: number;
    aRecordLimit: number;
    recursorStrategy: string;
    recursorTimeoutMs: number;
    disableCompression: boolean;
    enableAdditionalNodeMetaTxt: boolean;
    soa: { refresh: number; retry: number; expire: number; minTtl: number };
    useCache: boolean;
    cacheMaxAgeMs: number;
    /** limits.dns_max_qps_per_client: DNS requests a second per source address; 0 = unbounded. */
    maxQpsPerClient: number;
  };
  gossipLan: GossipConfig;
  gossipWan: GossipConfig;
  raft: {
    protocol: number;
    multiplier: number;
    snapshotThreshold: number;
    snapshotIntervalMs: number;
    trailingLogs: number;
    electionTimeoutMs: number;
    heartbeatTimeoutMs: number;
    leaderLeaseTimeoutMs: number;
  };
  autopilot: {
    cleanupDeadServers: boolean;
    lastContactThresholdMs: number;
    maxTrailingLogs: number;
    minQuorum: number;
    serverStabilizationTimeMs: number;
  };
  aeIntervalMs: number;
  coordinateUpdatePeriodMs: number;
  retryJoin: string[];
  retryIntervalMs: number;
  retryMax: number;
  retryJoinWan: string[];
  retryIntervalWanMs: number;
  retryMaxWan: number;
  rejoinAfterLeave: boolean;
  leaveOnTerminate: boolean;
  skipLeaveOnInterrupt: boolean;
  /** Effective TLS settings per interface (config/tls.ts). */
  tls: TlsSettings;
  /** The HTTPS listener's certificate material, read and checked; undefined when none is configured. */
  httpsTls?: TlsMaterial;
  /** Server RPC and Raft TLS material (tls.internal_rpc), read and checked. */
  internalRpcTls?: TlsMaterial;
  /** limits.https_handshake_timeout */
  httpsHandshakeTimeoutMs: number;
  encryptKey: string;
  encryptVerifyIncoming: boolean;
  encryptVerifyOutgoing: boolean;
  disableKeyringFile: boolean;
  enableDebug: boolean;
  disableUpdateCheck: boolean;
  disableRemoteExec: boolean;
  disableHostNodeId: boolean;
  enableCentralServiceConfig: boolean;
  /** Service definitions from config (`service` and `services`), snake_case keys. */
  services: unknown[];
  /** Node-level check definitions from config (`check` and `checks`), snake_case keys. */
  checks: unknown[];
  watches: unknown[];
  configEntriesBootstrap: unknown[];
  /** Files read, in order, so `consul reload` can read them again. */
  configSources: string[];
  /** Non-fatal notes (skipped files, deprecated keys) for the startup log. */
  warnings: string[];
  /** The merged snake_case config, for /v1/agent/self DebugConfig. */
  merged: Record<string, unknown>;
}

export interface BuildOptions {
  dev: boolean;
  /** -recover-truncated-log (a flag only); honoured by a server with a data dir, refused elsewhere. */
  recoverTruncatedLog?: boolean;
  hostname: () => string;
  randomUUID: () => string;
  networkInterfaces: () => InterfaceTable;
  /** "dir", "file" or undefined when the path does not exist; used for the data_dir check. */
  statKind: (path: string) => "dir" | "file" | undefined;
  configSources: string[];
  warnings: string[];
}

/** Readers over the merged config; the schema already guaranteed the types. */
class View {
  readonly obj: RawConfig;
  constructor(obj: RawConfig) {
    this.obj = obj;
  }
  private get(path: string): unknown {
    let cur: unknown = this.obj;
    for (const part of path.split(".")) {
      if (!isPlainObject(cur)) return undefined;
      cur = cur[part];
    }
    return cur;
  }
  has(path: string): boolean {
    return this.get(path) !== undefined;
  }
  str(path: string, dflt = ""): string {
    const v = this.get(path);
    return typeof v === "string" ? v : dflt;
  }
  num(path: string, dflt = 0): number {
    const v = this.get(path);
    return typeof v === "number" ? v : dflt;
  }
  bool(path: string, dflt = false): boolean {
    const v = this.get(path);
    return typeof v === "boolean" ? v : dflt;
  }
  list(path: string): unknown[] {
    const v = this.get(path);
    return Array.isArray(v) ? v : [];
  }
  strList(path: string): string[] {
    return this.list(path).filter((x): x is string => typeof x === "string");
  }
  map(path: string): Record<string, unknown> {
    const v = this.get(path);
    return isPlainObject(v) ? v : {};
  }
  strMap(path: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.map(path))) if (typeof v === "string") out[k] = v;
    return out;
  }
  /** Durations were syntax-checked while decoding; 0 if absent. */
  ms(path: string): number {
    const v = this.get(path);
    return typeof v === "string" ? parseGoDuration(v) : 0;
  }
}

const LOG_LEVELS: Record<string, LogLevel> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  err: "error",
  error: "error",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const META_KEY = /^[a-zA-Z0-9_-]+$/;
const MAX_RAFT_MULTIPLIER = 10;
const RECONNECT_TIMEOUT_MIN_MS = 8 * 3_600_000;

/** structs.ValidateNodeMetadata's checks and wording. */
function nodeMetaProblem(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > 64) return "Node metadata cannot contain more than 64 key/value pairs";
  for (const [key, value] of entries) {
    if (key === "") return "Key cannot be blank";
    if (!META_KEY.test(key)) return "Key contains invalid characters";
    if (key.length > 128) return "Key is too long (limit: 128 characters)";
    if (key.startsWith("consul-")) return "Key prefix 'consul-' is reserved for internal use";
    if (value.length > 512) return "Value is too long (limit: 512 characters)";
  }
  return undefined;
}

function encryptKeyProblem(key: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key) || key.length % 4 !== 0) {
    const bad = key.search(/[^A-Za-z0-9+/=]/);
    return `illegal base64 data at input byte ${bad === -1 ? key.length : bad}`;
  }
  const size = Buffer.from(key, "base64").length;
  if (size !== 16 && size !== 24 && size !== 32) return "key size must be 16, 24 or 32 bytes";
  return undefined;
}

function isAnyAddr(ip: string): boolean {
  return ip === "0.0.0.0" || ip === "::" || ip === "[::]";
}

export function buildRuntimeConfig(merged: RawConfig, opts: BuildOptions): RuntimeConfig {
  const c = new View(merged);
  const warnings = [...opts.warnings];
  // Errors Consul collects into one multierror while building (b.err).
  const collected: string[] = [];
  const invalid = (message: string, key?: string): ConfigError => new ConfigError(message, { key });

  const interfaces = (): InterfaceTable => opts.networkInterfaces();
  const expand = (name: string, value: string): string[] => {
    if (value === "") return [];
    try {
      return expandSockaddrTemplate(value, value.includes("{{") ? interfaces() : {})
        .split(/\s+/)
        .filter((t) => t !== "");
    } catch (err) {
      collected.push(`${name}: error parsing ${JSON.stringify(value)}: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
  };
  const expandIPs = (name: string, value: string): string[] => {
    const out: string[] = [];
    for (const a of expand(name, value)) {
      if (a.startsWith("unix://")) {
        collected.push(`${name} cannot be a unix socket`);
        return [];
      }
      const ip = a === "[::]" ? "::" : a;
      if (isIP(ip) === 0) {
        collected.push(`${name}: invalid ip address: ${a}`);
        return [];
      }
      out.push(ip);
    }
    return out;
  };
  const firstIP = (name: string, value: string): string | undefined => {
    const ips = expandIPs(name, value);
    if (ips.length > 1) {
      collected.push(`${name}: multiple addresses found: ${ips.join(" ")}`);
      return undefined;
    }
    return ips[0];
  };

  // ---- identity and mode
  const dev = opts.dev;
  const server = c.bool("server");
  const datacenter = c.str("datacenter").toLowerCase();
  const primaryDatacenter = (c.str("primary_datacenter") || datacenter).toLowerCase();
  let nodeName = c.str("node_name").trim();
  if (nodeName === "") {
    try {
      nodeName = opts.hostname().trim();
    } catch (err) {
      collected.push(`node_name: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const configuredNodeId = c.str("node_id").trim().toLowerCase();
  const nodeId = configuredNodeId || opts.randomUUID().toLowerCase();

  const rawLevel = c.str("log_level", "INFO");
  const logLevel = LOG_LEVELS[rawLevel.toLowerCase()];
  if (logLevel === undefined) {
    throw invalid(`Invalid log level: ${rawLevel}. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]`, "log_level");
  }

  // Checked before address detection: the most common mistake, and needs no network probing.
  if (c.str("data_dir") === "" && !dev) throw invalid("data_dir cannot be empty", "data_dir");
  const connectProblem = connectCaConfigProblem(c.str("connect.ca_provider", "consul"), c.map("connect.ca_config"));
  if (connectProblem) throw invalid(connectProblem.message, connectProblem.key);
  try {
    decodeBootstrapEntries(c.list("config_entries.bootstrap"), { protocolOf: () => "tcp" });
  } catch (err) {
    if (err instanceof ConfigEntryError) throw invalid(err.message, "config_entries.bootstrap");
    throw err;
  }

  // ---- addresses
  const bindAddrs = expandIPs("bind_addr", c.str("bind_addr"));
  if (collected.length === 0) {
    if (bindAddrs.length === 0) throw invalid("bind_addr cannot be empty", "bind_addr");
    if (bindAddrs.length > 1) throw invalid("bind_addr cannot contain multiple addresses. Use 'addresses.{dns,http,https}' instead.", "bind_addr");
  }
  const bindAddr = bindAddrs[0] ?? "0.0.0.0";
  if (isAnyAddr(c.str("advertise_addr"))) throw invalid("Advertise address cannot be 0.0.0.0, :: or [::]", "advertise_addr");
  if (isAnyAddr(c.str("advertise_addr_wan"))) throw invalid("Advertise WAN address cannot be 0.0.0.0, :: or [::]", "advertise_addr_wan");

  let advertiseAddr = firstIP("advertise_addr", c.str("advertise_addr")) ?? bindAddr;
  if (isAnyAddr(advertiseAddr)) {
    const v6 = advertiseAddr.includes(":");
    const kind = v6 ? "public IPv6" : "private IPv4";
    const found = v6 ? publicIPv6s(interfaces()) : privateIPv4s(interfaces());
    if (found.length === 0) throw invalid(`No ${kind} address found`, "advertise_addr");
    if (found.length > 1) throw invalid(`Multiple ${kind} addresses found. Please configure one with 'bind' and/or 'advertise'.`, "advertise_addr");
    advertiseAddr = found[0];
  }
  const advertiseAddrWan = firstIP("advertise_addr_wan", c.str("advertise_addr_wan")) ?? advertiseAddr;
  const serfLanBindAddr = firstIP("serf_lan", c.str("serf_lan")) ?? bindAddr;
  const serfWanBindAddr = firstIP("serf_wan", c.str("serf_wan")) ?? bindAddr;
  const taggedAddresses: Record<string, string> = { ...c.strMap("tagged_addresses"), lan: advertiseAddr, wan: advertiseAddrWan };
  if (isIP(advertiseAddr) === 4) taggedAddresses.lan_ipv4 = advertiseAddr;
  if (isIP(advertiseAddrWan) === 4) taggedAddresses.wan_ipv4 = advertiseAddrWan;

  const clientAddrs = expandIPs("client_addr", c.str("client_addr"));
  if (clientAddrs.length === 0) {
    warnings.push("client_addr is empty, client services (DNS, HTTP, HTTPS, GRPC) will not be listening for connections");
  }
  const listen = (name: string): string[] => {
    const explicit = expand(`addresses.${name}`, c.str(`addresses.${name}`));
    return explicit.length > 0 ? explicit : clientAddrs;
  };

  // ---- ports: <= 0 disables (-1), as Consul's portVal
  const port = (name: string, dflt = -1): number => {
    const v = c.num(`ports.${name}`, dflt);
    return v <= 0 ? -1 : v;
  };
  const ports: PortsConfig = {
    http: port("http"),
    https: port("https"),
    grpc: port("grpc"),
    grpcTls: port("grpc_tls", server ? 8503 : -1),
    dns: port("dns"),
    serfLan: port("serf_lan"),
    serfWan: port("serf_wan"),
    server: port("server"),
    sidecarMin: port("sidecar_min_port"),
    sidecarMax: port("sidecar_max_port"),
    exposeMin: port("expose_min_port"),
    exposeMax: port("expose_max_port"),
  };
  if (ports.sidecarMax < ports.sidecarMin) throw invalid("sidecar_min_port must be less than sidecar_max_port. To disable, set both to zero.");
  if (ports.exposeMax < ports.exposeMin) throw invalid("expose_min_port must be less than expose_max_port. To disable, set both to zero.");

  // ---- raft
  const multiplier = c.num("performance.raft_multiplier", 5);
  if (multiplier < 1 || multiplier > MAX_RAFT_MULTIPLIER) {
    throw invalid(`performance.raft_multiplier cannot be ${multiplier}. Must be between 1 and ${MAX_RAFT_MULTIPLIER}`, "performance.raft_multiplier");
  }
  const timings = dev ? DEV_INTERNAL_TIMINGS : INTERNAL_TIMINGS;

  const reconnect = (name: string): number => {
    const ms = c.ms(name);
    if (ms < RECONNECT_TIMEOUT_MIN_MS) {
      collected.push(`${name}: duration '${formatGoDuration(ms)}' cannot be less than: ${formatGoDuration(RECONNECT_TIMEOUT_MIN_MS)}`);
    }
    return ms;
  };

  // ---- ACL (the pre-1.4 top-level keys were moved into acl.* per source: config/acl-legacy.ts)
  const aclDefaultPolicy = c.str("acl.default_policy") || "allow";
  if (aclDefaultPolicy !== "allow" && aclDefaultPolicy !== "deny") {
    throw invalid(`acl.default_policy must be "allow" or "deny", got ${JSON.stringify(aclDefaultPolicy)}`, "acl.default_policy");
  }
  const aclDownPolicy = c.str("acl.down_policy") || "extend-cache";
  if (!isAclDownPolicy(aclDownPolicy)) {
    throw invalid(`acl.down_policy must be one of "extend-cache", "async-cache", "allow" or "deny", got ${JSON.stringify(aclDownPolicy)}`, "acl.down_policy");
  }

  // ---- services and checks: singular and plural forms all register
  const services = [...c.list("services")];
  const checks = [...c.list("checks")];

  const bootstrapExpectRaw = c.num("bootstrap_expect");
  let bootstrap = c.bool("bootstrap");
  let bootstrapExpect = bootstrapExpectRaw;
  const enableScriptChecks = c.bool("enable_script_checks");

  const rt: RuntimeConfig = {
    dev,
    inMemory: dev,
    nodeName,
    nodeId,
    nodeIdGenerated: configuredNodeId === "",
    datacenter,
    primaryDatacenter,
    server,
    bootstrap,
    bootstrapExpect,
    selfElect: false,
    dataDir: c.str("data_dir"),
    recoverTruncatedLog: opts.recoverTruncatedLog === true,
    clientAddrs,
    bindAddr,
    advertiseAddr,
    advertiseAddrWan,
    serfLanBindAddr,
    serfWanBindAddr,
    taggedAddresses,
    listenAddrs: { dns: listen("dns"), http: listen("http"), https: listen("https"), grpc: listen("grpc") },
    ports,
    logLevel,
    logJson: c.bool("log_json"),
    logFile: c.str("log_file"),
    logRotate: { bytes: c.num("log_rotate_bytes", 0), durationMs: c.ms("log_rotate_duration"), maxFiles: c.num("log_rotate_max_files", 0) },
    pidFile: c.str("pid_file"),
    enableScriptChecks,
    enableLocalScriptChecks: c.bool("enable_local_script_checks", enableScriptChecks),
    nodeMeta: c.strMap("node_meta"),
    uiEnabled: c.bool("ui_config.enabled", c.bool("ui")) || c.str("ui_config.dir", c.str("ui_dir")) !== "",
    uiDir: c.str("ui_config.dir", c.str("ui_dir")),
    uiContentPath: normaliseUiContentPath(c.str("ui_config.content_path", c.str("ui_content_path", "/ui/"))),
    domain: c.str("domain", "consul."),
    altDomain: c.str("alt_domain"),
    recursors: [...new Set(c.strList("recursors").flatMap((r) => expand("recursors", r)))],
    kvMaxValueSizeBytes: c.num("limits.kv_max_value_size", 524288),
    txnMaxReqLenBytes: c.num("limits.txn_max_req_len", 524288),
    httpMaxConnsPerClient: c.num("limits.http_max_conns_per_client", 200),
    aclEnabled: c.bool("acl.enabled"),
    aclDefaultPolicy: aclDefaultPolicy === "deny" ? "deny" : "allow",
    aclDownPolicy,
    aclTokenTtlMs: c.ms("acl.token_ttl"),
    aclPolicyTtlMs: c.ms("acl.policy_ttl"),
    aclRoleTtlMs: c.ms("acl.role_ttl"),
    aclEnableTokenPersistence: c.bool("acl.enable_token_persistence"),
    aclEnableTokenReplication: c.bool("acl.enable_token_replication"),
    aclEnableKeyListPolicy: c.bool("acl.enable_key_list_policy"),
    aclTokens: {
      initialManagement: c.str("acl.tokens.initial_management"),
      agent: c.str("acl.tokens.agent"),
      agentRecovery: c.str("acl.tokens.agent_recovery"),
      default: c.str("acl.tokens.default"),
      replication: c.str("acl.tokens.replication"),
      configFileServiceRegistration: c.str("acl.tokens.config_file_service_registration"),
      dns: c.str("acl.tokens.dns"),
    },
    // auto_encrypt.allow_tls turns Connect on: its CA is what signs the agents' certificates.
    connectEnabled: c.bool("connect.enabled") || c.bool("auto_encrypt.allow_tls"),
    autoEncrypt: {
      tls: c.bool("auto_encrypt.tls"),
      allowTls: c.bool("auto_encrypt.allow_tls"),
      dnsSan: c.strList("auto_encrypt.dns_san"),
      ipSan: c.strList("auto_encrypt.ip_san").filter((ip) => {
        if (isIP(ip) !== 0) return true;
        warnings.push(`Cannot parse ip "${ip}" from AutoEncrypt.IPSAN`);
        return false;
      }),
    },
    connectCaProvider: c.str("connect.ca_provider", "consul"),
    connectCaConfig: c.map("connect.ca_config"),
    peeringEnabled: c.bool("peering.enabled"),
    prometheusRetentionTimeMs: c.ms("telemetry.prometheus_retention_time"),
    telemetry: {
      metricsPrefix: c.str("telemetry.metrics_prefix", "consul"),
      disableHostname: c.bool("telemetry.disable_hostname"),
      filterDefault: c.bool("telemetry.filter_default", true),
      prefixFilter: c.strList("telemetry.prefix_filter"),
    },
    discoveryMaxStaleMs: c.ms("discovery_max_stale"),
    rpcHoldTimeoutMs: c.ms("performance.rpc_hold_timeout"),
    defaultQueryTimeMs: c.ms("default_query_time"),
    maxQueryTimeMs: c.ms("max_query_time"),
    sessionTtlMinMs: c.ms("session_ttl_min"),
    checkUpdateIntervalMs: c.ms("check_update_interval"),
    checkOutputMaxSize: c.num("check_output_max_size", 4096),
    discardCheckOutput: c.bool("discard_check_output"),
    reconnectTimeoutMs: reconnect("reconnect_timeout"),
    reconnectTimeoutWanMs: reconnect("reconnect_timeout_wan"),
    disableCoordinates: c.bool("disable_coordinates"),
    syncCoordinateIntervalMinMs: c.ms("sync_coordinate_interval_min"),
    syncCoordinateRateTarget: c.num("sync_coordinate_rate_target", 64),
    blockEndpoints: c.strList("http_config.block_endpoints"),
    responseHeaders: c.strMap("http_config.response_headers"),
    allowWriteHttpFrom: c.strList("http_config.allow_write_http_from"),
    dns: {
      allowStale: c.bool("dns_config.allow_stale", true),
      maxStaleMs: c.ms("dns_config.max_stale"),
      nodeTtlMs: c.ms("dns_config.node_ttl"),
      serviceTtlMs: Object.fromEntries(Object.entries(c.strMap("dns_config.service_ttl")).map(([k, v]) => [k, parseGoDuration(v)])),
      enableTruncate: c.bool("dns_config.enable_truncate"),
      onlyPassing: c.bool("dns_config.only_passing"),
      udpAnswerLimit: c.num("dns_config.udp_answer_limit", 3),
      aRecordLimit: c.num("dns_config.a_record_limit"),
      recursorStrategy: c.str("dns_config.recursor_strategy", "sequential"),
      recursorTimeoutMs: c.ms("dns_config.recursor_timeout"),
      disableCompression: c.bool("dns_config.disable_compression"),
      enableAdditionalNodeMetaTxt: c.bool("dns_config.enable_additional_node_meta_txt", true),
      soa: {
        refresh: c.num("dns_config.soa.refresh", 3600),
        retry: c.num("dns_config.soa.retry", 600),
        expire: c.num("dns_config.soa.expire", 86400),
        minTtl: c.num("dns_config.soa.min_ttl"),
      },
      useCache: c.bool("dns_config.use_cache"),
      cacheMaxAgeMs: c.ms("dns_config.cache_max_age"),
      maxQpsPerClient: c.num("limits.dns_max_qps_per_client"),
    },
    gossipLan: gossip(c, "gossip_lan"),
    gossipWan: gossip(c, "gossip_wan"),
    raft: {
      protocol: c.num("raft_protocol", 3),
      multiplier,
      snapshotThreshold: c.num("raft_snapshot_threshold"),
      snapshotIntervalMs: c.ms("raft_snapshot_interval"),
      trailingLogs: c.num("raft_trailing_logs"),
      electionTimeoutMs: timings.raftElectionTimeoutMs * multiplier,
      heartbeatTimeoutMs: timings.raftHeartbeatTimeoutMs * multiplier,
      leaderLeaseTimeoutMs: timings.raftLeaderLeaseTimeoutMs * multiplier,
    },
    autopilot: {
      cleanupDeadServers: c.bool("autopilot.cleanup_dead_servers", true),
      lastContactThresholdMs: c.ms("autopilot.last_contact_threshold"),
      maxTrailingLogs: c.num("autopilot.max_trailing_logs"),
      minQuorum: c.num("autopilot.min_quorum"),
      serverStabilizationTimeMs: c.ms("autopilot.server_stabilization_time"),
    },
    aeIntervalMs: timings.aeIntervalMs,
    coordinateUpdatePeriodMs: timings.coordinateUpdatePeriodMs,
    // start_join is gone from recent releases; it is honoured as retry_join.
    retryJoin: [...c.strList("start_join"), ...c.strList("retry_join")],
    retryIntervalMs: c.ms("retry_interval"),
    retryMax: c.num("retry_max"),
    retryJoinWan: [...c.strList("start_join_wan"), ...c.strList("retry_join_wan")],
    retryIntervalWanMs: c.ms("retry_interval_wan"),
    retryMaxWan: c.num("retry_max_wan"),
    rejoinAfterLeave: c.bool("rejoin_after_leave"),
    leaveOnTerminate: c.bool("leave_on_terminate", !server),
    skipLeaveOnInterrupt: c.bool("skip_leave_on_interrupt", server),
    tls: resolveTlsSettings(merged),
    httpsHandshakeTimeoutMs: c.ms("limits.https_handshake_timeout"),
    encryptKey: c.str("encrypt"),
    encryptVerifyIncoming: c.bool("encrypt_verify_incoming", true),
    encryptVerifyOutgoing: c.bool("encrypt_verify_outgoing", true),
    disableKeyringFile: c.bool("disable_keyring_file"),
    enableDebug: c.bool("enable_debug"),
    disableUpdateCheck: c.bool("disable_update_check") || dev,
    disableRemoteExec: c.bool("disable_remote_exec", true),
    disableHostNodeId: c.bool("disable_host_node_id", true),
    enableCentralServiceConfig: c.bool("enable_central_service_config", true),
    services,
    checks,
    watches: c.list("watches"),
    configEntriesBootstrap: c.list("config_entries.bootstrap"),
    configSources: opts.configSources,
    warnings,
    merged,
  };

  // ---- semantic validation, in Consul's order
  if (rt.raft.protocol !== 3) throw invalid(`raft_protocol version ${rt.raft.protocol} is not supported by this version of Consul`, "raft_protocol");
  if (!dev && rt.dataDir !== "" && opts.statKind(rt.dataDir) === "file") {
    throw invalid(`data_dir ${JSON.stringify(rt.dataDir)} is not a directory`, "data_dir");
  }
  if (configuredNodeId !== "" && !UUID.test(configuredNodeId)) {
    throw invalid(`node_id: ${JSON.stringify(configuredNodeId)} is not a valid UUID`, "node_id");
  }
  if (rt.nodeName === "" && collected.length === 0) throw invalid("node_name cannot be empty", "node_name");
  if (rt.recoverTruncatedLog && (!rt.server || dev || rt.dataDir === "")) {
    throw invalid("-recover-truncated-log applies only to a server with a data_dir (it recovers the Raft log there)", "recover-truncated-log");
  }
  if (rt.bootstrap && !rt.server) throw invalid("'bootstrap = true' requires 'server = true'", "bootstrap");
  // Never accepted without effect: -dev has no data dir unless one is given.
  if (rt.aclEnabled && rt.aclEnableTokenPersistence && rt.dataDir === "") {
    throw invalid("acl.enable_token_persistence needs a data_dir to save the agent tokens in (-dev has none unless -data-dir is given)", "acl.enable_token_persistence");
  }
  // -dev turns the UI on by itself, so only an operator's own enabled + dir is a conflict.
  if (!dev && c.bool("ui_config.enabled", c.bool("ui")) && rt.uiDir !== "") {
    throw invalid(
      "Both the ui_config.enabled and ui_config.dir (or -ui and -ui-dir) were specified, please provide only one.\n" +
        "If trying to use your own web UI resources, use ui_config.dir or the -ui-dir flag.\n" +
        "The web UI is included in the binary so use ui_config.enabled or the -ui flag to enable it",
      "ui_config.dir",
    );
  }
  if (bootstrapExpectRaw < 0) {
    throw invalid(`bootstrap_expect cannot be ${bootstrapExpectRaw}. Must be greater than or equal to zero`, "bootstrap_expect");
  }
  if (bootstrapExpectRaw > 0 && !rt.server) throw invalid("'bootstrap_expect > 0' requires 'server = true'", "bootstrap_expect");
  if (bootstrapExpectRaw > 0 && dev) throw invalid("'bootstrap_expect > 0' not allowed in dev mode", "bootstrap_expect");
  if (bootstrapExpectRaw > 0 && rt.bootstrap) {
    throw invalid("'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive", "bootstrap_expect");
  }
  if (rt.checkOutputMaxSize < 1) {
    throw invalid("check_output_max_size must be positive, to discard check output use the discard_check_output flag", "check_output_max_size");
  }
  if (rt.autopilot.maxTrailingLogs < 0) {
    throw invalid(`autopilot.max_trailing_logs cannot be ${rt.autopilot.maxTrailingLogs}. Must be greater than or equal to zero`);
  }
  if (rt.dns.udpAnswerLimit < 0) {
    throw invalid(`dns_config.udp_answer_limit cannot be ${rt.dns.udpAnswerLimit}. Must be greater than or equal to zero`);
  }
  if (rt.dns.aRecordLimit < 0) {
    throw invalid(`dns_config.a_record_limit cannot be ${rt.dns.aRecordLimit}. Must be greater than or equal to zero`);
  }
  const metaProblem = nodeMetaProblem(rt.nodeMeta);
  if (metaProblem !== undefined) throw invalid(`node_meta invalid: ${metaProblem}`, "node_meta");
  if (rt.encryptKey !== "") {
    const problem = encryptKeyProblem(rt.encryptKey);
    if (problem !== undefined) throw invalid(`encrypt has invalid key: ${problem}`, "encrypt");
  }
  if (rt.server && rt.autoEncrypt.tls) throw invalid("auto_encrypt.tls can only be used on a client.", "auto_encrypt.tls");
  if (!rt.server && rt.autoEncrypt.allowTls) throw invalid("auto_encrypt.allow_tls can only be used on a server.", "auto_encrypt.allow_tls");
  if (collected.length > 0) throw invalid(formatMultiError(collected));

  // ---- derived
  if (bootstrapExpect === 1) {
    bootstrap = true;
    bootstrapExpect = 0;
    warnings.push("BootstrapExpect is set to 1; this is the same as Bootstrap mode.");
  }
  if (rt.server && !dev && !bootstrap && bootstrapExpect === 2) {
    warnings.push(
      "bootstrap_expect = 2: A cluster with 2 servers will provide no failure tolerance. See https://www.consul.io/docs/internals/consensus.html#deployment-table",
    );
  }
  if (rt.server && bootstrap && bootstrapExpect === 0) warnings.push("bootstrap = true: do not enable unless necessary");
  if (rt.autoEncrypt.allowTls && !rt.tls.internalRpc.verifyIncoming) {
    warnings.push(
      "if auto_encrypt.allow_tls is turned on, tls.internal_rpc.verify_incoming should be enabled (either explicitly or via tls.defaults.verify_incoming). It is necessary to turn it off during a migration to TLS, but it should definitely be turned on afterwards.",
    );
  }
  rt.bootstrap = bootstrap;
  rt.bootstrapExpect = bootstrapExpect;
  rt.selfElect = rt.server && (dev || bootstrap);
  return rt;
}

function gossip(c: View, prefix: string): GossipConfig {
  return {
    gossipNodes: c.num(`${prefix}.gossip_nodes`),
    gossipIntervalMs: c.ms(`${prefix}.gossip_interval`),
    probeIntervalMs: c.ms(`${prefix}.probe_interval`),
    probeTimeoutMs: c.ms(`${prefix}.probe_timeout`),
    retransmitMult: c.num(`${prefix}.retransmit_mult`),
    suspicionMult: c.num(`${prefix}.suspicion_mult`),
  };
}

/** Consul's content path rule: always a leading and a trailing "/" ("ui" → "/ui/", "" → "/ui/"). */
function normaliseUiContentPath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "/ui/" : `/${trimmed}/`;
}

/** The built-in CA is the only provider; its configuration is checked here so a bad one stops the agent before it starts anything. */
function connectCaConfigProblem(provider: string, config: Record<string, unknown>): { message: string; key: string } | undefined {
  if (provider !== "consul") return { message: `connect.ca_provider: unknown CA provider "${provider}" (only "consul" is built in)`, key: "connect.ca_provider" };
  try {
    parseCaConfig(config);
  } catch (err) {
    if (err instanceof CaConfigError) return { message: `connect.ca_config: ${err.message}`, key: "connect.ca_config" };
    throw err;
  }
  return undefined;
}
