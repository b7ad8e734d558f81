// Keys Consul accepts that Consulate does not (yet) honour. An agent that silently ignored
// `acl.enabled = true` or a TLS certificate would promise what it does not do, so each such
// key stops start-up (and `consulate validate`) with a message naming the key and the file
// that set it. A key is only refused when its value would change behaviour we do not
// implement: a config that spells out what we already do (a default) still loads.

import { ConfigError, formatMultiError } from "./config-error.ts";
import { parseGoDuration } from "../model/duration.ts";
import { isPlainObject, type RawConfig } from "./decode.ts";

/** For each key path a user source set, the source's name (file path, "flags-0.hcl"…). */
export type SetBy = Map<string, string>;

/** For key paths a source spelled with a deprecated name (verify_outgoing), that name. */
export type WrittenAs = Map<string, string>;

/** Records every key path in one decoded source, so a refusal can name where it came from. */
export function recordSetBy(config: RawConfig, sourceName: string, setBy: SetBy, prefix = ""): void {
  for (const [key, value] of Object.entries(config)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    setBy.set(path, sourceName);
    if (isPlainObject(value)) recordSetBy(value, sourceName, setBy, path);
  }
}

interface Refusal {
  key: string;
  /** True when the (merged) value asks for something Consulate does not do. */
  refuses: (value: unknown, merged: RawConfig) => boolean;
  /** What is missing, and what the operator can do instead. */
  why: string;
}

const isTrue = (v: unknown): boolean => v === true;
const isFalse = (v: unknown): boolean => v === false;
/** Anything but "", [], {} or 0. */
const nonEmpty = (v: unknown): boolean => {
  if (typeof v === "string") return v !== "";
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  if (typeof v === "number") return v !== 0;
  return v !== undefined && v !== null && v !== false;
};
/** Refuses any value but the one Consulate's behaviour already equals (durations compared as time). */
const differsFrom =
  (what: unknown) =>
  (v: unknown): boolean => {
    if (typeof what === "string" && typeof v === "string" && /\d(ns|us|µs|ms|s|m|h)$/.test(what)) {
      try {
        return parseGoDuration(v) !== parseGoDuration(what);
      } catch {
        return true;
      }
    }
    return v !== what;
  };
const positive = (v: unknown): boolean => typeof v === "number" && v > 0;
const severalAddresses = (v: unknown): boolean => typeof v === "string" && !v.includes("{{") && v.trim().split(/\s+/).length > 1;
const unixSocket = (v: unknown): boolean => typeof v === "string" && v.trim().startsWith("unix://");

/** Consul lowercases both names; primary_datacenter (or legacy acl_datacenter) defaults to datacenter. */
function secondaryDatacenter(merged: RawConfig): boolean {
  const dc = typeof merged.datacenter === "string" ? merged.datacenter.toLowerCase() : "dc1";
  const primary = typeof merged.primary_datacenter === "string" && merged.primary_datacenter !== "" ? merged.primary_datacenter.toLowerCase() : dc;
  return primary !== dc;
}

function rules(keys: readonly string[], refuses: (v: unknown) => boolean, why: string): Refusal[] {
  return keys.map((key) => ({ key, refuses, why }));
}

const ENTERPRISE = "this is a Consul Enterprise feature";
const NO_GRPC = "there is no gRPC server (xDS/Envoy, peering streams) in Consulate yet";
const NO_CONNECT = "mesh gateway WAN federation and serverless plugins are not implemented";
const NO_UI_EXTRA = "the web UI has no metrics provider, metrics proxy, dashboard links or HCP integration";
const NO_SERVER_NAME = "certificates are always checked for server.<datacenter>.<domain>; a server_name override is not implemented";
const NO_GRPC_TLS = "there is no gRPC server in Consulate yet, so gRPC TLS settings would have nothing to apply to";
const TLS_FILES = ["ca_file", "ca_path", "cert_file", "key_file", "tls_cipher_suites"] as const;


