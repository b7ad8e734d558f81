import type { Authorizer } from "../acl/authorizer.ts";
import { estimatedRtt } from "../gossip/vivaldi.ts";
import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import type { PreparedQuery, QueryDnsOptions } from "../model/prepared-query.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { ServiceInstance } from "../state/catalog-tables.ts";
import type { StateStore } from "../state/store.ts";

// Running a prepared query (Consul's PreparedQuery.Execute / ExecuteRemote and queryFailover):
// gather the service's instances, drop unhealthy ones (ignoring IgnoreCheckIDs; warning too
// with OnlyPassing), then node meta, service meta and tags (`!tag` forbids); ACL-filter with the
// query's own token, else the caller's; shuffle; sort by RTT from the source node; put the source
// node first; cut to `limit`. Only when nothing is left: fail over to other datacenters, nearest
// first by WAN RTT (NearestN), then the Datacenters list (or Targets), through the cross-DC
// executor. Used by the HTTP endpoint and DNS `.query` names alike.

/** One instance as an execute answer lists it (a /v1/health/service entry). */
export interface QueryResultNode {
  Node: Node;
  Service: NodeService;
  Checks: readonly HealthCheck[];
}

export interface ExecuteResult {
  Service: string;
  Nodes: QueryResultNode[];
  DNS: QueryDnsOptions;
  Datacenter: string;
  Failovers: number;
  /** Some instances were removed by ACL filtering. */
  FilteredByAcls: boolean;
}

/** What a remote datacenter runs (Consul's PreparedQueryExecuteRemoteRequest): the rendered query, no failover. */
export interface ExecuteRemoteRequest {
  Query: PreparedQuery;
  Limit: number;
  Connect: boolean;
  /** The caller's token (the query's own Token travels inside Query). */
  Token: string;
}

/**
 * The cross-datacenter seam prepared-query failover goes through. The WAN layer implements it
 * (datacenters by distance from the WAN pool, ExecuteRemote forwarded to a server there).
 */
export interface RemoteQueryExecutor {
  /** Every other known datacenter, nearest first by estimated WAN RTT. */
  otherDatacentersByDistance(): string[];
  /** Runs the rendered query in `datacenter` (no failover there); throws when it cannot. */
  executeRemote(datacenter: string, request: ExecuteRemoteRequest): Promise<ExecuteResult>;
}

export class QueryNotFoundError extends Error {
  constructor() {
    super("Query not found");
    this.name = "QueryNotFoundError";
  }
}

export interface ExecuteDeps {
  state: StateStore;
  datacenter: string;
  rng: Rng;
  logger: Logger;
  /** A token's authorizer; undefined while ACLs are off (nothing is filtered). */
  authorizerFor?: (token: string) => Authorizer;
  remote?: RemoteQueryExecutor;
}

export interface ExecuteArgs {
  /** The (rendered) query. */
  query: PreparedQuery;
  /** The caller's token (used when the query has none). */
  token: string;
  limit: number;
  connect: boolean;
  /** `?near=` (or the query's Near): a node name, `_agent` or `_ip`; "" for none. */
  near: string;
  /** The node of the agent that took the request (for `_agent`). */
  agentNode: string;
  /** The client's IP (for `_ip`); "" when unknown. */
  sourceIp: string;
}

