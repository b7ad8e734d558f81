// The `consul agent` flags a single node acts on (cli.md §2), as one table the CLI's flag
// parser and `-help` read, plus their translation into config-file shape. List flags merge
// before the config files and scalar flags after them, as Consul's builder does.

import { ConfigError } from "./config-error.ts";
import type { RawConfig } from "./decode.ts";

export type AgentFlagKind = "bool" | "string" | "int" | "repeatable";

export interface AgentFlagSpec {
  readonly name: string;
  readonly kind: AgentFlagKind;
  readonly help: string;
}

export const AGENT_FLAGS = [
  { name: "dev", kind: "bool", help: "Starts the agent in development mode." },
  { name: "server", kind: "bool", help: "Switches agent to server mode." },
  { name: "bootstrap", kind: "bool", help: "Sets server to bootstrap mode." },
  { name: "bootstrap-expect", kind: "int", help: "Sets server to expect bootstrap mode." },
  { name: "node", kind: "string", help: "Name of this node. Must be unique in the cluster." },
  { name: "node-id", kind: "string", help: "A unique ID for this node across space and time. Defaults to a randomly-generated ID that persists in the data-dir." },
  { name: "datacenter", kind: "string", help: "Datacenter of the agent." },
  { name: "client", kind: "string", help: "Sets the address to bind for client access. This includes RPC, DNS, HTTP, HTTPS and gRPC (if configured)." },
  { name: "bind", kind: "string", help: "Sets the bind address for cluster communication." },
  { name: "advertise", kind: "string", help: "Sets the advertise address to use." },
  { name: "http-port", kind: "int", help: "Sets the HTTP API port to listen on." },
  { name: "https-port", kind: "int", help: "Sets the HTTPS API port to listen on." },
  { name: "dns-port", kind: "int", help: "DNS port to use." },
  { name: "grpc-port", kind: "int", help: "Sets the gRPC API port to listen on (currently needed for Envoy xDS only)." },
  { name: "serf-lan-port", kind: "int", help: "Sets the Serf LAN port to listen on." },
  { name: "serf-wan-port", kind: "int", help: "Sets the Serf WAN port to listen on." },
  { name: "serf-wan-bind", kind: "string", help: "Address to bind Serf WAN listeners to." },
  { name: "advertise-wan", kind: "string", help: "Sets address to advertise on WAN instead of -advertise address." },
  { name: "server-port", kind: "int", help: "Sets the server port to listen on." },
  { name: "config-file", kind: "repeatable", help: "Path to a file in JSON or HCL format with a matching file extension. Can be specified multiple times." },
  { name: "config-dir", kind: "repeatable", help: "Path to a directory to read configuration files from. This will read every file ending in '.json' or '.hcl' as configuration in this directory in alphabetical order. Can be specified multiple times." },
  { name: "config-format", kind: "string", help: "Config files are in this format irrespective of their extension. Must be 'hcl' or 'json'" },
  { name: "hcl", kind: "repeatable", help: "hcl config fragment. Can be specified multiple times." },
  { name: "data-dir", kind: "string", help: "Path to a data directory to store agent state." },
  { name: "log-level", kind: "string", help: "Log level of the agent." },
  { name: "log-json", kind: "bool", help: "Output logs in JSON format." },
  { name: "log-file", kind: "string", help: "Path to the file the logs get written to" },
  { name: "pid-file", kind: "string", help: "Path to file to store agent PID." },
  { name: "enable-script-checks", kind: "bool", help: "Enables health check scripts." },
  { name: "enable-local-script-checks", kind: "bool", help: "Enables health check scripts from configuration file." },
  { name: "node-meta", kind: "repeatable", help: "An arbitrary metadata key/value pair for this node, of the format `key:value`. Can be specified multiple times." },
  { name: "ui", kind: "bool", help: "Enables the built-in static web UI server." },
  { name: "ui-dir", kind: "string", help: "Path to directory containing the web UI resources." },
  { name: "ui-content-path", kind: "string", help: "Path from which to serve the web UI resources." },
  { name: "domain", kind: "string", help: "Domain to use for DNS interface." },
  { name: "retry-join", kind: "repeatable", help: "Address of an agent to join at start time with retries enabled. Can be specified multiple times." },
  { name: "join", kind: "repeatable", help: "Address of an agent to join at start time. Can be specified multiple times. Deprecated alias of -retry-join." },
  { name: "encrypt", kind: "string", help: "Provides the gossip encryption key." },
  { name: "disable-keyring-file", kind: "bool", help: "Disables the backing up of the keyring to a file." },
  { name: "retry-join-wan", kind: "repeatable", help: "Address of an agent to join -wan at start time with retries enabled. Can be specified multiple times." },
  {
    name: "recover-truncated-log",
    kind: "bool",
    help: "Starts a server whose Raft log on disk ends before its recorded commit index (acknowledged entries are missing), accepting the loss. Without it such a server refuses to start.",
  },
  { name: "join-wan", kind: "repeatable", help: "Address of an agent to join -wan at start time. Can be specified multiple times. Deprecated alias of -retry-join-wan." },
  { name: "recursor", kind: "repeatable", help: "Address of an upstream DNS server. Can be specified multiple times." },
  { name: "rejoin", kind: "bool", help: "Ignores a previous leave and attempts to rejoin the cluster (refused: not implemented; use -retry-join)." },
  { name: "syslog", kind: "bool", help: "Enables logging to syslog (refused: Consulate logs to stdout and -log-file)." },
  { name: "log-rotate-bytes", kind: "int", help: "Maximum number of bytes that should be written to a log file" },
  { name: "log-rotate-duration", kind: "string", help: "Time after which log rotation needs to be performed" },
  { name: "log-rotate-max-files", kind: "int", help: "Maximum number of log file archives to keep" },
  { name: "disable-host-node-id", kind: "bool", help: "Setting this to true will prevent Consul from using information from the host to generate a node ID (Consulate never does: only true is accepted)." },
  { name: "retry-interval", kind: "string", help: "Time to wait between join attempts." },
  { name: "retry-max", kind: "int", help: "Maximum number of join attempts. Defaults to 0, which will retry indefinitely." },
  { name: "retry-interval-wan", kind: "string", help: "Time to wait between join -wan attempts." },
  { name: "retry-max-wan", kind: "int", help: "Maximum number of join -wan attempts. Defaults to 0, which will retry indefinitely." },
] as const satisfies readonly AgentFlagSpec[];

