import type { Node, NodeService } from "../model/catalog.ts";
import { dnsVisibleStatus } from "../model/health-status.ts";
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

export function filterHealthy(catalog: Pick<CatalogTables, "instanceChecks">, instances: readonly ServiceInstance[], onlyPassing: boolean): HealthyInstance[] {
  const out: HealthyInstance[] = [];
  for (const { node, service } of instances) {
    const status = dnsVisibleStatus(catalog.instanceChecks(node.Node, service.ID), onlyPassing);
    if (status === undefined) continue;
    out.push({ node, service, status });
  }
  return out;
}

function hasTag(service: NodeService, tag: string): boolean {
  for (const t of service.Tags) if (t.toLowerCase() === tag) return true;
  return false;
}

/** Instances of a service name, with an optional (lower-case) tag filter. */
export function serviceInstances(catalog: Pick<CatalogTables, "serviceInstances">, name: string, tag: string | undefined): ServiceInstance[] {
  const all = catalog.serviceInstances(name);
  return tag === undefined ? all : all.filter((i) => hasTag(i.service, tag));
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
