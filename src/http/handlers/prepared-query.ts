import type { Authorizer } from "../../acl/authorizer.ts";
import { errors } from "../../errors/catalog.ts";
import { aclPrefixOf, REDACTED_TOKEN, type PreparedQuery } from "../../model/prepared-query.ts";
import { preparedQueryProblem } from "../../model/prepared-query-validate.ts";
import {
  executeForRemote,
  executePreparedQuery,
  QueryNotFoundError,
  type ExecuteDeps,
  type ExecuteRemoteRequest,
  type ExecuteResult,
} from "../../server/prepared-query-execute.ts";
import { QueryResolveError } from "../../state/prepared-query-table.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import { decodePreparedQuery, type PreparedQueryBody } from "../../decode/prepared-query.ts";
import type { QueryOptions } from "../query.ts";
import { requestToken } from "../query.ts";
import { awaitLeaderUnlessStale, blockingRead, metaHeaders, queryOptions, write } from "../read.ts";
import { empty, json } from "../reply.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";
import { encodeExecuteAnswer } from "../views/prepared-query-answer.ts";
import { wantsPretty } from "./catalog-query.ts";

// /v1/query: spec/operator-snapshot-query.md §5 and multi-dc.md §6 (Consul's
// agent/prepared_query_endpoint.go over agent/consul/prepared_query_endpoint.go). Writes run on
// the leader (requests are forwarded there), which picks the ID, checks ACLs against the query's
// name prefix and validates; uniqueness and templates are checked by apply. Errors that Consul's
// RPC layer reports as plain errors answer 500 with its text; "Query not found" answers 404.

const QUERY_NOT_FOUND = "Query not found";

/** Consul's aclfilter for prepared queries: management sees all; others need query:read on a prefix, Token redacted. */
function visibleQuery(authz: Authorizer, q: PreparedQuery, unnamedAllowed: boolean): PreparedQuery | undefined {
  if (authz.allowed("acl:write")) return q;
  const prefix = aclPrefixOf(q);
  if (prefix === undefined ? !unnamedAllowed : !authz.allowed("query:read", prefix)) return undefined;
  return q.Token === "" ? q : { ...q, Token: REDACTED_TOKEN };
}

/** The query as Consul's JSON lays it out (OSS: no Namespace/Partition). */
function queryView(q: PreparedQuery): Record<string, unknown> {
  const s = q.Service;
  return {
    ID: q.ID,
    Name: q.Name,
    Session: q.Session,
    Token: q.Token,
    Template: { Type: q.Template.Type, Regexp: q.Template.Regexp, RemoveEmptyTags: q.Template.RemoveEmptyTags },
    Service: {
      Service: s.Service,
      SamenessGroup: s.SamenessGroup,
      Failover: {
        NearestN: s.Failover.NearestN,
        Datacenters: s.Failover.Datacenters,
        Targets: s.Failover.Targets ? s.Failover.Targets.map((t) => ({ Peer: t.Peer, Datacenter: t.Datacenter })) : null,
      },
      OnlyPassing: s.OnlyPassing,
      IgnoreCheckIDs: s.IgnoreCheckIDs,
      Near: s.Near,
      Tags: s.Tags,
      NodeMeta: s.NodeMeta,
      ServiceMeta: s.ServiceMeta,
      Connect: s.Connect,
      Peer: s.Peer,
    },
    DNS: { TTL: q.DNS.TTL },
    CreateIndex: q.CreateIndex,
    ModifyIndex: q.ModifyIndex,
  };
}

/** QueryMeta's JSON fields, which Consul's execute and explain answers carry inline. */
function queryMetaFields(ctx: HttpContext, opts: QueryOptions, removed: boolean): Record<string, unknown> {
  return {
    Index: 0,
    LastContact: Math.max(0, Math.floor(ctx.consensus.lastContactMs())) * 1e6,
    KnownLeader: ctx.consensus.leaderAddress() !== "",
    ConsistencyLevel: opts.consistency,
    NotModified: false,
    Backend: 0,
    ResultsFilteredByACLs: removed,
  };
}

async function decodeBody(req: ApiRequest): Promise<PreparedQueryBody> {
  return decodePreparedQuery(await parseJsonBodyInTurns(req.body, { optional: true }));
}

function requireWrite(ctx: HttpContext, req: ApiRequest, q: Pick<PreparedQuery, "Name" | "Template">): void {
  const prefix = aclPrefixOf(q);
  if (prefix === undefined) return;
  if (!requestAuthorizer(ctx, req).allowed("query:write", prefix)) {
    ctx.logger.named("agent.server.prepared_query").warn("Operation on prepared query denied due to ACLs");
    throw errors.permissionDenied();
  }
}

