import { INGRESS_GATEWAY, TERMINATING_GATEWAY } from "./config-entry-kinds.ts";
import { ingressGatewaysFor, type GatewayEntries } from "./gateway-services.ts";
import type { CatalogTables, ServiceInstance } from "../state/catalog-tables.ts";
import type { ConfigEntriesTable } from "../state/config-entries-table.ts";
import type { StateStore } from "../state/store.ts";

/** What the ingress lookup reads (the store, or DNS's view of it). */
export interface IngressState {
  catalog: Pick<CatalogTables, "allInstances" | "serviceInstances">;
  configEntries: Pick<ConfigEntriesTable, "get" | "list">;
}
import type { WatchSet } from "../state/watch.ts";

// Reads shared by gateway-services, health/ingress and the .ingress DNS lookup: the gateway
// config entries as GatewayEntries, and the catalog's typical services for `*`.

export function gatewayEntries(state: IngressState, ws?: WatchSet): GatewayEntries {
  const table = state.configEntries;
  return { get: (kind, name) => table.get(kind, name, ws), list: (kind) => table.list(kind, ws) };
}

/** Typical (not proxy or gateway) service names of the catalog, except `consul`, sorted. */
export function typicalServiceNames(state: IngressState, ws?: WatchSet): string[] {
  const names = new Set<string>();
  for (const { service } of state.catalog.allInstances(ws)) if ((service.Kind ?? "") === "" && service.Service !== "consul") names.add(service.Service);
  return [...names].sort();
}

/** The index a gateway answer reports: the catalog's services or the gateway entries, whichever moved last. */
export function gatewayIndex(state: StateStore, ws?: WatchSet): number {
  if (ws) state.catalog.watchTable("services", ws);
  return Math.max(state.catalog.servicesIndex, state.configEntries.kindIndex(INGRESS_GATEWAY), state.configEntries.kindIndex(TERMINATING_GATEWAY), 1);
}

/** Instances of the ingress gateways that expose `service` (Consul's CheckIngressServiceNodes). */
export function ingressGatewayInstances(state: IngressState, service: string, ws?: WatchSet): ServiceInstance[] {
  const entries = gatewayEntries(state, ws);
  let typical: Set<string> | undefined;
  const isTypical = (name: string): boolean => (typical ??= new Set(typicalServiceNames(state, ws))).has(name);
  const out: ServiceInstance[] = [];
  for (const gw of ingressGatewaysFor(service, entries, isTypical)) {
    for (const i of state.catalog.serviceInstances(gw, ws)) if (i.service.Kind === INGRESS_GATEWAY) out.push(i);
  }
  return out;
}
