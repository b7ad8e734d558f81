import type { CheckFields } from "../../fsm/command.ts";
import { healthCheckView, type HealthCheckJson } from "./health-check.ts";

// Local checks as the agent endpoints render them (agent.md §7.7, §8.1).

/** Values of /v1/agent/checks: the full health-check object, indexes 0 (not a catalog row). */
export function agentCheckView(c: CheckFields): HealthCheckJson {
  return healthCheckView({ ...c, CreateIndex: 0, ModifyIndex: 0 });
}

/**
 * The short api.HealthCheck form of /v1/agent/health/service/*: Consul copies only the
 * identifying and status fields, so Type, Definition and indexes are zero.
 */
export function agentHealthCheckView(c: CheckFields): Record<string, unknown> {
  return {
    Node: c.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags ?? [],
    Type: "",
    ExposedPort: 0,
    Definition: {},
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}
