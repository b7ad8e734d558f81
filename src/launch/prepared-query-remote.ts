import { otherDatacentersByDistance } from "../agent/wan-rtt.ts";
import type { Membership } from "../agent/membership.ts";
import type { RawApiRequest, RawApiResponse } from "../http/dispatch-request.ts";
import { EXECUTE_REMOTE_PATH } from "../http/handlers/prepared-query.ts";
import type { ExecuteResult, QueryResultNode, RemoteQueryExecutor } from "../server/prepared-query-execute.ts";

// Prepared-query failover across datacenters: the datacenters come from this server's WAN
// pool, nearest first by WAN coordinates; ExecuteRemote is an internal API request
// (EXECUTE_REMOTE_PATH) carried to the other datacenter by whatever forwards requests there
// (`send`: the WAN layer's cross-DC forwarding), answered by a server of that datacenter.

/** Sends a request to a server of `datacenter` and returns its answer; throws when none can be reached. */
export type CrossDcSend = (datacenter: string, request: RawApiRequest) => Promise<RawApiResponse>;

interface ExecuteJson {
  Service?: string;
  Nodes?: QueryResultNode[] | null;
  DNS?: { TTL?: string };
  Datacenter?: string;
  ResultsFilteredByACLs?: boolean;
}

export function remoteQueryExecutor(send: CrossDcSend, datacenters: () => string[]): RemoteQueryExecutor {
  return {
    otherDatacentersByDistance: datacenters,
    async executeRemote(datacenter, request): Promise<ExecuteResult> {
      const body = Buffer.from(JSON.stringify({ Query: request.Query, Limit: request.Limit, Connect: request.Connect }));
      const headers: RawApiRequest["headers"] = { "content-type": "application/json" };
      if (request.Token !== "") headers["x-consul-token"] = request.Token;
      const answer = await send(datacenter, { method: "POST", path: EXECUTE_REMOTE_PATH, rawQuery: "", headers, body, remoteAddress: "127.0.0.1" });
      const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
      if (answer.status !== 200) throw new Error(`Unexpected response code: ${answer.status} (${text})`);
      const r = JSON.parse(text) as ExecuteJson;
      return {
        Service: r.Service ?? request.Query.Service.Service,
        Nodes: r.Nodes ?? [],
        DNS: { TTL: r.DNS?.TTL ?? "" },
        Datacenter: r.Datacenter ?? datacenter,
        Failovers: 0,
        FilteredByAcls: r.ResultsFilteredByACLs === true,
      };
    },
  };
}

/** The executor of a server: datacenters from its WAN pool, requests through `send`. */
export function wanRemoteQueryExecutor(wan: Membership | undefined, localDatacenter: string, send: CrossDcSend): RemoteQueryExecutor {
  return remoteQueryExecutor(send, () => otherDatacentersByDistance(wan, localDatacenter));
}
