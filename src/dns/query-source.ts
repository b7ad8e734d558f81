import type { Packet } from "dns-packet";
import { requestOpt } from "./reply.ts";

// Who asked, as Consul's DNS server tells a prepared query (its Source.Ip, what `near=_ip`
// sorts from): the EDNS client subnet's address when the request carries one (a resolver
// asking on a client's behalf), else the packet's source address.

/** EDNS0 option code of the client subnet (RFC 7871). */
const CLIENT_SUBNET = 8;

/** The address in the request's EDNS client-subnet option, if it has one. */
export function clientSubnetAddress(req: Packet): string | undefined {
  const opt = requestOpt(req);
  for (const o of opt?.options ?? []) {
    if (o.code === CLIENT_SUBNET && "ip" in o && typeof o.ip === "string" && o.ip !== "") return o.ip;
  }
  return undefined;
}

/** A socket's remote address as an IP ("" unknown); IPv4-mapped IPv6 addresses lose their prefix, as Go's net.IP prints them. */
export function plainAddress(source: string | undefined): string {
  if (source === undefined) return "";
  return source.startsWith("::ffff:") && source.includes(".") ? source.slice("::ffff:".length) : source;
}
