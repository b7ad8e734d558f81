// The scale suite's catalog shape and the messages between the runner and its client worker.
// Every node hosts the same services (svc-0 … svc-N), so each service has one instance per
// node: with 10,000 nodes, health/service/svc-0 answers 10,000 entries.

export interface ScaleRegisterJob {
  kind: "register";
  base: string;
  nodes: number;
  servicesPerNode: number;
  concurrency: number;
}

export interface ScaleRegisterDone {
  kind: "registered";
  instances: number;
  seconds: number;
  failures: number;
  firstFailure: string;
}

export interface ScaleLoopJob {
  kind: "loop";
  base: string;
  /** Read in turn by every client, each starting at its own offset. */
  paths: string[];
  /** Concurrent clients, each one request at a time over its own keep-alive connection. */
  clients: number;
  seconds: number;
}

export interface ScaleLoopDone {
  kind: "looped";
  requests: number;
  bytes: number;
  failures: number;
  firstFailure: string;
  latenciesMs: number[];
}

export const nodeName = (node: number): string => `node-${node}`;
export const serviceName = (service: number): string => `svc-${service}`;

/** One PUT /v1/catalog/register body: a node, one service instance on it and its passing check. */
export function instanceRegistration(node: number, service: number, metaVersion = "1"): object {
  const svc = serviceName(service);
  return {
    Node: nodeName(node),
    Address: `10.${(node >> 16) & 255}.${(node >> 8) & 255}.${node & 255}`,
    NodeMeta: { rack: `r${node % 40}` },
    Service: { ID: svc, Service: svc, Tags: ["v1", `zone-${node % 4}`], Port: 20_000 + service, Meta: { version: metaVersion } },
    Check: { CheckID: `service:${svc}`, Name: `${svc} health`, Status: "passing", ServiceID: svc },
  };
}