type FlagName = (typeof AGENT_FLAGS)[number]["name"];
type ValueOf<K extends AgentFlagKind> = K extends "bool" ? boolean : K extends "int" ? number : K extends "string" ? string : string[];

/** Parsed `consul agent` flag values, keyed by flag name; an absent key means "not given". */
export type AgentFlagValues = {
  [F in (typeof AGENT_FLAGS)[number] as F["name"]]?: ValueOf<F["kind"]>;
};

/** How the flags ask for config to be loaded (not config keys themselves). */
export interface LoadRequest {
  dev: boolean;
  configFiles: string[];
  configDirs: string[];
  configFormat: "json" | "hcl" | undefined;
  hcl: string[];
  /** -recover-truncated-log: a one-off operator decision for this start, deliberately no config key. */
  recoverTruncatedLog: boolean;
}

export interface FlagSources {
  load: LoadRequest;
  /** List-valued flags: merged before config files, so file lists append after them. */
  slices: RawConfig;
  /** Scalar and map flags: merged after config files, so flags override files. */
  values: RawConfig;
}

const SCALAR_KEYS: Partial<Record<FlagName, string>> = {
  server: "server",
  bootstrap: "bootstrap",
  "bootstrap-expect": "bootstrap_expect",
  node: "node_name",
  "node-id": "node_id",
  datacenter: "datacenter",
  client: "client_addr",
  bind: "bind_addr",
  advertise: "advertise_addr",
  "advertise-wan": "advertise_addr_wan",
  "serf-wan-bind": "serf_wan",
  "data-dir": "data_dir",
  "log-level": "log_level",
  "log-json": "log_json",
  "log-file": "log_file",
  "pid-file": "pid_file",
  "enable-script-checks": "enable_script_checks",
  "enable-local-script-checks": "enable_local_script_checks",
  domain: "domain",
  encrypt: "encrypt",
  "disable-keyring-file": "disable_keyring_file",
  rejoin: "rejoin_after_leave",
  syslog: "enable_syslog",
  "log-rotate-bytes": "log_rotate_bytes",
  "log-rotate-duration": "log_rotate_duration",
  "log-rotate-max-files": "log_rotate_max_files",
  "disable-host-node-id": "disable_host_node_id",
  "retry-interval": "retry_interval",
  "retry-max": "retry_max",
  "retry-interval-wan": "retry_interval_wan",
  "retry-max-wan": "retry_max_wan",
};

