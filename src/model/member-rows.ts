import { SERF_HEALTH_CHECK_ID, type HealthCheck, type NodeService } from "./catalog.ts";

// The catalog rows that stand for a gossip member, written by an agent for itself at start
// and by the leader for every member it reconciles: the node-level serfHealth check and, for
// servers, the `consul` service (health.md "Built-in checks", catalog.md §7).

export const SERF_CHECK_NAME = "Serf Health Status";
export const SERF_CHECK_ALIVE_OUTPUT = "Agent alive and reachable";
export const SERF_CHECK_FAILED_OUTPUT = "Agent not live or unreachable";

export function serfHealthCheck(node: string, alive: boolean): Omit<HealthCheck, "CreateIndex" | "ModifyIndex"> {
  return {
    Node: node,
    CheckID: SERF_HEALTH_CHECK_ID,
    Name: SERF_CHECK_NAME,
    Status: alive ? "passing" : "critical",
    Notes: "",
    Output: alive ? SERF_CHECK_ALIVE_OUTPUT : SERF_CHECK_FAILED_OUTPUT,
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
  };
}

export function consulServiceRow(port: number, versions: { raft: string; consul: string }): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  return {
    ID: "consul",
    Service: "consul",
    Tags: [],
    Address: "",
    Meta: { raft_version: versions.raft, serf_protocol_current: "2", serf_protocol_max: "5", serf_protocol_min: "1", version: versions.consul },
    Port: port,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: { MeshGateway: {}, Expose: {} },
    Connect: {},
    PeerName: "",
  };
}
