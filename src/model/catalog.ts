// Domain rows, PascalCase exactly as Consul's JSON so stored rows serialize without mapping.

export type StringMap = Record<string, string>;

export interface Weights {
  Passing: number;
  Warning: number;
}

export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: StringMap | null;
  Meta: StringMap | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A service instance on a node: the catalog row and the `Service` of health entries. */
export interface NodeService {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Meta: StringMap | null;
  Port: number;
  SocketPath?: string;
  Weights: Weights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  PeerName?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export const CHECK_STATUSES = ["passing", "warning", "critical"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export function isCheckStatus(s: string): s is CheckStatus {
  return (CHECK_STATUSES as readonly string[]).includes(s);
}

export interface HealthCheck {
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

export interface Coordinate {
  Vec: number[];
  Error: number;
  Adjustment: number;
  Height: number;
}

export interface NodeCoordinate {
  Node: string;
  Segment: string;
  Coord: Coordinate;
}

export const SERF_HEALTH_CHECK_ID = "serfHealth";
export const NODE_MAINTENANCE_CHECK_ID = "_node_maintenance";
export const SERVICE_MAINTENANCE_CHECK_PREFIX = "_service_maintenance:";
