// The go-sockaddr templates real configs use for addresses ({{ GetInterfaceIP "eth0" }},
// {{ GetPrivateIP }}…), over an injectable interface list so tests need no real network.

import type { NetworkInterfaceInfo } from "node:os";

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

const TEMPLATE = /\{\{\s*(.*?)\s*\}\}/g;

/** IPv4 ranges Consul's ipaddr treats as private (RFC 1918, RFC 6598 shared space). */
function isPrivateV4(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}

function allAddrs(table: InterfaceTable): NetworkInterfaceInfo[] {
  return Object.values(table).flatMap((list) => list ?? []);
}

export function privateIPv4s(table: InterfaceTable): string[] {
  return allAddrs(table)
    .filter((a) => a.family === "IPv4" && !a.internal && isPrivateV4(a.address))
    .map((a) => a.address);
}

function publicIPv4s(table: InterfaceTable): string[] {
  return allAddrs(table)
    .filter((a) => a.family === "IPv4" && !a.internal && !isPrivateV4(a.address))
    .map((a) => a.address);
}

export function publicIPv6s(table: InterfaceTable): string[] {
  return allAddrs(table)
    .filter((a) => a.family === "IPv6" && !a.internal && !a.address.toLowerCase().startsWith("fe80") && !a.address.toLowerCase().startsWith("fd"))
    .map((a) => a.address);
}

function interfaceIPs(table: InterfaceTable, name: string): string[] {
  const list = table[name];
  if (list === undefined) throw new Error(`unable to find interface "${name}"`);
  const v4 = list.filter((a) => a.family === "IPv4").map((a) => a.address);
  return v4.length > 0 ? v4 : list.map((a) => a.address);
}

function evaluate(expr: string, table: InterfaceTable): string[] {
  const call = /^(\w+)(?:\s+"([^"]*)")?$/.exec(expr);
  if (call === null) throw new Error(`unsupported template expression "${expr}"`);
  const [, fn, arg] = call;
  switch (fn) {
    case "GetPrivateIP":
      return privateIPv4s(table).slice(0, 1);
    case "GetPrivateIPs":
      return privateIPv4s(table);
    case "GetPublicIP":
      return publicIPv4s(table).slice(0, 1);
    case "GetPublicIPs":
      return publicIPv4s(table);
    case "GetInterfaceIP":
      return interfaceIPs(table, arg ?? "").slice(0, 1);
    case "GetInterfaceIPs":
      return interfaceIPs(table, arg ?? "");
    default:
      throw new Error(`unsupported template function "${fn}"`);
  }
}

/** Expands every {{ … }} in `value`; text around templates is kept. Throws on unsupported templates. */
export function expandSockaddrTemplate(value: string, table: InterfaceTable): string {
  return value.replace(TEMPLATE, (_whole, expr: string) => evaluate(expr, table).join(" "));
}
