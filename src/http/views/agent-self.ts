import type { Coordinate } from "../../model/catalog.ts";
import type { MemberView } from "./member.ts";

/** The stable part of /v1/agent/self: exactly these keys (clients type-assert NodeName and Datacenter). */
export interface AgentSelfConfigView {
  Datacenter: string;
  PrimaryDatacenter: string;
  NodeName: string;
  NodeID: string;
  Revision: string;
  Server: boolean;
  Version: string;
  BuildDate: string;
}

export interface XdsView {
  SupportedProxies: Record<string, string[]>;
  Port: number;
  Ports: { Plaintext: number; TLS: number };
}

export interface AgentSelfView {
  Config: AgentSelfConfigView;
  DebugConfig: Record<string, unknown>;
  Coord: Coordinate | null;
  Member: MemberView;
  Stats: Record<string, Record<string, string>>;
  Meta: Record<string, string>;
  xDS?: XdsView;
}

/** Builds the body in Consul's field order; `xDS` is left out when no xDS server runs. */
export function agentSelfView(parts: AgentSelfView): AgentSelfView {
  const view: AgentSelfView = {
    Config: parts.Config,
    DebugConfig: parts.DebugConfig,
    Coord: parts.Coord,
    Member: parts.Member,
    Stats: parts.Stats,
    Meta: parts.Meta,
  };
  if (parts.xDS) view.xDS = parts.xDS;
  return view;
}
