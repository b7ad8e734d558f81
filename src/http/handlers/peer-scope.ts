import type { ApiRequest, HttpContext, Reply } from "../context.ts";
import { first, type QueryOptions } from "../query.ts";
import { blockingRead } from "../read.ts";
import { json } from "../reply.ts";

// `?peer=<name>` on catalog and health reads scopes the answer to what was imported from that
// cluster peer. Peering does not exist here, so no peer has imported anything: a peer name
// matches nothing and the answer is the endpoint's empty value (Consul's state store filters
// rows by PeerName the same way). `local` is how Consul names this cluster's own rows, so it
// reads them as if no peer were given.

export type CatalogTable = "nodes" | "services" | "checks";

/** True when the request names a cluster peer (not the local cluster). */
export function namesClusterPeer(req: ApiRequest): boolean {
  const peer = first(req.query, "peer") ?? "";
  return peer !== "" && peer !== "local";
}

/** The empty answer for a peer's rows, blocking on the table a local answer would watch. */
export function clusterPeerRead(ctx: HttpContext, req: ApiRequest, opts: QueryOptions, table: CatalogTable, empty: unknown): Reply | Promise<Reply> {
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      cat.watchTable(table, ws);
      const index = table === "nodes" ? cat.nodesIndex : table === "services" ? cat.servicesIndex : cat.checksIndex;
      return { index, value: empty };
    },
    (value) => json(value),
  );
}
