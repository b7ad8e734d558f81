import { NODE_MAINTENANCE_CHECK_ID, SERVICE_MAINTENANCE_CHECK_PREFIX, type HealthCheck } from "./catalog.ts";

// What a set of checks says about an instance, defined once for every reader: the one-word
// aggregate (health.md §3, the Go client's HealthChecks.AggregatedStatus) for
// /agent/health/service and Prometheus, `?passing` for /health/service, and DNS visibility.

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

/**
 * DNS hands out an instance unless a check is critical (maintenance checks are critical),
 * and with only_passing also drops warning ones (dns.md §5). Returns the status that picks
 * the SRV weight, or undefined when the instance is hidden.
 */
export function dnsVisibleStatus(checks: readonly Pick<HealthCheck, "Status">[], onlyPassing: boolean): "passing" | "warning" | undefined {
  let status: "passing" | "warning" = "passing";
  for (const c of checks) {
    if (c.Status === "critical") return undefined;
    if (c.Status === "warning") status = "warning";
  }
  return status === "warning" && onlyPassing ? undefined : status;
}
