import type { RuntimeConfig } from "../config/runtime-config.ts";

// What the DNS interface reads from the agent configuration, resolved once (and again on
// reload): domains normalised to lower case without the trailing dot, durations in ms.

export const RECURSOR_STRATEGIES = ["sequential", "random"] as const;
export type RecursorStrategy = (typeof RECURSOR_STRATEGIES)[number];

export interface Upstream {
  host: string;
  port: number;
}

export interface DnsSettings {
  /** The datacenter records are named for: this agent's, or the remote one of a `.<dc>.consul` answer. */
  datacenter: string;
  /** e.g. "consul" — lower case, no trailing dot. */
  domain: string;
  /** "" when unset. */
  altDomain: string;
  recursors: Upstream[];
  recursorStrategy: RecursorStrategy;
  recursorTimeoutMs: number;
  allowStale: boolean;
  maxStaleMs: number;
  nodeTtlMs: number;
  /** Keys as configured: exact service names, `prefix*` wildcards and the catch-all `*`. */
  serviceTtlMs: Record<string, number>;
  enableTruncate: boolean;
  onlyPassing: boolean;
  udpAnswerLimit: number;
  aRecordLimit: number;
  disableCompression: boolean;
  enableAdditionalNodeMetaTxt: boolean;
  soa: { refresh: number; retry: number; expire: number; minTtl: number };
  /** limits.dns_max_qps_per_client: requests a second per source address; 0 or less = unbounded. */
  maxQpsPerSource: number;
}

/** Consul's documented dns_config defaults (spec/dns.md section 12). */
export const DNS_DEFAULTS: DnsSettings = {
  datacenter: "dc1",
  domain: "consul",
  altDomain: "",
  recursors: [],
  recursorStrategy: "sequential",
  recursorTimeoutMs: 2000,
  allowStale: true,
  maxStaleMs: 87600 * 3_600_000,
  nodeTtlMs: 0,
  serviceTtlMs: {},
  enableTruncate: false,
  onlyPassing: false,
  udpAnswerLimit: 3,
  aRecordLimit: 0,
  disableCompression: false,
  enableAdditionalNodeMetaTxt: true,
  soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 },
  maxQpsPerSource: 10_000,
};

export function dnsSettings(overrides: Partial<DnsSettings> = {}): DnsSettings {
  return { ...DNS_DEFAULTS, ...overrides };
}

export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/^\.+|\.+$/g, "");
}

const DNS_PORT = 53;

/** `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 53. */
export function parseUpstream(text: string): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : DNS_PORT };
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = text.split(":");
    return { host, port: Number(port) };
  }
  return { host: text, port: DNS_PORT };
}

export function dnsSettingsFromConfig(rc: RuntimeConfig): DnsSettings {
  const d = rc.dns;
  const upstreams = new Map<string, Upstream>();
  for (const r of rc.recursors) {
    const u = parseUpstream(r);
    upstreams.set(`${u.host}|${u.port}`, u);
  }
  return {
    datacenter: rc.datacenter,
    domain: normalizeDomain(rc.domain || "consul."),
    altDomain: normalizeDomain(rc.altDomain),
    recursors: [...upstreams.values()],
    recursorStrategy: d.recursorStrategy === "random" ? "random" : "sequential",
    // A configured 0 would fail every exchange at once; Consul's default applies instead.
    recursorTimeoutMs: d.recursorTimeoutMs > 0 ? d.recursorTimeoutMs : DNS_DEFAULTS.recursorTimeoutMs,
    allowStale: d.allowStale,
    maxStaleMs: d.maxStaleMs > 0 ? d.maxStaleMs : DNS_DEFAULTS.maxStaleMs,
    nodeTtlMs: d.nodeTtlMs,
    serviceTtlMs: { ...d.serviceTtlMs },
    enableTruncate: d.enableTruncate,
    onlyPassing: d.onlyPassing,
    udpAnswerLimit: d.udpAnswerLimit,
    aRecordLimit: d.aRecordLimit,
    disableCompression: d.disableCompression,
    enableAdditionalNodeMetaTxt: d.enableAdditionalNodeMetaTxt,
    soa: { ...d.soa },
    maxQpsPerSource: d.maxQpsPerClient,
  };
}
