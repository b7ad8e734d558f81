// Health as Consul's UI shows it (spec/ui.md §4): critical > warning > passing; nothing to
// judge is "empty".

export type Health = "passing" | "warning" | "critical" | "empty";

export interface CheckLike {
  Status: string;
  ServiceID: string;
}

export const HEALTH_ORDER: Record<Health, number> = { critical: 0, warning: 1, passing: 2, empty: 3 };

export function healthOfCounts(c: { ChecksPassing: number; ChecksWarning: number; ChecksCritical: number }): Health {
  if (c.ChecksCritical > 0) return "critical";
  if (c.ChecksWarning > 0) return "warning";
  if (c.ChecksPassing > 0) return "passing";
  return "empty";
}

export function healthOfChecks(checks: readonly CheckLike[]): Health {
  let worst: Health = "empty";
  for (const c of checks) {
    const s: Health = c.Status === "critical" ? "critical" : c.Status === "warning" ? "warning" : "passing";
    if (HEALTH_ORDER[s] < HEALTH_ORDER[worst]) worst = s;
  }
  return worst;
}

/** A node's health: its node-level checks only (ServiceID ""), as the current Consul UI. */
export function nodeHealth(checks: readonly CheckLike[]): Health {
  return healthOfChecks(checks.filter((c) => c.ServiceID === ""));
}
