import { arr, s, strs, type Raw } from "./config-entry-shape.ts";
import { INGRESS_GATEWAY, TERMINATING_GATEWAY } from "./config-entry-kinds.ts";

// Which services a gateway links to (Consul's gateway-services table, agent/structs
// GatewayService), derived from ingress-gateway and terminating-gateway entries. A `*` service
// stands for every typical service in the catalog (FromWildcard).

export interface GatewayService {
  Gateway: { Name: string };
  Service: { Name: string };
  GatewayKind: "ingress-gateway" | "terminating-gateway";
  Port?: number;
  Protocol?: string;
  Hosts?: string[];
  CAFile?: string;
  CertFile?: string;
  KeyFile?: string;
  SNI?: string;
  FromWildcard?: boolean;
  /** "service" for a service in the catalog, "destination" for a service-defaults Destination, absent when neither is known. */
  ServiceKind?: "service" | "destination";
  CreateIndex: number;
  ModifyIndex: number;
}

export interface GatewayEntries {
  get(kind: string, name: string): (Raw & { CreateIndex: number; ModifyIndex: number }) | undefined;
  list(kind: string): (Raw & { CreateIndex: number; ModifyIndex: number })[];
}

/** The services gateway `gateway` links to, by service name; `typical` lists the catalog's typical service names. */
export function gatewayServicesOf(gateway: string, entries: GatewayEntries, typical: () => string[]): GatewayService[] {
  const out = new Map<string, GatewayService>();
  let known: Set<string> | undefined;
  const serviceKind = (name: string): Pick<GatewayService, "ServiceKind"> => {
    if (entries.get("service-defaults", name)?.Destination !== undefined) return { ServiceKind: "destination" };
    known ??= new Set(typical());
    return known.has(name) ? { ServiceKind: "service" } : {};
  };
  const ingress = entries.get(INGRESS_GATEWAY, gateway);
  if (ingress) {
    for (const listener of arr(ingress, "Listeners")) {
      const port = typeof listener.Port === "number" ? listener.Port : 0;
      const protocol = s(listener, "Protocol") || "tcp";
      for (const svc of arr(listener, "Services")) {
        const hosts = strs(svc, "Hosts");
        const base = { Gateway: { Name: gateway }, GatewayKind: INGRESS_GATEWAY, Port: port, Protocol: protocol, ...(hosts.length > 0 ? { Hosts: hosts } : {}) } as const;
        const names = s(svc, "Name") === "*" ? typical() : [s(svc, "Name")];
        for (const name of names) {
          const key = `${INGRESS_GATEWAY}\u0000${name}`;
          // An explicit service wins over the wildcard (Consul keeps the explicit mapping).
          if (out.has(key) && s(svc, "Name") === "*") continue;
          out.set(key, { ...base, Service: { Name: name }, ...(s(svc, "Name") === "*" ? { FromWildcard: true } : {}), ...serviceKind(name), CreateIndex: ingress.CreateIndex, ModifyIndex: ingress.ModifyIndex });
        }
      }
    }
  }
  const terminating = entries.get(TERMINATING_GATEWAY, gateway);
  if (terminating) {
    const services = arr(terminating, "Services");
    const explicit = new Set(services.map((x) => s(x, "Name")).filter((x) => x !== "*"));
    for (const svc of services) {
      const wildcard = s(svc, "Name") === "*";
      const names = wildcard ? typical().filter((x) => !explicit.has(x)) : [s(svc, "Name")];
      for (const name of names) {
        const tls: Partial<GatewayService> = {};
        for (const k of ["CAFile", "CertFile", "KeyFile", "SNI"] as const) if (s(svc, k) !== "") tls[k] = s(svc, k);
        out.set(`${TERMINATING_GATEWAY}\u0000${name}`, {
          Gateway: { Name: gateway },
          Service: { Name: name },
          GatewayKind: TERMINATING_GATEWAY,
          ...tls,
          ...(wildcard ? { FromWildcard: true } : {}),
          ...serviceKind(name),
          CreateIndex: terminating.CreateIndex,
          ModifyIndex: terminating.ModifyIndex,
        });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.Service.Name < b.Service.Name ? -1 : a.Service.Name > b.Service.Name ? 1 : 0));
}

/** Names of ingress gateways that expose `service` (explicitly, or through `*` when it is a typical service). */
export function ingressGatewaysFor(service: string, entries: GatewayEntries, isTypical: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const gw of entries.list(INGRESS_GATEWAY)) {
    const exposes = arr(gw, "Listeners").some((l) => arr(l, "Services").some((x) => s(x, "Name") === service || (s(x, "Name") === "*" && isTypical(service))));
    if (exposes) out.push(s(gw, "Name"));
  }
  return out;
}
