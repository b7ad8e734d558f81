import type { CheckStatus, HealthCheck } from "../../model/catalog.ts";

/** A health check as the health endpoints render it (health.md §1). */
export interface HealthCheckJson {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

export function healthCheckView(c: HealthCheck): HealthCheckJson {
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
    Type: c.Type,
    Interval: c.Interval,
    Timeout: c.Timeout,
    ExposedPort: c.ExposedPort,
    Definition: c.Definition ?? {},
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}
