import { NODE_MAINTENANCE_CHECK_ID, SERVICE_MAINTENANCE_CHECK_PREFIX, type HealthCheck } from "../../model/catalog.ts";

// The one-word health of a set of checks (health.md §3, the Go client's
// HealthChecks.AggregatedStatus): Prometheus' __meta_consul_health and /agent/health/service.

export const AGGREGATED_STATUSES = ["passing", "warning", "critical", "maintenance"] as const;
export type AggregatedStatus = (typeof AGGREGATED_STATUSES)[number];

export function isMaintenanceCheck(checkId: string): boolean {
  return checkId === NODE_MAINTENANCE_CHECK_ID || checkId.startsWith(SERVICE_MAINTENANCE_CHECK_PREFIX);
}

/** Maintenance beats critical beats warning; no checks at all is passing. */
export function aggregatedStatus(checks: readonly Pick<HealthCheck, "CheckID" | "Status">[]): AggregatedStatus {
  let critical = false;
  let warning = false;
  for (const c of checks) {
    if (isMaintenanceCheck(c.CheckID)) return "maintenance";
    if (c.Status === "critical") critical = true;
    else if (c.Status === "warning") warning = true;
  }
  return critical ? "critical" : warning ? "warning" : "passing";
}

/** `?passing` keeps an instance only when every one of its checks is exactly passing. */
export function allPassing(checks: readonly Pick<HealthCheck, "Status">[]): boolean {
  for (const c of checks) if (c.Status !== "passing") return false;
  return true;
}