function validated(q: PreparedQueryBody): PreparedQueryBody {
  const problem = preparedQueryProblem(q);
  if (problem !== undefined) throw errors.internal(`Invalid prepared query: ${problem}`);
  return q;
}

const create: Handler = async (ctx, req) => {
  const body = await decodeBody(req);
  if (body.ID !== "") throw errors.internal("ID must be empty when creating a new prepared query");
  let id = ctx.rng.uuid();
  while (ctx.state.preparedQueries.get(id)) id = ctx.rng.uuid();
  const q = { ...body, ID: id };
  requireWrite(ctx, req, q);
  await write(ctx, { Type: "prepared-query-set", Query: validated(q) });
  return json({ ID: id });
};

/** An existing query for update or delete, after the ACL check on its current name. */
function existingForChange(ctx: HttpContext, req: ApiRequest, id: string): PreparedQuery {
  const existing = ctx.state.preparedQueries.get(id);
  if (!existing) throw errors.internal(`Cannot modify non-existent prepared query: '${id}'`);
  requireWrite(ctx, req, existing);
  return existing;
}

const update = async (ctx: HttpContext, req: ApiRequest, id: string): Promise<Reply> => {
  const body = req.body && req.body.length > 0 ? await decodeBody(req) : decodePreparedQuery({});
  // The ID comes from the URL, not the body.
  const q = { ...body, ID: id };
  requireWrite(ctx, req, q);
  existingForChange(ctx, req, id);
  await write(ctx, { Type: "prepared-query-set", Query: validated(q) });
  return empty();
};

const remove = async (ctx: HttpContext, req: ApiRequest, id: string): Promise<Reply> => {
  existingForChange(ctx, req, id);
  await write(ctx, { Type: "prepared-query-delete", ID: id });
  return empty();
};

const list: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const all = ctx.state.preparedQueries.list(ws);
      const kept = all.map((q) => visibleQuery(authz, q, false)).filter((q): q is PreparedQuery => q !== undefined);
      return { index: ctx.state.preparedQueries.tableIndex, value: { kept, removed: kept.length < all.length } };
    },
    ({ kept, removed }) => json(kept.map(queryView), 200, filteredHeaders(authz, removed)),
  );
};

const get = (ctx: HttpContext, req: ApiRequest, id: string): Reply | Promise<Reply> => {
  const opts = queryOptions(ctx, req);
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: ctx.state.preparedQueries.tableIndex, value: ctx.state.preparedQueries.get(id, ws) }),
    (q) => {
      if (!q) return { kind: "text", status: 404, body: QUERY_NOT_FOUND };
      // A query without a prefix is readable by anyone who has its ID (only the Token is redacted).
      const visible = visibleQuery(authz, q, true);
      if (!visible) throw errors.permissionDenied();
      return json([queryView(visible)]);
    },
  );
};

/** Execution context shared with DNS: this agent's state, rng and the cross-DC executor. */
export function executeDeps(ctx: HttpContext): ExecuteDeps {
  return {
    state: ctx.state,
    datacenter: ctx.settings.datacenter,
    rng: ctx.rng,
    logger: ctx.logger.named("agent.server.prepared_query"),
    authorizerFor: ctx.acl ? (token: string) => ctx.acl!.resolve(token) : undefined,
    remote: ctx.preparedQueryRemote,
  };
}

