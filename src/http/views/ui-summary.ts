import type { HealthCheck, Node, NodeService } from "../../model/catalog.ts";
import { healthCheckView, type HealthCheckJson } from "./health-check.ts";
import { nodeServiceView, type NodeServiceJson } from "./node-service.ts";

// The UI's summary shapes (spec/ui.md §3.2, Consul's agent/ui_endpoint.go): one row per
// service name with its instance and check counts, and one NodeInfo per node.

/** `ServiceListingSummary` of `/v1/internal/ui/services`, in Consul's field order. */
export interface ServiceListingSummaryJson {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[];
  ExternalSources: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  GatewayConfig: Record<string, never>;
  TransparentProxy: boolean;
  ConnectNative: boolean;
  ConnectedWithProxy: boolean;
  ConnectedWithGateway: boolean;
}

/** `NodeInfo` of `/v1/internal/ui/nodes` and `/v1/internal/ui/node/:node`. */
export interface NodeInfoJson {
  ID: string;
  Node: string;
  Address: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  Services: NodeServiceJson[];
  Checks: HealthCheckJson[];
}

/** One entry of a service dump: an instance with the checks that apply to it (its own and its node's). */
export interface DumpEntry {
  node: Node;
  service: NodeService;
  checks: readonly HealthCheck[];
}

interface Accumulator {
  row: ServiceListingSummaryJson;
  nodes: Set<string>;
  tags: Set<string>;
  sources: Set<string>;
  /** Each check counted once per (node, CheckID), as Consul keys them. */
  checks: Map<string, HealthCheck>;
  transparentSeen: boolean;
}

function accumulatorFor(byName: Map<string, Accumulator>, name: string): Accumulator {
  let acc = byName.get(name);
  if (!acc) {
    acc = {
      row: {
        Name: name,
        Datacenter: "",
        Tags: null,
        Nodes: [],
        ExternalSources: null,
        InstanceCount: 0,
        ChecksPassing: 0,
        ChecksWarning: 0,
        ChecksCritical: 0,
        GatewayConfig: {},
        TransparentProxy: false,
        ConnectNative: false,
        ConnectedWithProxy: false,
        ConnectedWithGateway: false,
      },
      nodes: new Set(),
      tags: new Set(),
      sources: new Set(),
      checks: new Map(),
      transparentSeen: false,
    };
    byName.set(name, acc);
  }
  return acc;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Summarises a service dump: a proxy's checks also count for the service it fronts, which is
 * then `ConnectedWithProxy`; proxies keep rows of their own (Kind "connect-proxy").
 */
export function serviceSummaries(entries: readonly DumpEntry[]): ServiceListingSummaryJson[] {
  const byName = new Map<string, Accumulator>();
  for (const { node, service, checks } of entries) {
    const acc = accumulatorFor(byName, service.Service);
    const row = acc.row;
    acc.nodes.add(node.Node);
    if (service.Kind) row.Kind = service.Kind;
    else delete row.Kind;
    row.Datacenter = node.Datacenter;
    row.InstanceCount++;
    if (service.Connect?.Native === true) row.ConnectNative = true;
    for (const t of service.Tags ?? []) acc.tags.add(t);
    const source = service.Meta?.["external-source"];
    if (source) acc.sources.add(source);
    for (const c of checks) acc.checks.set(`${node.Node}/${c.CheckID}`, c);

    if (service.Kind === "connect-proxy") {
      const destinationName = typeof service.Proxy?.DestinationServiceName === "string" ? service.Proxy.DestinationServiceName : "";
      const destination = accumulatorFor(byName, destinationName);
      destination.row.ConnectedWithProxy = true;
      for (const c of checks) destination.checks.set(`${node.Node}/${c.CheckID}`, c);
      const transparent = service.Proxy?.Mode === "transparent";
      destination.row.TransparentProxy = transparent && (!destination.transparentSeen || destination.row.TransparentProxy);
      destination.transparentSeen = true;
    }
  }
  const rows: ServiceListingSummaryJson[] = [];
  for (const acc of byName.values()) {
    const row = acc.row;
    row.Nodes = [...acc.nodes].sort(byString);
    row.Tags = acc.tags.size > 0 ? [...acc.tags].sort(byString) : null;
    row.ExternalSources = acc.sources.size > 0 ? [...acc.sources] : null;
    for (const c of acc.checks.values()) {
      if (c.Status === "passing") row.ChecksPassing++;
      else if (c.Status === "warning") row.ChecksWarning++;
      else if (c.Status === "critical") row.ChecksCritical++;
    }
    rows.push(row);
  }
  return rows.sort((a, b) => byString(a.Name, b.Name));
}

export function nodeInfoView(node: Node, services: readonly NodeService[], checks: readonly HealthCheck[]): NodeInfoJson {
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    TaggedAddresses: node.TaggedAddresses,
    Meta: node.Meta,
    Services: services.map(nodeServiceView),
    Checks: checks.map(healthCheckView),
  };
}
