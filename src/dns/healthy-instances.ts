import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import type { ServiceInstance, CatalogTables } from "../state/catalog-tables.ts";

// Which instances DNS may hand out (spec/dns.md section 5): the same rows as
// /v1/health/service, minus every instance with a critical check (node-level checks such as
// serfHealth and maintenance included) and, with only_passing, every warning one.

export interface HealthyInstance {
  node: Node;
  service: NodeService;
  /** Aggregated status of the instance's checks, which picks the SRV weight. */
  status: "passing" | "warning";
}

export function aggregateStatus(checks: readonly HealthCheck[]): HealthCheck["Status"] {
  let status: HealthCheck["Status"] = "passing";
  for (const c of checks) {
    if (c.Status === "critical") return "critical";
    if (c.Status === "warning") status = "warning";
  }
  return status;
}

export function filterHealthy(catalog: CatalogTables, instances: readonly ServiceInstance[], onlyPassing: boolean): HealthyInstance[] {
  const out: HealthyInstance[] = [];
  for (const { node, service } of instances) {
    const status = aggregateStatus(catalog.instanceChecks(node.Node, service.ID));
    if (status === "critical" || (status === "warning" && onlyPassing)) continue;
    out.push({ node, service, status });
  }
  return out;
}

function hasTag(service: NodeService, tag: string): boolean {
  for (const t of service.Tags) if (t.toLowerCase() === tag) return true;
  return false;
}

/** Instances of a service name, with an optional (lower-case) tag filter. */
export function serviceInstances(catalog: CatalogTables, name: string, tag: string | undefined): ServiceInstance[] {
  const all = catalog.serviceInstances(name);
  return tag === undefined ? all : all.filter((i) => hasTag(i.service, tag));
}

/** Sidecar proxies whose destination is `name`, plus Connect-native instances of `name`. */
export function connectInstances(catalog: CatalogTables, name: string): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const inst of catalog.allInstances()) {
    const s = inst.service;
    if (s.Kind === "connect-proxy") {
      const dest = s.Proxy["DestinationServiceName"];
      if (typeof dest === "string" && dest.toLowerCase() === name) out.push(inst);
    } else if (s.Service.toLowerCase() === name && s.Connect["Native"] === true) {
      out.push(inst);
    }
  }
  return out;
}

/** Fisher-Yates, in place, driven by the injected Rng so tests can pin the order. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}
