// What the built-in proxy runs (spec/connect.md §8): read from a `connect-proxy` registration
// (Proxy.* and the opaque Proxy.Config map) or from command-line flags. Parts we cannot honour
// (peer upstreams, unix sockets, destination types other than service and prepared query) are
// reported by name, never ignored.

import { STREAM_REUSE_CONFIG_KEY } from "../connect/mesh/upstream-instances.ts";

export interface PublicListenerConfig {
  bindAddress: string;
  bindPort: number;
  localServiceAddress: string;
  localServicePort: number;
  localConnectTimeoutMs: number;
  handshakeTimeoutMs: number;
}

export type UpstreamDestinationType = "service" | "prepared_query";

export interface UpstreamConfig {
  /** "prepared_query": destinationName names a query, executed with connect=true to find instances. */
  destinationType: UpstreamDestinationType;
  destinationName: string;
  datacenter: string;
  localBindAddress: string;
  localBindPort: number;
  connectTimeoutMs: number;
}

export interface ProxyConfig {
  /** The identity the proxy speaks for (its leaf certificate's service). */
  service: string;
  publicListener: PublicListenerConfig | undefined;
  upstreams: UpstreamConfig[];
}

export class ProxyConfigError extends Error {
  override readonly name = "ProxyConfigError";
}

interface UpstreamBody {
  DestinationType?: string;
  DestinationName?: string;
  DestinationPeer?: string;
  Datacenter?: string;
  LocalBindAddress?: string;
  LocalBindPort?: number;
  LocalBindSocketPath?: string;
  Config?: Record<string, unknown>;
}

/** The fields of GET /v1/agent/service/<id> the proxy reads. */
export interface ProxyRegistration {
  ID: string;
  Kind?: string;
  Address?: string;
  Port?: number;
  Proxy?: {
    DestinationServiceName?: string;
    DestinationServiceID?: string;
    LocalServiceAddress?: string;
    LocalServicePort?: number;
    LocalServiceSocketPath?: string;
    Config?: Record<string, unknown> | null;
    Upstreams?: UpstreamBody[] | null;
  };
}

function numberKey(config: Record<string, unknown>, key: string, fallback: number, where: string): number {
  const raw = config[key];
  if (raw === undefined || raw === null || raw === "") return fallback;
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) throw new ProxyConfigError(`${where}: ${key} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

function stringKey(config: Record<string, unknown>, key: string, where: string): string {
  const raw = config[key];
  if (raw === undefined || raw === null) return "";
  if (typeof raw !== "string") throw new ProxyConfigError(`${where}: ${key} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Splits "host:port" (IPv6 in brackets); the port must be 1..65535. */
export function splitHostPort(raw: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(raw.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw new ProxyConfigError(`${what}: "${raw}" is not a host:port address`);
  return { host: m[1] ?? m[2] ?? "", port };
}

export function configFromRegistration(reg: ProxyRegistration): ProxyConfig {
  const where = `proxy registration "${reg.ID}"`;
  if (reg.Kind !== "connect-proxy") throw new ProxyConfigError(`${where} is not a connect-proxy (Kind ${JSON.stringify(reg.Kind ?? "")})`);
  const p = reg.Proxy ?? {};
  const service = p.DestinationServiceName ?? "";
  if (service === "") throw new ProxyConfigError(`${where} has no Proxy.DestinationServiceName`);
  if (p.LocalServiceSocketPath) throw new ProxyConfigError(`${where}: Proxy.LocalServiceSocketPath is not supported by the built-in proxy`);
  const config = p.Config ?? {};
  const reuse = config[STREAM_REUSE_CONFIG_KEY];
  if (reuse !== undefined && reuse !== null && typeof reuse !== "boolean") throw new ProxyConfigError(`${where}: ${STREAM_REUSE_CONFIG_KEY} must be true or false, got ${JSON.stringify(reuse)}`);
  let localHost = p.LocalServiceAddress || "127.0.0.1";
  let localPort = p.LocalServicePort ?? 0;
  const localOverride = stringKey(config, "local_service_address", where);
  if (localOverride !== "") ({ host: localHost, port: localPort } = splitHostPort(localOverride, `${where}: local_service_address`));
  const bindPort = numberKey(config, "bind_port", reg.Port ?? 0, where);
  const publicListener: PublicListenerConfig | undefined =
    bindPort > 0
      ? {
          bindAddress: stringKey(config, "bind_address", where) || reg.Address || "0.0.0.0",
          bindPort,
          localServiceAddress: localHost,
          localServicePort: localPort,
          localConnectTimeoutMs: numberKey(config, "local_connect_timeout_ms", 1000, where),
          handshakeTimeoutMs: numberKey(config, "handshake_timeout_ms", 10_000, where),
        }
      : undefined;
  if (publicListener && localPort <= 0) throw new ProxyConfigError(`${where} has no local service port (Proxy.LocalServicePort)`);
  const upstreams = (p.Upstreams ?? []).map((u, i) => upstreamFromRegistration(u, `${where}: Upstreams[${i}]`));
  return { service, publicListener, upstreams };
}

function upstreamFromRegistration(u: UpstreamBody, where: string): UpstreamConfig {
  const type = u.DestinationType || "service";
  if (type !== "service" && type !== "prepared_query") throw new ProxyConfigError(`${where}: DestinationType "${type}" is not supported by the built-in proxy (only "service" and "prepared_query")`);
  if (u.DestinationPeer) throw new ProxyConfigError(`${where}: DestinationPeer is not supported (cluster peering is not built)`);
  if (u.LocalBindSocketPath) throw new ProxyConfigError(`${where}: LocalBindSocketPath is not supported by the built-in proxy`);
  if (!u.DestinationName) throw new ProxyConfigError(`${where}: DestinationName is required`);
  if (!u.LocalBindPort || u.LocalBindPort <= 0) throw new ProxyConfigError(`${where}: LocalBindPort is required`);
  return {
    destinationType: type,
    destinationName: u.DestinationName,
    datacenter: u.Datacenter ?? "",
    localBindAddress: u.LocalBindAddress || "127.0.0.1",
    localBindPort: u.LocalBindPort,
    connectTimeoutMs: numberKey(u.Config ?? {}, "connect_timeout_ms", 10_000, where),
  };
}

/** `-upstream name:port` (repeatable): a listener on 127.0.0.1:port for the service `name`. */
export function upstreamFromFlag(raw: string): UpstreamConfig {
  const at = raw.lastIndexOf(":");
  const name = at > 0 ? raw.slice(0, at) : "";
  const port = at > 0 ? Number(raw.slice(at + 1)) : Number.NaN;
  if (name === "" || !Number.isInteger(port) || port < 1 || port > 65535) throw new ProxyConfigError(`-upstream: "${raw}" must be <service>:<port>`);
  return { destinationType: "service", destinationName: name, datacenter: "", localBindAddress: "127.0.0.1", localBindPort: port, connectTimeoutMs: 10_000 };
}
