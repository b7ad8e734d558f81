import type { CheckFields } from "../fsm/command.ts";
import { NODE_MAINTENANCE_CHECK_ID, SERVICE_MAINTENANCE_CHECK_PREFIX } from "../model/catalog.ts";

// Maintenance mode (agent.md §10) is an ordinary critical check that the agent adds: it fails
// the node (every service on it) or one service instance in health answers and DNS.

export const NODE_MAINTENANCE_DEFAULT_REASON =
  "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.";
export const SERVICE_MAINTENANCE_DEFAULT_REASON =
  "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.";

export function serviceMaintenanceCheckId(serviceId: string): string {
  return `${SERVICE_MAINTENANCE_CHECK_PREFIX}${serviceId}`;
}

function maintenanceCheck(checkId: string, name: string, notes: string, serviceId: string, nodeName: string): CheckFields {
  return {
    Node: nodeName,
    CheckID: checkId,
    Name: name,
    Status: "critical",
    Notes: notes,
    Output: "",
    ServiceID: serviceId,
    ServiceName: "",
    ServiceTags: [],
    Type: "maintenance",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
  };
}

export function nodeMaintenanceCheck(nodeName: string, reason: string): CheckFields {
  return maintenanceCheck(NODE_MAINTENANCE_CHECK_ID, "Node Maintenance Mode", reason || NODE_MAINTENANCE_DEFAULT_REASON, "", nodeName);
}

export function serviceMaintenanceCheck(nodeName: string, serviceId: string, reason: string): CheckFields {
  return maintenanceCheck(
    serviceMaintenanceCheckId(serviceId),
    "Service Maintenance Mode",
    reason || SERVICE_MAINTENANCE_DEFAULT_REASON,
    serviceId,
    nodeName,
  );
}
