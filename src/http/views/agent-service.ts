import { createHash } from "node:crypto";
import type { ServiceFields } from "../../fsm/command.ts";
import type { ServiceAddress, Weights } from "../../model/catalog.ts";

// The agent's view of a local service (agent.md §7.1, Consul's buildAgentService): values of
// /v1/agent/services, /v1/agent/service/:id and the `Service` of /v1/agent/health/service/*.

export interface AgentServiceJson {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  SocketPath?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Weights: Weights;
  EnableTagOverride: boolean;
  ContentHash?: string;
  Proxy?: Record<string, unknown>;
  Connect?: Record<string, unknown>;
  Datacenter: string;
}

const PROXY_KINDS = new Set(["connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway"]);

/** Properties in Consul's field order; `contentHash` is placed where api.AgentService has it. */
export function agentServiceView(s: ServiceFields, datacenter: string, contentHash?: string): AgentServiceJson {
  const v = {} as AgentServiceJson;
  if (s.Kind) v.Kind = s.Kind;
  v.ID = s.ID;
  v.Service = s.Service;
  v.Tags = s.Tags ?? [];
  v.Meta = s.Meta ?? {};
  v.Port = s.Port;
  v.Address = s.Address;
  if (s.SocketPath) v.SocketPath = s.SocketPath;
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) v.TaggedAddresses = s.TaggedAddresses;
  v.Weights = { Passing: s.Weights.Passing > 0 ? s.Weights.Passing : 1, Warning: s.Weights.Warning };
  v.EnableTagOverride = s.EnableTagOverride;
  if (contentHash !== undefined) v.ContentHash = contentHash;
  if (s.Kind && PROXY_KINDS.has(s.Kind)) v.Proxy = s.Proxy;
  if (s.Connect.Native === true) v.Connect = { Native: true };
  v.Datacenter = datacenter;
  return v;
}

/** An opaque 16-hex-digit hash of the view (Consul prints a uint64 hashstructure in hex). */
export function serviceContentHash(view: AgentServiceJson): string {
  const { ContentHash: _ignored, ...rest } = view;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}
