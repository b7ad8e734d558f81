import type { ApiRequest, HttpContext, Reply } from "../context.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead } from "../read.ts";
import { json } from "../reply.ts";

/**
 * Gateway answers come from config entries, which are not stored yet, so no gateway links or
 * exposes anything: the answer is always `empty` (`null` where upstream leaves the list
 * un-normalised), yet it carries the services index so a watcher can still block on it.
 */
export function emptyGatewayRead(ctx: HttpContext, req: ApiRequest, opts: QueryOptions, empty: null | []): Promise<Reply> {
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      cat.watchTable("services", ws);
      return { index: cat.servicesIndex, value: empty };
    },
    (value) => json(value),
  );
}
