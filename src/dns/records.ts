import { isIP } from "node:net";
import type { Answer } from "dns-packet";
import type { DnsSettings } from "./dns-settings.ts";

// Record constructors in dns-packet's shape. Owner names carry no trailing dot (dns-packet's
// convention); TTLs are whole seconds.

export const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODES;

export function ttlSeconds(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000));
}

export function addressRecord(name: string, ip: string, family: 4 | 6, ttl: number): Answer {
  return { type: family === 4 ? "A" : "AAAA", class: "IN", name, ttl, data: ip };
}

export function cnameRecord(name: string, target: string, ttl: number): Answer {
  return { type: "CNAME", class: "IN", name, ttl, data: target };
}

export function txtRecord(name: string, text: string, ttl: number): Answer {
  return { type: "TXT", class: "IN", name, ttl, data: [text] };
}

export function srvRecord(name: string, target: string, port: number, weight: number, ttl: number): Answer {
  return { type: "SRV", class: "IN", name, ttl, data: { priority: 1, weight, port, target } };
}

export function nsRecord(name: string, target: string, ttl: number): Answer {
  return { type: "NS", class: "IN", name, ttl, data: target };
}

export function ptrRecord(name: string, target: string): Answer {
  return { type: "PTR", class: "IN", name, ttl: 0, data: target };
}

export function soaRecord(domain: string, settings: DnsSettings, nowMs: number): Answer {
  const { refresh, retry, expire, minTtl } = settings.soa;
  return {
    type: "SOA",
    class: "IN",
    name: domain,
    ttl: minTtl,
    data: {
      mname: `ns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: Math.floor(nowMs / 1000) >>> 0,
      refresh,
      retry,
      expire,
      minimum: minTtl,
    },
  };
}

/** A key identifying a record's owner, type and data: identical records are emitted once. */
export function recordKey(r: Answer): string {
  const data = "data" in r ? r.data : undefined;
  const text = typeof data === "string" ? data : Array.isArray(data) ? data.join("\u0000") : JSON.stringify(data);
  return `${r.name.toLowerCase()}|${r.type}|${text}`;
}

/** 4, 6, or 0 for a hostname. */
export function ipFamily(address: string): 0 | 4 | 6 {
  const f = isIP(address);
  return f === 4 ? 4 : f === 6 ? 6 : 0;
}