/** Instances of the query's service that pass its health, meta and tag filters (Consul's execute()). */
export function matchingInstances(state: StateStore, query: PreparedQuery, forceConnect: boolean): QueryResultNode[] {
  const cat = state.catalog;
  const svc = query.Service;
  const candidates: ServiceInstance[] = svc.Connect || forceConnect ? cat.connectInstances(svc.Service) : cat.serviceInstances(svc.Service);
  const ignore = new Set(svc.IgnoreCheckIDs ?? []);
  const nodeMeta = Object.entries(svc.NodeMeta ?? {});
  const serviceMeta = Object.entries(svc.ServiceMeta ?? {});
  const must: string[] = [];
  const not: string[] = [];
  for (const t of svc.Tags ?? []) {
    const lower = t.toLowerCase();
    if (lower.startsWith("!")) not.push(lower.slice(1));
    else must.push(lower);
  }
  const out: QueryResultNode[] = [];
  for (const { node, service } of candidates) {
    const checks = cat.instanceChecks(node.Node, service.ID);
    if (!healthy(checks, svc.OnlyPassing, ignore)) continue;
    if (!metaMatches(node.Meta, nodeMeta) || !metaMatches(service.Meta, serviceMeta)) continue;
    if (must.length > 0 || not.length > 0) {
      const tags = new Set(service.Tags.map((t) => t.toLowerCase()));
      if (must.some((t) => !tags.has(t)) || not.some((t) => tags.has(t))) continue;
    }
    out.push({ Node: node, Service: service, Checks: checks });
  }
  return out;
}

/** CheckServiceNodes.FilterIgnore: critical always fails, warning fails with onlyPassing. */
function healthy(checks: readonly HealthCheck[], onlyPassing: boolean, ignore: ReadonlySet<string>): boolean {
  for (const c of checks) {
    if (ignore.has(c.CheckID)) continue;
    if (c.Status === "critical") return false;
    if (onlyPassing && c.Status === "warning") return false;
  }
  return true;
}

function metaMatches(meta: Record<string, string> | null | undefined, wanted: readonly [string, string][]): boolean {
  for (const [k, v] of wanted) if (meta?.[k] !== v) return false;
  return true;
}

/** Drops instances the token may not see (node:read and service:read). */
export function aclFiltered(nodes: QueryResultNode[], authz: Authorizer | undefined): { nodes: QueryResultNode[]; removed: boolean } {
  if (!authz) return { nodes, removed: false };
  const kept = nodes.filter((n) => authz.allowed("node:read", n.Node.Node) && authz.allowed("service:read", n.Service.Service));
  return { nodes: kept, removed: kept.length < nodes.length };
}

export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.float() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** Stable sort by estimated RTT from `source` (no coordinate: last); untouched when the source has none. */
export function sortByDistance(state: StateStore, nodes: QueryResultNode[], source: string): QueryResultNode[] {
  const from = state.coordinates.get(source);
  if (!from || nodes.length < 2) return nodes;
  const keyed = nodes.map((n, i) => {
    const to = state.coordinates.get(n.Node.Node);
    return { n, i, d: to && to.Coord.Vec.length === from.Coord.Vec.length ? estimatedRtt(from.Coord, to.Coord) : Number.POSITIVE_INFINITY };
  });
  keyed.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.i - b.i));
  return keyed.map((k) => k.n);
}

/** Which node `near` names: `_agent` the asking agent, `_ip` the node whose address is the client's IP. */
export function resolveSourceNode(state: StateStore, near: string, agentNode: string, sourceIp: string, logger: Logger): string {
  if (near === "_agent") return agentNode;
  if (near !== "_ip") return near;
  if (sourceIp === "") {
    logger.warn("Prepared Query using near=_ip requires the source IP to be set but none was provided. No distance sorting will be done.");
    return "";
  }
  for (const n of state.catalog.listNodes()) if (n.Address === sourceIp) return n.Node;
  return "";
}

/** Execute in this datacenter, then fail over when nothing is left (Consul's PreparedQuery.Execute). */
export async function executePreparedQuery(deps: ExecuteDeps, args: ExecuteArgs): Promise<ExecuteResult> {
  const { state, rng } = deps;
  const query = args.query;
  const token = query.Token !== "" ? query.Token : args.token;
  const filtered = aclFiltered(matchingInstances(state, query, args.connect), deps.authorizerFor?.(token));
  let nodes = shuffle(filtered.nodes, rng);
  const near = args.near !== "" ? args.near : query.Service.Near;
  const source = near === "" ? "" : resolveSourceNode(state, near, args.agentNode, args.sourceIp, deps.logger);
  if (source !== "") {
    nodes = sortByDistance(state, nodes, source);
    // The source node itself first, when it is among the first ten.
    const lower = source.toLowerCase();
    for (let i = 0; i < nodes.length && i < 10; i++) {
      if (nodes[i].Node.Node.toLowerCase() !== lower) continue;
      const tmp = nodes[0];
      nodes[0] = nodes[i];
      nodes[i] = tmp;
      break;
    }
  }
  if (args.limit > 0 && nodes.length > args.limit) nodes = nodes.slice(0, args.limit);
  const result: ExecuteResult = { Service: query.Service.Service, Nodes: nodes, DNS: { ...query.DNS }, Datacenter: deps.datacenter, Failovers: 0, FilteredByAcls: filtered.removed };
  if (nodes.length > 0) return result;
  return failover(deps, query, args, result);
}

