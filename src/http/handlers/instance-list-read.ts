import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { ApiRequest, HttpContext, Reply } from "../context.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead } from "../read.ts";
import { encodedBody, memoFor, type EncodedMemo } from "../views/encoded-memo.ts";
import { wantsPretty } from "./catalog-query.ts";
import type { Authorizer } from "../../acl/authorizer.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";
import { json } from "../reply.ts";
import { keepVisible } from "./acl-catalog-filter.ts";

// The reads that list one service's instances (/catalog/service, /catalog/connect,
// /health/service, /health/connect) are the API's hot path: watchers and scrapers repeat the
// same query at the same index. Each answer is memoised with its encoded body per (query,
// index, table generation, coordinates), so a repeat costs a lookup and a socket write.

/** One request for a service's instances, with the parameters every such endpoint shares. */
export interface InstanceListRequest {
  ctx: HttpContext;
  req: ApiRequest;
  opts: QueryOptions;
  name: string;
  /** Lower-cased `?tag` values. */
  tags: string[];
  /** The `?near` node, `_agent` already resolved; "" when absent. */
  source: string;
}

/**
 * What one endpoint adds to the shared read. Endpoints are module-level objects, not closures,
 * so a request allocates nothing for them.
 */
export interface InstanceListEndpoint<R extends InstanceListRequest, T> {
  /** Memos per agent state, owned by this endpoint alone. */
  readonly memos: WeakMap<object, EncodedMemo<T[]>>;
  /** Watches everything the answer depends on and returns its index. */
  index(r: R, ws: WatchSet): number;
  /** Builds the items when the memo misses; runs right after `index` in the same evaluation. */
  build(r: R, ws: WatchSet): T[];
}

/** The endpoint over the instances registered under the name itself (not connect's). */
export function instancesOfName<R extends InstanceListRequest, T>(views: (r: R, instances: ServiceInstance[]) => T[]): InstanceListEndpoint<R, T> {
  return {
    memos: new WeakMap(),
    index: (r, ws) => r.ctx.state.catalog.serviceNameIndex(r.name, ws),
    build: (r, ws) => views(r, r.ctx.state.catalog.serviceInstances(r.name, ws)),
  };
}

/**
 * Runs the blocking read for `r`. `variant` carries the endpoint's own answer-shaping
 * parameters (e.g. `?passing`); the shared ones are keyed here.
 */
export function instanceListRead<R extends InstanceListRequest, T>(
  r: R,
  endpoint: InstanceListEndpoint<R, T>,
  variant: string,
  visible?: (authz: Authorizer, item: T) => boolean,
): Promise<Reply> {
  const { ctx, req, opts, source } = r;
  const cat = ctx.state.catalog;
  const memo = memoFor(endpoint.memos, cat);
  const memoKey = [r.name.toLowerCase(), variant, r.tags.join(","), opts.nodeMeta.length > 0 ? JSON.stringify(opts.nodeMeta) : "", opts.filter, source].join("\u0000");
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = endpoint.index(r, ws);
      if (source) ctx.state.coordinates.get(source, ws);
      const version = `${cat.generation}:${index}:${source ? ctx.state.coordinates.tableIndex : 0}`;
      const hit = memo.get(memoKey, version);
      if (hit) return { index, value: hit };
      return { index, value: memo.set(memoKey, version, endpoint.build(r, ws)) };
    },
    (entry): Reply => {
      // The memo holds the unfiltered answer; ACL filtering happens per request, after it.
      if (ctx.acl && visible) {
        const authz = requestAuthorizer(ctx, req);
        const { kept, removed } = keepVisible(authz, entry.items, visible);
        if (removed) return json(kept, 200, filteredHeaders(authz, true));
      }
      return { kind: "json", status: 200, value: entry.items, encoded: encodedBody(entry, wantsPretty(ctx, req.query)) };
    },
  );
}
