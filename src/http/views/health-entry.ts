import type { HealthCheck, Node, NodeService } from "../../model/catalog.ts";
import { healthCheckView, type HealthCheckJson } from "./health-check.ts";
import { nodeView, type NodeJson } from "./node.ts";
import { nodeServiceView, type NodeServiceJson } from "./node-service.ts";

/** One service instance joined with its node and checks (health.md §2). */
export interface HealthEntryJson {
  Node: NodeJson;
  Service: NodeServiceJson;
  Checks: HealthCheckJson[];
}

/** `checks` are the node-level checks plus this instance's checks, already ordered. */
export function healthEntryView(node: Node, service: NodeService, checks: readonly HealthCheck[]): HealthEntryJson {
  return { Node: nodeView(node), Service: nodeServiceView(service), Checks: checks.map(healthCheckView) };
}