/**
 * ExecuteRemote's local part, for a query another datacenter sent: filter, ACL-filter, shuffle
 * (no RTT sort: the asker is elsewhere), limit. Never fails over again.
 */
export function executeForRemote(deps: ExecuteDeps, request: ExecuteRemoteRequest): ExecuteResult {
  const query = request.Query;
  const token = query.Token !== "" ? query.Token : request.Token;
  const filtered = aclFiltered(matchingInstances(deps.state, query, request.Connect), deps.authorizerFor?.(token));
  let nodes = shuffle(filtered.nodes, deps.rng);
  if (request.Limit > 0 && nodes.length > request.Limit) nodes = nodes.slice(0, request.Limit);
  return { Service: query.Service.Service, Nodes: nodes, DNS: { ...query.DNS }, Datacenter: deps.datacenter, Failovers: 0, FilteredByAcls: filtered.removed };
}

/** The datacenters failover tries, in order (Consul's queryFailover target list). */
export function failoverTargets(query: PreparedQuery, nearest: readonly string[]): { datacenter?: string; peer?: string }[] {
  const known = new Set(nearest);
  const chosen = new Set<string>();
  const targets: { datacenter?: string; peer?: string }[] = [];
  const f = query.Service.Failover;
  for (const dc of nearest.slice(0, Math.max(0, f.NearestN))) {
    targets.push({ datacenter: dc });
    chosen.add(dc);
  }
  const listed = f.Datacenters && f.Datacenters.length > 0 ? f.Datacenters.map((dc) => ({ Datacenter: dc, Peer: "" })) : (f.Targets ?? []);
  for (const t of listed) {
    if (t.Datacenter !== "") {
      // Unknown datacenters are skipped without counting; none is tried twice.
      if (!known.has(t.Datacenter) || chosen.has(t.Datacenter)) continue;
      targets.push({ datacenter: t.Datacenter });
      chosen.add(t.Datacenter);
    }
    if (t.Peer !== "") targets.push({ peer: t.Peer });
  }
  return targets;
}

async function failover(deps: ExecuteDeps, query: PreparedQuery, args: ExecuteArgs, local: ExecuteResult): Promise<ExecuteResult> {
  const remote = deps.remote;
  const f = query.Service.Failover;
  const wantsFailover = f.NearestN > 0 || (f.Datacenters?.length ?? 0) > 0 || (f.Targets?.length ?? 0) > 0;
  if (!remote || !wantsFailover) return local;
  const targets = failoverTargets(query, remote.otherDatacentersByDistance());
  const log = deps.logger;
  let result = local;
  let failovers = 0;
  for (const t of targets) {
    failovers++;
    if (t.datacenter === undefined) {
      // Cluster peering is not built: a peer target cannot answer.
      log.warn("Failed querying for service in peer", { service: query.Service.Service, peer: t.peer ?? "", error: "cluster peering is not supported" });
      continue;
    }
    try {
      result = await remote.executeRemote(t.datacenter, { Query: query, Limit: args.limit, Connect: args.connect, Token: args.token });
    } catch (e) {
      log.warn("Failed querying for service in datacenter", { service: query.Service.Service, datacenter: t.datacenter, error: e instanceof Error ? e.message : String(e) });
      continue;
    }
    if (result.Nodes.length > 0) break;
  }
  return { ...result, Nodes: result.Nodes.length > 0 ? result.Nodes : [], Failovers: failovers };
}
