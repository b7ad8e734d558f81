import { parseGoDuration } from "./duration.ts";
import { REDACTED_TOKEN, type PreparedQuery } from "./prepared-query.ts";

// Consul's parseQuery / parseService / parseDNS (agent/consul/prepared_query_endpoint.go): what a
// create or update must satisfy before it reaches Raft. Returns the problem without the
// "Invalid prepared query: " prefix the endpoint adds, or undefined.

export function preparedQueryProblem(q: Omit<PreparedQuery, "CreateIndex" | "ModifyIndex">): string | undefined {
  // Anonymous queries need a session or must be templates.
  if (q.Name === "" && q.Template.Type === "" && q.Session === "") return "Must be bound to a session";
  if (q.Token === REDACTED_TOKEN) return `Bad Token '${q.Token}', it looks like a query definition with a redacted token was submitted`;
  const svc = q.Service;
  if (svc.Service === "") return "Must provide a Service name to query";
  if (svc.Failover.NearestN < 0) return `Bad NearestN '${svc.Failover.NearestN}', must be >= 0`;
  const targets = svc.Failover.Targets ?? [];
  if (targets.length > 0 && (svc.Failover.NearestN > 0 || (svc.Failover.Datacenters?.length ?? 0) > 0)) {
    return "Targets cannot be populated with NearestN or Datacenters";
  }
  for (const t of targets) {
    if (t.Peer !== "" && t.Datacenter !== "") return "Targets cannot contain both PeerName and Datacenter";
    if (t.Peer === "" && t.Datacenter === "") return "Targets must specify either PeerName or Datacenter";
  }
  // Peering and sameness groups are not built: refused rather than stored and ignored.
  if (svc.SamenessGroup !== "") return "SamenessGroup is not supported: sameness groups need cluster peering, which is not supported";
  if (svc.Peer !== "") return "Peer is not supported: cluster peering is not supported";
  if (targets.some((t) => t.Peer !== "")) return "Failover targets with a Peer are not supported: cluster peering is not supported";
  const meta = metaProblem(svc.NodeMeta ?? {});
  if (meta) return meta;
  if (q.DNS.TTL !== "") {
    let ms: number;
    try {
      ms = parseGoDuration(q.DNS.TTL);
    } catch (e) {
      return `Bad DNS TTL '${q.DNS.TTL}': ${e instanceof Error ? e.message : String(e)}`;
    }
    if (ms < 0) return `DNS TTL '${Math.round(ms * 1e6)}', must be >=0`;
  }
  return undefined;
}

/** structs.ValidateNodeMetadata with allowConsulPrefix (queries may filter on consul- keys). */
function metaProblem(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > 64) return "Node metadata cannot contain more than 64 key/value pairs";
  for (const [key, value] of entries) {
    let problem: string | undefined;
    if (key === "") problem = "Key cannot be blank";
    else if (!/^[a-zA-Z0-9_-]+$/.test(key)) problem = "Key contains invalid characters";
    else if (key.length > 128) problem = "Key is too long (limit: 128 characters)";
    else if (value.length > 512) problem = "Value is too long (limit: 512 characters)";
    if (problem) return `Couldn't load metadata pair ('${key}', '${value}'): ${problem}`;
  }
  return undefined;
}
