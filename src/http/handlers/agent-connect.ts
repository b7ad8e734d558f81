import { errors } from "../../errors/catalog.ts";
import type { LeafCache } from "../../connect/leaf-cache.ts";
import type { Handler, HttpContext } from "../context.ts";
import { requestToken } from "../query.ts";
import { queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import { SERVICE_INTENTIONS } from "../../connect/config-entry-decode.ts";
import { decide, matchIntentions, type Intention } from "../../connect/intentions.ts";
import { parseServiceUri } from "../../connect/spiffe.ts";
import { aclDefaults } from "./connect-intentions.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/agent/connect/*: spec/connect.md §3–5. The agent answers from what it asked the servers
// for: roots through a (stale) roots read, leaves from its leaf cache.

function leavesOf(ctx: HttpContext): LeafCache {
  if (!ctx.connectLeaves) throw errors.internal("Connect is not available on this agent");
  return ctx.connectLeaves;
}

/** Same body as /v1/connect/ca/roots, read from any server (?stale), blocking as asked. */
const roots: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  if (!ctx.internalRequest) throw errors.internal("Connect is not available on this agent");
  const rawQuery = req.rawQuery === "" ? "stale" : `${req.rawQuery}&stale`;
  const answer = await ctx.internalRequest({ method: "GET", path: "/v1/connect/ca/roots", rawQuery, token: requestToken(req.query, req.headers) });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(answer.headers)) if (k !== "X-Consul-Default-ACL-Policy") headers[k] = v;
  const body = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
  if (answer.status !== 200) {
    return { kind: "text", status: answer.status, body, headers };
  }
  return { kind: "json", status: 200, value: null, encoded: body, headers: { ...headers, "X-Cache": "MISS" } };
};

const leaf: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const service = req.suffix;
  if (service === "") throw errors.badRequest("Missing service name");
  requestAuthorizer(ctx, req).require("service:write", service);
  const cache = leavesOf(ctx);
  const cert = await cache.get(service, opts.token, opts.minIndex, opts.waitMs).catch((err: unknown) => {
    throw err instanceof Error && "statusCode" in err ? err : errors.internal(err instanceof Error ? err.message : String(err));
  });
  const { RootID: _root, ...shown } = cert;
  const body = {
    SerialNumber: shown.SerialNumber,
    CertPEM: shown.CertPEM,
    PrivateKeyPEM: shown.PrivateKeyPEM,
    Service: shown.Service,
    ServiceURI: shown.ServiceURI,
    ValidAfter: shown.ValidAfter,
    ValidBefore: shown.ValidBefore,
    Namespace: shown.Namespace,
    CreateIndex: shown.CreateIndex,
    ModifyIndex: shown.ModifyIndex,
  };
  return json(body, 200, { "X-Consul-Index": String(cert.ModifyIndex), "X-Cache": "HIT" });
};

/** The intentions that apply to `target` as destination: from the local Raft state on servers, from a server (?stale) on client agents. */
async function destinationIntentions(ctx: HttpContext, target: string, token: string): Promise<Intention[]> {
  if (ctx.connectCa) return matchIntentions(ctx.state.configEntries.list(SERVICE_INTENTIONS), "destination", target);
  if (!ctx.internalRequest) throw errors.internal("Connect is not available on this agent");
  const answer = await ctx.internalRequest({ method: "GET", path: "/v1/connect/intentions/match", rawQuery: `by=destination&name=${encodeURIComponent(target)}&stale`, token });
  const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
  if (answer.status !== 200) throw errors.internal(text);
  const parsed = JSON.parse(text) as Record<string, Intention[] | undefined>;
  return parsed[target] ?? [];
}

/**
 * POST /v1/agent/connect/authorize (Consul's Agent.ConnectAuthorize): the first intention for
 * the target whose source matches the client's SPIFFE ID decides; L7 intentions deny at L4.
 * As upstream, the ID's trust domain is not compared with ours.
 */
const authorize: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.badRequest("Invalid request");
  const target = typeof body.Target === "string" ? body.Target : "";
  if (target === "") throw errors.badRequest("Target service must be specified");
  const uri = typeof body.ClientCertURI === "string" ? body.ClientCertURI : "";
  const id = parseServiceUri(uri);
  if (!id) {
    throw errors.badRequest(uri.startsWith("spiffe://") && URL.canParse(uri) ? "ClientCertURI not a valid Service identifier" : "ClientCertURI not a valid Connect identifier");
  }
  requestAuthorizer(ctx, req).require("service:write", target);
  const decision = decide(await destinationIntentions(ctx, target, opts.token), id.service, aclDefaults(ctx));
  return json({ Authorized: decision.allowed, Reason: decision.reason });
};

export const agentConnectHandlers = { roots, leaf, authorize } satisfies Record<string, Handler>;
