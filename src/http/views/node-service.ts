import type { NodeService, ServiceAddress, Weights } from "../../model/catalog.ts";
import { connectView, proxyView } from "./service-proxy.ts";

/** A node-service (catalog.md §2.3): `Service` of health entries, values of /catalog/node. */
export interface NodeServiceJson {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Meta: Record<string, string> | null;
  Port?: number;
  SocketPath?: string;
  Weights: Weights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  PeerName: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const DEFAULT_WEIGHTS: Weights = Object.freeze({ Passing: 1, Warning: 1 });

export function weightsView(w: Weights | undefined): Weights {
  return w ?? DEFAULT_WEIGHTS;
}

export function nodeServiceView(s: NodeService): NodeServiceJson {
  // Properties are assigned in Consul's field order; omitempty ones only when set.
  const v = {} as NodeServiceJson;
  if (s.Kind) v.Kind = s.Kind;
  v.ID = s.ID;
  v.Service = s.Service;
  v.Tags = s.Tags ?? [];
  v.Address = s.Address;
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) v.TaggedAddresses = s.TaggedAddresses;
  v.Meta = s.Meta;
  if (s.Port) v.Port = s.Port;
  if (s.SocketPath) v.SocketPath = s.SocketPath;
  v.Weights = weightsView(s.Weights);
  v.EnableTagOverride = s.EnableTagOverride;
  v.Proxy = proxyView(s.Proxy);
  v.Connect = connectView(s.Connect);
  v.PeerName = s.PeerName ?? "";
  v.CreateIndex = s.CreateIndex;
  v.ModifyIndex = s.ModifyIndex;
  return v;
}