function parseLimit(req: ApiRequest): number {
  const raw = req.query.limit;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || text === "") return 0;
  if (!/^[+-]?\d+$/.test(text)) throw errors.internal(`Bad limit: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Number(text);
}

/** Consul's sourceAddrFromRequest: the first X-Forwarded-For entry, else the peer address. */
function sourceIp(req: ApiRequest): string {
  const xff = req.headers["x-forwarded-for"];
  const first = (Array.isArray(xff) ? xff[0] : xff)?.split(",")[0]?.trim();
  if (first) return first;
  return req.remoteAddress.replace(/^::ffff:/, "");
}

function resolveQuery(ctx: HttpContext, idOrName: string): PreparedQuery {
  if (idOrName === "") throw errors.internal("Missing query ID");
  let q: PreparedQuery | undefined;
  try {
    q = ctx.state.preparedQueries.resolve(idOrName, { segment: "" });
  } catch (e) {
    if (e instanceof QueryResolveError) throw errors.internal(e.message);
    throw e;
  }
  if (!q) throw errors.notFound(QUERY_NOT_FOUND);
  return q;
}

const execute = async (ctx: HttpContext, req: ApiRequest, idOrName: string): Promise<Reply> => {
  const opts = queryOptions(ctx, req);
  const limit = parseLimit(req);
  await awaitLeaderUnlessStale(ctx, opts);
  const query = resolveQuery(ctx, idOrName);
  const connect = req.query.connect !== undefined && req.query.connect !== "false";
  let result: ExecuteResult;
  try {
    result = await executePreparedQuery(executeDeps(ctx), {
      query,
      token: requestToken(req.query, req.headers),
      limit,
      connect,
      near: opts.near,
      agentNode: req.agentNode,
      sourceIp: sourceIp(req),
    });
  } catch (e) {
    if (e instanceof QueryNotFoundError) throw errors.notFound(QUERY_NOT_FOUND);
    throw e;
  }
  return executeReply(ctx, req, opts, result);
};

function executeReply(ctx: HttpContext, req: ApiRequest, opts: QueryOptions, result: ExecuteResult): Reply {
  const fields = {
    Service: result.Service,
    Nodes: null,
    DNS: { TTL: result.DNS.TTL },
    Datacenter: result.Datacenter,
    PeerName: "",
    Failovers: result.Failovers,
    ...queryMetaFields(ctx, opts, result.FilteredByAcls),
  };
  const headers = { ...metaHeaders(ctx, opts, 0), ...filteredHeaders(requestAuthorizer(ctx, req), result.FilteredByAcls) };
  const encoded = encodeExecuteAnswer(fields, result.Nodes, wantsPretty(ctx, req.query));
  return { kind: "json", status: 200, value: undefined, encoded, headers };
}

const explain = async (ctx: HttpContext, req: ApiRequest, idOrName: string): Promise<Reply> => {
  const opts = queryOptions(ctx, req);
  parseLimit(req);
  await awaitLeaderUnlessStale(ctx, opts);
  const query = resolveQuery(ctx, idOrName);
  const visible = visibleQuery(requestAuthorizer(ctx, req), query, false);
  if (!visible) throw errors.permissionDenied();
  return json({ Query: queryView(visible), ...queryMetaFields(ctx, opts, false) }, 200, metaHeaders(ctx, opts, 0));
};

/** /v1/query/<id>[/execute|/explain]: one prefix route, split as Consul's PreparedQuerySpecific does. */
function specific(method: "GET" | "PUT" | "DELETE"): Handler {
  return (ctx, req) => {
    const rest = req.suffix;
    if (rest.endsWith("/execute")) {
      if (method !== "GET") throw errors.methodNotAllowed(method, ["GET"]);
      return execute(ctx, req, rest.slice(0, -"/execute".length));
    }
    if (rest.endsWith("/explain")) {
      if (method !== "GET") throw errors.methodNotAllowed(method, ["GET"]);
      return explain(ctx, req, rest.slice(0, -"/explain".length));
    }
    if (method === "GET") return get(ctx, req, rest);
    if (method === "PUT") return update(ctx, req, rest);
    return remove(ctx, req, rest);
  };
}

/**
 * Internal (no Consul counterpart; Consul uses its PreparedQuery.ExecuteRemote RPC): another
 * datacenter's server sends a rendered query here when it fails over; answered like execute.
 */
const executeRemote: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const raw = await parseJsonBodyInTurns(req.body);
  if (!isObject(raw)) throw errors.decodeFailed("json: cannot unmarshal into Go value of type structs.PreparedQueryExecuteRemoteRequest");
  const query = raw.Query;
  if (!isObject(query)) throw errors.decodeFailed("missing Query");
  const decoded = decodePreparedQuery({ ...query, CreateIndex: undefined, ModifyIndex: undefined });
  const request: ExecuteRemoteRequest = {
    Query: { ...decoded, CreateIndex: Number(query.CreateIndex ?? 0), ModifyIndex: Number(query.ModifyIndex ?? 0) },
    Limit: typeof raw.Limit === "number" ? raw.Limit : 0,
    Connect: raw.Connect === true,
    Token: requestToken(req.query, req.headers),
  };
  return executeReply(ctx, req, opts, executeForRemote(executeDeps(ctx), request));
};

export const EXECUTE_REMOTE_PATH = "/v1/internal/consulate/query/execute-remote";

export const preparedQueryHandlers = {
  create,
  list,
  specificGet: specific("GET"),
  specificPut: specific("PUT"),
  specificDelete: specific("DELETE"),
  executeRemote,
} satisfies Record<string, Handler>;
