import type { CheckFields } from "../../fsm/command.ts";
import { healthCheckView, type HealthCheckJson } from "./health-check.ts";

// Local checks as the agent endpoints render them (agent.md §7.7, §8.1).

/** Values of /v1/agent/checks: the full health-check object, indexes 0 (not a catalog row). */
export function agentCheckView(c: CheckFields): HealthCheckJson {
  return healthCheckView({ ...c, CreateIndex: 0, ModifyIndex: 0 });
}

/** The Go client's api.HealthCheck: the catalog row's fields without Interval and Timeout. */
export type AgentHealthCheckJson = Omit<HealthCheckJson, "Interval" | "Timeout">;

/**
 * The short api.HealthCheck form of /v1/agent/health/service/*: Consul copies only the
 * identifying and status fields, so Type, Definition and indexes are zero.
 */
export function agentHealthCheckView(c: CheckFields): AgentHealthCheckJson {
  const full = healthCheckView({ ...c, Type: "", ExposedPort: 0, Definition: {}, CreateIndex: 0, ModifyIndex: 0 });
  // Rest keeps the remaining keys in the full view's (Consul's) order.
  const { Interval: _interval, Timeout: _timeout, ...short } = full;
  return short;
}
