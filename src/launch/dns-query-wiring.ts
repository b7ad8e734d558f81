import type { QueryExecution, ResolverContext } from "../dns/resolver.ts";
import type { ApiDispatcher } from "../http/dispatch-request.ts";
import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";

// DNS `.query` names run the prepared query the way Consul's DNS server does (a
// PreparedQuery.Execute RPC to the servers): here through the agent's own dispatcher, so a
// client agent forwards it to a server, a follower to the leader, `.query.<dc>` goes out as
// `?dc=`, and failover happens where the query lives.

interface ExecuteJson {
  Service?: string;
  Nodes?: { Node: Node; Service: NodeService; Checks: HealthCheck[] | null }[];
  DNS?: { TTL?: string };
  Datacenter?: string;
}

export function dnsQueryExecutor(dispatcher: ApiDispatcher, dnsToken: () => string): NonNullable<ResolverContext["executeQuery"]> {
  return async (name, datacenter, sourceIp): Promise<QueryExecution> => {
    const token = dnsToken();
    const answer = await dispatcher.dispatch({
      method: "GET",
      path: `/v1/query/${encodeURIComponent(name)}/execute`,
      rawQuery: datacenter ? `dc=${encodeURIComponent(datacenter)}` : "",
      headers: token ? { "x-consul-token": token } : {},
      body: undefined,
      // Consul's DNS server passes the asker as the query's source (near=_ip sorts from it)
      // and itself as the agent (near=_agent); the dispatcher stamps this agent's node.
      remoteAddress: sourceIp,
    });
    const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
    if (answer.status === 404) return { status: "not-found" };
    if (answer.status !== 200) return { status: "error", message: text };
    const r = JSON.parse(text) as ExecuteJson;
    return {
      status: "ok",
      service: r.Service ?? name,
      ttl: r.DNS?.TTL ?? "",
      datacenter: r.Datacenter ?? "",
      nodes: (r.Nodes ?? []).map((n) => ({ node: n.Node, service: n.Service, checks: n.Checks ?? [] })),
    };
  };
}
