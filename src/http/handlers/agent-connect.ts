import { errors } from "../../errors/catalog.ts";
import type { LeafCache } from "../../connect/leaf-cache.ts";
import type { Handler, HttpContext } from "../context.ts";
import { requestToken } from "../query.ts";
import { queryOptions } from "../read.ts";
import { json } from "../reply.ts";

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

export const agentConnectHandlers = { roots, leaf } satisfies Record<string, Handler>;
