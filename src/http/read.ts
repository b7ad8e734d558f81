import { errors } from "../errors/catalog.ts";
import type { Command } from "../fsm/command.ts";
import type { QueryFn, QueryResult } from "./blocking.ts";
import type { ApiRequest, HttpContext, Reply } from "./context.ts";
import { parseQueryOptions, type QueryOptions } from "./query.ts";

export function queryOptions(ctx: HttpContext, req: ApiRequest): QueryOptions {
  return parseQueryOptions(req.query, req.headers, ctx.settings.datacenter);
}

/** Index, leader and consistency headers that every blocking-capable read carries. */
export function metaHeaders(ctx: HttpContext, opts: QueryOptions, index: number): Record<string, string> {
  const leader = ctx.consensus.leaderAddress() !== "";
  return {
    "X-Consul-Index": String(index > 0 ? index : 1),
    "X-Consul-KnownLeader": leader ? "true" : "false",
    "X-Consul-LastContact": String(Math.max(0, Math.floor(ctx.consensus.lastContactMs()))),
    "X-Consul-Effective-Consistency": opts.consistency,
    "X-Consul-Query-Backend": "blocking-query",
  };
}

/** Cache key: the path plus every parameter that shapes the answer (not index/wait). */
function queryKey(req: ApiRequest): string {
  const parts: string[] = [];
  for (const k of Object.keys(req.query).sort()) {
    if (k === "index" || k === "wait" || k === "pretty") continue;
    parts.push(`${k}=${String(req.query[k])}`);
  }
  return `${req.path}?${parts.join("&")}`;
}

/**
 * Runs a read through the blocking engine and renders it. `render` turns the value into the
 * reply (status, body); the meta headers are added here so no endpoint forgets them.
 */
export async function blockingRead<T>(
  ctx: HttpContext,
  req: ApiRequest,
  opts: QueryOptions,
  query: QueryFn<T>,
  render: (value: T, result: QueryResult<T>) => Reply,
): Promise<Reply> {
  if (opts.consistency !== "stale" && !ctx.consensus.isLeader() && ctx.consensus.leaderAddress() === "") throw errors.noLeader();
  if (opts.consistency === "consistent") await consistentReadPoint(ctx);
  const result = await ctx.blocking.run(queryKey(req), opts.minIndex, opts.waitMs, query);
  const reply = render(result.value, result);
  const headers = metaHeaders(ctx, opts, result.index);
  reply.headers = reply.headers ? { ...headers, ...reply.headers } : headers;
  return reply;
}

/** Waits until this server's state reflects every write acknowledged before the read arrived (ReadIndex). */
async function consistentReadPoint(ctx: HttpContext): Promise<void> {
  try {
    await ctx.consensus.readBarrier();
  } catch {
    throw errors.noLeader();
  }
}

/** Proposes a command and returns apply's value; apply errors travel back as 500 like RPC errors. */
export async function write(ctx: HttpContext, cmd: Command): Promise<unknown> {
  const { result } = await ctx.consensus.propose(cmd);
  if (!result.ok) throw errors.internal(result.error);
  return result.value;
}
