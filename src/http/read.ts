import { errors } from "../errors/catalog.ts";
import { METRIC_NAMES } from "../runtime/metrics.ts";
import type { Command } from "../fsm/command.ts";
import type { ProposeOptions } from "../server/consensus.ts";
import { awaitKnownLeader, DEFAULT_RPC_HOLD_TIMEOUT_MS, holdUntilLeader, knowsLeader, type LeaderHold } from "../server/leader-wait.ts";
import type { QueryFn, QueryResult } from "./blocking.ts";
import type { ApiRequest, HttpContext, Reply } from "./context.ts";
import { parseQueryOptions, type QueryOptions } from "./query.ts";
import { requestAuthorizer } from "./request-authorizer.ts";

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

/**
 * Cache key: the path plus every parameter that shapes the answer (not index/wait). With ACLs
 * on, answers are filtered per token, so the token (by accessor) is part of the key: two
 * callers share an evaluation only when they are the same token.
 */
function queryKey(ctx: HttpContext, req: ApiRequest): string {
  const acl = ctx.acl ? `\0acl=${requestAuthorizer(ctx, req).accessorId}` : "";
  if (req.rawQuery === "") return `${req.path}?${acl}`;
  const parts: string[] = [];
  for (const k of Object.keys(req.query).sort()) {
    if (k === "index" || k === "wait" || k === "pretty") continue;
    parts.push(`${k}=${String(req.query[k])}`);
  }
  if (acl !== "") parts.push(acl);
  return `${req.path}?${parts.join("&")}`;
}

/**
 * Runs a read through the blocking engine and renders it. `render` turns the value into the
 * reply (status, body); the meta headers are added here so no endpoint forgets them.
 *
 * A read that has nothing to wait for (no index, a leader known, not `?consistent`) is answered
 * before this returns, without a promise: that is nearly every read, and the awaits on the way
 * were a measurable share of a small read's cost.
 */
export function blockingRead<T>(
  ctx: HttpContext,
  req: ApiRequest,
  opts: QueryOptions,
  query: QueryFn<T>,
  render: (value: T, result: QueryResult<T>) => Reply,
): Reply | Promise<Reply> {
  // consul.rpc.query: every read a server runs (clients forward theirs), as Consul's blockingQuery counts.
  if (ctx.agent.identity.server) ctx.metrics.incrCounter(METRIC_NAMES.rpcQuery);
  // Checked here first so reads on a server that knows its leader (nearly all) add no await.
  if ((opts.consistency !== "stale" && !knowsLeader(ctx.consensus)) || opts.consistency === "consistent" || opts.minIndex > 0) {
    return waitingRead(ctx, req, opts, query, render);
  }
  return rendered(ctx, opts, ctx.blocking.current(queryKey(ctx, req), query), render);
}

async function waitingRead<T>(
  ctx: HttpContext,
  req: ApiRequest,
  opts: QueryOptions,
  query: QueryFn<T>,
  render: (value: T, result: QueryResult<T>) => Reply,
): Promise<Reply> {
  if (opts.consistency !== "stale" && !knowsLeader(ctx.consensus)) await awaitLeaderUnlessStale(ctx, opts);
  if (opts.consistency === "consistent") await consistentReadPoint(ctx);
  // Only a query that may wait needs to know when its client hangs up.
  const signal = opts.minIndex > 0 ? req.signal?.() : undefined;
  return rendered(ctx, opts, await ctx.blocking.run(queryKey(ctx, req), opts.minIndex, opts.waitMs, query, signal), render);
}

function rendered<T>(ctx: HttpContext, opts: QueryOptions, result: QueryResult<T>, render: (value: T, result: QueryResult<T>) => Reply): Reply {
  const reply = render(result.value, result);
  const headers = metaHeaders(ctx, opts, result.index);
  reply.headers = reply.headers ? { ...headers, ...reply.headers } : headers;
  return reply;
}

/** The hold (performance.rpc_hold_timeout) for requests that wait for a cluster leader. */
function leaderHold(ctx: HttpContext): LeaderHold {
  return { clock: ctx.clock, rng: ctx.rng, holdTimeoutMs: ctx.settings.rpcHoldTimeoutMs ?? DEFAULT_RPC_HOLD_TIMEOUT_MS };
}

/**
 * Reads that need a leader (all but `?stale`) wait while none is known, as Consul holds them
 * during an election; "No cluster leader" once the hold is over.
 */
export async function awaitLeaderUnlessStale(ctx: HttpContext, opts: QueryOptions): Promise<void> {
  if (opts.consistency === "stale") return;
  await awaitKnownLeader(ctx.consensus, leaderHold(ctx));
}

/**
 * Waits until this server's state reflects every write acknowledged before the read arrived
 * (ReadIndex). A barrier that found no leader is tried again while the hold lasts: a read
 * changes nothing, so retrying it is always safe.
 */
async function consistentReadPoint(ctx: HttpContext): Promise<void> {
  await holdUntilLeader(
    leaderHold(ctx),
    () =>
      ctx.consensus.readBarrier().then(
        () => ({ ok: true, value: undefined }),
        () => ({ ok: false, error: errors.noLeader() }),
      ),
    { leadership: ctx.consensus },
  );
}

/** Proposes a command and returns apply's value; apply errors travel back as 500 like RPC errors. */
/** The endpoint timer Consul records for each kind of write (its RPC endpoint's apply metric). */
const WRITE_METRIC: Partial<Record<Command["Type"], string>> = {
  "kv-set": METRIC_NAMES.kvsApply,
  "kv-delete": METRIC_NAMES.kvsApply,
  txn: METRIC_NAMES.txnApply,
  "session-create": METRIC_NAMES.sessionApply,
  "session-destroy": METRIC_NAMES.sessionApply,
  "catalog-register": METRIC_NAMES.catalogRegister,
  "catalog-deregister": METRIC_NAMES.catalogDeregister,
};

export function write(ctx: HttpContext, cmd: Command, options?: ProposeOptions): Promise<unknown> {
  const metric = WRITE_METRIC[cmd.Type];
  const startedMs = ctx.clock.monotonicMs();
  // A then, not an async function: one promise fewer on every write.
  return ctx.consensus.propose(cmd, options).then(({ result }) => {
    if (metric !== undefined) ctx.metrics.measureSince(metric, startedMs);
    if (!result.ok) throw result.code === "config-entry-graph" ? errors.configEntryGraph(result.error) : errors.internal(result.error);
    return result.value;
  });
}
