import type { Authorizer } from "../../acl/authorizer.ts";
import type { CatalogServiceNodeJson } from "../views/catalog-service-node.ts";
import type { HealthCheckJson } from "../views/health-check.ts";
import type { HealthEntryJson } from "../views/health-entry.ts";

// What catalog and health answers a token may see (Consul's aclfilter): nodes by node:read,
// services by service:read, instances and health entries need both, checks need node:read
// and, when they belong to a service, service:read on it.

export const canSeeServiceNode = (authz: Authorizer, v: CatalogServiceNodeJson): boolean =>
  authz.allowed("node:read", v.Node) && authz.allowed("service:read", v.ServiceName);

export const canSeeHealthEntry = (authz: Authorizer, e: HealthEntryJson): boolean =>
  authz.allowed("node:read", e.Node.Node) && authz.allowed("service:read", e.Service.Service);

export const canSeeCheck = (authz: Authorizer, c: HealthCheckJson): boolean =>
  authz.allowed("node:read", c.Node) && (c.ServiceName === "" || authz.allowed("service:read", c.ServiceName));

/** Keeps what `visible` allows; `removed` tells whether filtering took anything away. */
export function keepVisible<T>(authz: Authorizer, items: readonly T[], visible: (authz: Authorizer, item: T) => boolean): { kept: T[]; removed: boolean } {
  const kept = items.filter((i) => visible(authz, i));
  return { kept, removed: kept.length < items.length };
}