export const REFUSALS: readonly Refusal[] = [
  // ---- ACL: the rest of the acl stanza is honoured (launch/from-config.ts); legacy names were
  // moved to acl.* (config/acl-legacy.ts), and writtenAs names the key the operator wrote.
  {
    key: "acl.enabled",
    refuses: (v, merged) => v === true && secondaryDatacenter(merged),
    why: "ACLs in a secondary datacenter resolve tokens from the primary and replicate them, which is not implemented; enable ACLs only where primary_datacenter equals datacenter",
  },
  { key: "acl.msp_disable_bootstrap", refuses: isTrue, why: "managed service provider tokens are not implemented (an HCP feature)" },
  { key: "acl.tokens.managed_service_provider", refuses: nonEmpty, why: "managed service provider tokens are not implemented (an HCP feature)" },

  // ---- identity, mode, storage
  ...rules(["read_replica", "non_voting_server"], isTrue, `read replicas are not implemented (${ENTERPRISE})`),
  ...rules(["segment", "segments", "partition", "license_path", "audit"], nonEmpty, ENTERPRISE),
  { key: "protocol", refuses: differsFrom(2), why: "only gossip protocol version 2 is spoken" },
  { key: "server_rejoin_age_max", refuses: differsFrom("168h"), why: "servers do not check how long they were away before rejoining" },
  { key: "advertise_reconnect_timeout", refuses: nonEmpty, why: "per-agent advertised reconnect timeouts are not implemented; use reconnect_timeout on the servers" },
  { key: "raft_snapshot_interval", refuses: differsFrom("30s"), why: "snapshots are taken when raft_snapshot_threshold entries accumulate, not on a timer" },
  ...rules(["raft_boltdb", "raft_logstore"], nonEmpty, "Raft's log lives in Consulate's own write-ahead log; BoltDB and WAL tuning do not apply"),
  { key: "rejoin_after_leave", refuses: isTrue, why: "rejoining the cluster after a graceful leave is not implemented" },
  { key: "disable_host_node_id", refuses: isFalse, why: "node IDs are never derived from host information" },
  { key: "auto_reload_config", refuses: isTrue, why: "config files are not watched; use consulate reload or SIGHUP" },
  { key: "experiments", refuses: nonEmpty, why: "no experiments are available" },
  ...rules(["snapshot_agent", "cloud"], nonEmpty, "this integration is not implemented"),
  { key: "reporting.license.enabled", refuses: isTrue, why: `license reporting is not implemented (${ENTERPRISE})` },
  { key: "watches", refuses: nonEmpty, why: "watches from agent config are not run; use the consulate watch command" },
  { key: "default_query_time", refuses: differsFrom("300s"), why: "blocking queries always default to a 5m wait" },
  { key: "max_query_time", refuses: differsFrom("600s"), why: "blocking queries always cap the wait at 10m" },
  { key: "session_ttl_min", refuses: differsFrom("10s"), why: "the minimum session TTL is fixed at 10s" },

  // ---- addresses and ports
  ...rules(
    ["advertise_addr_ipv4", "advertise_addr_ipv6", "advertise_addr_wan_ipv4", "advertise_addr_wan_ipv6"],
    nonEmpty,
    "per-family advertise addresses are not implemented; use advertise_addr and advertise_addr_wan",
  ),
  { key: "tagged_addresses", refuses: nonEmpty, why: "extra node tagged addresses are not registered" },
  ...rules(["serf_lan_allowed_cidrs", "serf_wan_allowed_cidrs"], nonEmpty, "filtering gossip by source network is not implemented"),
  { key: "translate_wan_addrs", refuses: isTrue, why: "WAN address translation is not implemented" },
  { key: "unix_sockets", refuses: nonEmpty, why: "listening on unix sockets is not implemented" },
  { key: "client_addr", refuses: severalAddresses, why: "the HTTP API listens on one address; give one client_addr (or use addresses.dns for DNS)" },
  ...rules(["addresses.http", "addresses.https"], (v) => severalAddresses(v) || unixSocket(v), "the HTTP API listens on one IP address, never a unix socket"),
  { key: "addresses.dns", refuses: unixSocket, why: "DNS cannot listen on a unix socket" },
  ...rules(["addresses.grpc", "addresses.grpc_tls"], nonEmpty, NO_GRPC),
  ...rules(["ports.grpc", "ports.grpc_tls"], positive, NO_GRPC),
  ...rules(["primary_gateways"], nonEmpty, "WAN federation through mesh gateways is not implemented"),

  // ---- logging and UI
  { key: "enable_syslog", refuses: isTrue, why: "logging to syslog is not implemented" },
  // The UI itself (ui, ui_config.enabled, dir, content_path) is served; its extras are not.
  { key: "ui_config.hcp_enabled", refuses: isTrue, why: NO_UI_EXTRA },
  ...rules(
    ["ui_config.metrics_provider", "ui_config.metrics_provider_files", "ui_config.metrics_provider_options_json", "ui_config.metrics_proxy", "ui_config.dashboard_url_templates"],
    nonEmpty,
    NO_UI_EXTRA,
  ),

  // ---- Connect
  // connect.enabled and connect.ca_config are honoured (built-in CA; ca_config is validated when the config is built).
  { key: "connect.ca_provider", refuses: differsFrom("consul"), why: "only the built-in \"consul\" CA provider is implemented" },
  ...rules(["connect.enable_mesh_gateway_wan_federation", "connect.enable_serverless_plugin"], isTrue, NO_CONNECT),
  { key: "connect.test_ca_leaf_root_change_spread", refuses: nonEmpty, why: "agents re-issue leaf certificates at once after a root rotation; no spread is implemented" },

  // ---- gossip encryption, TLS
  // Legacy top-level TLS keys arrive here already moved into tls.* (config/tls.ts).
  { key: "tls.https.verify_outgoing", refuses: isTrue, why: "the agent makes no outgoing HTTPS connections this setting would verify" },
  ...rules([...TLS_FILES.map((k) => `tls.grpc.${k}`), "tls.grpc.tls_min_version"], nonEmpty, NO_GRPC_TLS),
  ...rules(["tls.grpc.verify_incoming", "tls.grpc.use_auto_cert"], isTrue, NO_GRPC_TLS),
  { key: "server_name", refuses: nonEmpty, why: NO_SERVER_NAME },
  { key: "enable_agent_tls_for_checks", refuses: isTrue, why: "HTTP and gRPC checks do not present the agent's certificate" },
  // auto_encrypt.tls / allow_tls are honoured (launch/auto-encrypt.ts); the extra SANs only go
  // into the certificate a client asks for, so without auto_encrypt.tls they would do nothing.
  ...["auto_encrypt.dns_san", "auto_encrypt.ip_san"].map(
    (key): Refusal => ({
      key,
      refuses: (v, merged) => nonEmpty(v) && !(isPlainObject(merged.auto_encrypt) && merged.auto_encrypt.tls === true),
      why: "extra SANs are only requested by a client agent with auto_encrypt.tls = true; set that or remove the key",
    }),
  ),
  // auto_config (JWT-authorized AutoConfig.InitialConfiguration) is not built; its whole stanza
  // is opaque to the schema, so every key that would ask for it is refused here.
  ...rules(
    ["auto_config.enabled", "auto_config.authorization.enabled"],
    isTrue,
    "auto_config (JWT-authorized AutoConfig.InitialConfiguration) is not implemented; client agents can get their TLS certificates with auto_encrypt instead",
  ),
  ...rules(
    ["auto_config.intro_token", "auto_config.intro_token_file", "auto_config.server_addresses", "auto_config.dns_san", "auto_config.ip_san", "auto_config.authorization.static"],
    nonEmpty,
    "auto_config (JWT-authorized AutoConfig.InitialConfiguration) is not implemented; client agents can get their TLS certificates with auto_encrypt instead",
  ),

  // ---- performance and limits
  { key: "performance.leave_drain_time", refuses: differsFrom("5s"), why: "the drain time after a leave is fixed" },
  { key: "limits.rpc_handshake_timeout", refuses: differsFrom("5s"), why: "the server RPC handshake deadline is not configurable" },
  { key: "limits.rpc_client_timeout", refuses: differsFrom("60s"), why: "the RPC client timeout is not configurable" },
  { key: "limits.rpc_max_conns_per_client", refuses: differsFrom(100), why: "server RPC connections are not limited per client" },
  { key: "limits.rpc_rate", refuses: (v) => typeof v === "number" && v > 0, why: "RPC rate limiting is not implemented" },
  { key: "limits.rpc_max_burst", refuses: differsFrom(1000), why: "RPC rate limiting is not implemented" },
  { key: "limits.request_limits.mode", refuses: differsFrom("disabled"), why: "request rate limiting is not implemented" },

  // ---- telemetry
  ...rules(
    [
      "telemetry.statsd_address",
      "telemetry.statsite_address",
      "telemetry.dogstatsd_addr",
      "telemetry.dogstatsd_tags",
      "telemetry.circonus_api_token",
      "telemetry.circonus_api_app",
      "telemetry.circonus_api_url",
      "telemetry.circonus_submission_url",
      "telemetry.circonus_check_id",
      "telemetry.circonus_broker_id",
    ],
    nonEmpty,
    "metrics are exported only in Prometheus format (telemetry.prometheus_retention_time)",
  ),
  { key: "telemetry.enable_host_metrics", refuses: isTrue, why: "host metrics are not collected" },
  { key: "telemetry.metrics_prefix", refuses: differsFrom("consul"), why: "metric names always start with consul" },
  { key: "telemetry.filter_default", refuses: isFalse, why: "metric filtering is not implemented" },
  { key: "telemetry.prefix_filter", refuses: nonEmpty, why: "metric filtering is not implemented" },

  // ---- autopilot (Enterprise parts)
  ...rules(["autopilot.redundancy_zone_tag", "autopilot.upgrade_version_tag"], nonEmpty, `redundancy zones and upgrade migration are not implemented (${ENTERPRISE})`),
  { key: "autopilot.disable_upgrade_migration", refuses: isTrue, why: `upgrade migration is not implemented (${ENTERPRISE})` },

  // ---- DNS and HTTP
  { key: "dns_config.prefer_namespace", refuses: isTrue, why: ENTERPRISE },
  { key: "dns_config.use_cache", refuses: isTrue, why: "DNS answers are always read from the state store; the agent cache is not implemented" },
  { key: "dns_config.cache_max_age", refuses: differsFrom("0s"), why: "DNS answers are always read from the state store; the agent cache is not implemented" },
  { key: "http_config.response_headers", refuses: nonEmpty, why: "custom HTTP response headers are not implemented" },
  { key: "http_config.allow_write_http_from", refuses: nonEmpty, why: "restricting HTTP writes by client network is not implemented" },
  { key: "http_config.max_header_bytes", refuses: nonEmpty, why: "the HTTP header size limit is not configurable" },
];

function valueAt(config: RawConfig, path: string): unknown {
  let cur: unknown = config;
  for (const part of path.split(".")) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** Throws a ConfigError naming every refused key a user source set, and where it was set. */
export function refuseUnsupportedKeys(merged: RawConfig, setBy: SetBy, writtenAs: WrittenAs = new Map(), refusals: readonly Refusal[] = REFUSALS): void {
  const problems: Array<{ key: string; source: string; message: string }> = [];
  for (const rule of refusals) {
    const source = setBy.get(rule.key);
    if (source === undefined) continue; // a default or the -dev profile, not the operator's choice
    const value = valueAt(merged, rule.key);
    if (value === undefined || !rule.refuses(value, merged)) continue;
    problems.push({
      key: rule.key,
      source,
      message: `${rule.key}${writtenAs.has(rule.key) ? ` (written as ${writtenAs.get(rule.key)})` : ""} = ${shown(value)} (set in ${source}) is not supported by Consulate yet: ${rule.why}`,
    });
  }
  if (problems.length === 0) return;
  const first = problems[0];
  const message = problems.length === 1 ? first.message : formatMultiError(problems.map((p) => p.message));
  throw new ConfigError(message, { source: first.source, key: first.key });
}
