import type { Node, NodeService, ServiceAddress, Weights } from "../../model/catalog.ts";
import { weightsView } from "./node-service.ts";
import { connectView, proxyView } from "./service-proxy.ts";

/** One instance as /catalog/service/:s lists it (catalog.md §2.2; the Go client's CatalogService). */
export interface CatalogServiceNodeJson {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  ServiceKind: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  ServiceAddress: string;
  ServiceTaggedAddresses?: Record<string, ServiceAddress>;
  ServiceWeights: Weights;
  ServiceMeta: Record<string, string> | null;
  ServicePort: number;
  ServiceSocketPath: string;
  ServiceEnableTagOverride: boolean;
  ServiceProxy: Record<string, unknown>;
  ServiceConnect: Record<string, unknown>;
  ServiceLocality: null;
  CreateIndex: number;
  ModifyIndex: number;
}

export function catalogServiceNodeView(node: Node, s: NodeService): CatalogServiceNodeJson {
  const v = {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: s.Kind ?? "",
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags ?? [],
    ServiceAddress: s.Address,
  } as CatalogServiceNodeJson;
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) v.ServiceTaggedAddresses = s.TaggedAddresses;
  v.ServiceWeights = weightsView(s.Weights);
  v.ServiceMeta = s.Meta;
  v.ServicePort = s.Port;
  v.ServiceSocketPath = s.SocketPath ?? "";
  v.ServiceEnableTagOverride = s.EnableTagOverride;
  v.ServiceProxy = proxyView(s.Proxy);
  v.ServiceConnect = connectView(s.Connect);
  v.ServiceLocality = null;
  v.CreateIndex = s.CreateIndex;
  v.ModifyIndex = s.ModifyIndex;
  return v;
}
