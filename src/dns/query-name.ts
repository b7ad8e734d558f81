// Name parsing for the Consul zone (spec/dns.md section 3): strip the domain, find the
// rightmost keyword, split query parts from the locality suffix.

export const LOOKUP_KINDS = ["service", "connect", "virtual", "ingress", "node", "query", "addr"] as const;
export type LookupKind = (typeof LOOKUP_KINDS)[number];

export interface Locality {
  /** undefined = the local datacenter */
  datacenter?: string;
  peer?: string;
  samenessGroup?: string;
  namespace?: string;
  partition?: string;
}

export interface ParsedQueryName {
  kind: LookupKind;
  /** Lower-cased labels left of the keyword. */
  parts: string[];
  locality: Locality;
}

export type ZoneMatch =
  | { zone: "consul"; /** the configured domain the question was asked under */ domain: string; labels: string[] }
  | { zone: "arpa" }
  | { zone: "outside" };

/** Which handler owns a (lower-cased, dot-free at the ends) name. */
export function matchZone(lowerName: string, domains: readonly string[]): ZoneMatch {
  for (const domain of domains) {
    if (domain === "") continue;
    if (lowerName === domain) return { zone: "consul", domain, labels: [] };
    if (lowerName.endsWith("." + domain)) {
      return { zone: "consul", domain, labels: lowerName.slice(0, -domain.length - 1).split(".") };
    }
  }
  if (lowerName === "arpa" || lowerName.endsWith(".arpa")) return { zone: "arpa" };
  return { zone: "outside" };
}

const KEYWORDS: ReadonlySet<string> = new Set(LOOKUP_KINDS);

/**
 * undefined when the name has no keyword, no query parts, or a locality suffix we cannot read:
 * all of which answer NXDOMAIN.
 */
export function parseQueryName(labels: readonly string[], isSrv: boolean): ParsedQueryName | undefined {
  for (let i = labels.length - 1; i >= 0; i--) {
    const label = labels[i];
    if (KEYWORDS.has(label)) {
      return build(label as LookupKind, labels.slice(0, i), labels.slice(i + 1));
    }
    // RFC 2782 names need no `.service`: `_web._tcp.consul` is a service lookup.
    if (isSrv && label.startsWith("_")) return build("service", labels.slice(0, i + 1), labels.slice(i + 1));
  }
  return undefined;
}

function build(kind: LookupKind, parts: string[], suffix: string[]): ParsedQueryName | undefined {
  if (parts.length === 0 || parts.some((p) => p === "")) return undefined;
  const locality = parseLocality(suffix);
  if (!locality) return undefined;
  return { kind, parts, locality };
}

function parseLocality(suffix: string[]): Locality | undefined {
  if (suffix.length === 0) return {};
  // Legacy form: a lone label is the datacenter.
  if (suffix.length === 1) return suffix[0] === "" ? undefined : { datacenter: suffix[0] };
  if (suffix.length % 2 !== 0) return undefined;
  const locality: Locality = {};
  for (let i = 0; i < suffix.length; i += 2) {
    const value = suffix[i];
    const key = suffix[i + 1];
    if (value === "") return undefined;
    switch (key) {
      case "dc":
        locality.datacenter = value;
        break;
      case "peer":
        locality.peer = value;
        break;
      case "sg":
        locality.samenessGroup = value;
        break;
      case "ns":
        locality.namespace = value;
        break;
      case "ap":
        locality.partition = value;
        break;
      default:
        return undefined;
    }
  }
  return locality;
}

/** `c000020a` → 192.0.2.10; 32 hex chars → expanded IPv6. "invalid" on bad hex, "other" on any other length. */
export function decodeAddrLabel(label: string): { family: 4 | 6; ip: string } | "invalid" | "other" {
  if (label.length !== 8 && label.length !== 32) return "other";
  if (!/^[0-9a-f]+$/.test(label)) return "invalid";
  if (label.length === 8) {
    const octets: number[] = [];
    for (let i = 0; i < 8; i += 2) octets.push(parseInt(label.slice(i, i + 2), 16));
    return { family: 4, ip: octets.join(".") };
  }
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(label.slice(i, i + 4));
  return { family: 6, ip: groups.join(":") };
}

/** The hex label Consul uses for `.addr.` SRV targets. */
export function encodeAddrLabel(ip: string, family: 4 | 6): string {
  if (family === 4) return ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
  return expandIPv6(ip).replace(/:/g, "");
}

/** Fully expanded, lower-case, 8 groups of 4 hex digits. Handles `::` and an embedded IPv4 tail. */
export function expandIPv6(ip: string): string {
  let text = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const n = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + `${((n[0] << 8) | n[1]).toString(16)}:${((n[2] << 8) | n[3]).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  return [...headGroups, ...fill, ...tailGroups].map((g) => g.padStart(4, "0")).join(":");
}

/** The reverse-lookup name of an IP (without the trailing dot), as PTR questions spell it. */
export function reverseName(ip: string, family: 4 | 6): string {
  if (family === 4) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  return `${expandIPv6(ip).replace(/:/g, "").split("").reverse().join(".")}.ip6.arpa`;
}