const PORT_KEYS: Partial<Record<FlagName, string>> = {
  "http-port": "http",
  "https-port": "https",
  "dns-port": "dns",
  "grpc-port": "grpc",
  "serf-lan-port": "serf_lan",
  "serf-wan-port": "serf_wan",
  "server-port": "server",
};

export function flagSources(flags: AgentFlagValues): FlagSources {
  const configFormat = flags["config-format"];
  if (configFormat !== undefined && configFormat !== "json" && configFormat !== "hcl") {
    throw new ConfigError("config: -config-format must be either 'hcl' or 'json'", { key: "config-format" });
  }
  const load: LoadRequest = {
    dev: flags.dev === true,
    configFiles: [...(flags["config-file"] ?? [])],
    configDirs: [...(flags["config-dir"] ?? [])],
    configFormat,
    hcl: [...(flags.hcl ?? [])],
    recoverTruncatedLog: flags["recover-truncated-log"] === true,
  };

  const slices: RawConfig = {};
  if (flags.recursor !== undefined && flags.recursor.length > 0) slices.recursors = [...flags.recursor];
  const retryJoin = [...(flags["retry-join"] ?? []), ...(flags.join ?? [])];
  if (retryJoin.length > 0) slices.retry_join = retryJoin;
  const retryJoinWan = [...(flags["retry-join-wan"] ?? []), ...(flags["join-wan"] ?? [])];
  if (retryJoinWan.length > 0) slices.retry_join_wan = retryJoinWan;

  const values: RawConfig = {};
  for (const [flag, key] of Object.entries(SCALAR_KEYS)) {
    const v = flags[flag as FlagName];
    if (v !== undefined) values[key] = v;
  }
  const ports: Record<string, number> = {};
  for (const [flag, key] of Object.entries(PORT_KEYS)) {
    const v = flags[flag as FlagName];
    if (typeof v === "number") ports[key] = v;
  }
  if (Object.keys(ports).length > 0) values.ports = ports;
  const uiConfig: Record<string, unknown> = {};
  if (flags.ui !== undefined) uiConfig.enabled = flags.ui;
  if (flags["ui-dir"] !== undefined) uiConfig.dir = flags["ui-dir"];
  if (flags["ui-content-path"] !== undefined) uiConfig.content_path = flags["ui-content-path"];
  if (Object.keys(uiConfig).length > 0) values.ui_config = uiConfig;
  if (flags["node-meta"] !== undefined) values.node_meta = parseNodeMetaFlags(flags["node-meta"]);
  return { load, slices, values };
}

/** `-node-meta key:value`, split at the first colon (the value may contain more). */
export function parseNodeMetaFlags(pairs: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const pair of pairs) {
    const idx = pair.indexOf(":");
    if (idx === -1) {
      throw new ConfigError(`invalid value ${JSON.stringify(pair)} for flag -node-meta: Missing ":" in value ${JSON.stringify(pair)}`, {
        key: "node-meta",
      });
    }
    meta[pair.slice(0, idx)] = pair.slice(idx + 1);
  }
  return meta;
}
