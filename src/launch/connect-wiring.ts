import { LeafCache, type RootsSummary, type SignedLeafReply } from "../connect/leaf-cache.ts";
import { ConsulError, type ErrorCode } from "../errors/catalog.ts";
import type { HttpContext, InternalApiRequest } from "../http/context.ts";
import type { ApiDispatcher } from "../http/dispatch-request.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";

// Connect on every agent: requests the agent makes of itself (roots, signing) go through its
// own dispatcher, so they take the path any API request takes — a follower passes them to the
// leader, a client agent to a server — with no Connect-specific RPC.

const STATUS_CODES: Record<number, ErrorCode> = { 400: "BadRequest", 403: "PermissionDenied", 404: "NotFound", 429: "TooManyRequests", 500: "Internal" };

function bodyText(body: string | Buffer): string {
  return Buffer.isBuffer(body) ? body.toString() : body;
}

export function startConnectAgent(ctx: HttpContext, dispatcher: ApiDispatcher, deps: { clock: Clock; rng: Rng; logger: Logger; datacenter: string }): LeafCache {
  const internalRequest = (req: InternalApiRequest) =>
    dispatcher.dispatch({
      method: req.method,
      path: req.path,
      rawQuery: req.rawQuery,
      headers: req.token ? { "x-consul-token": req.token, "content-type": "application/json" } : { "content-type": "application/json" },
      body: req.body,
      remoteAddress: "127.0.0.1",
    });
  const failed = (status: number, body: string | Buffer): ConsulError => new ConsulError(STATUS_CODES[status] ?? "Internal", bodyText(body));
  const leaves = new LeafCache({
    ...deps,
    async sign(csrPem: string, token: string, afterIndex: number): Promise<SignedLeafReply> {
      const body = JSON.stringify(afterIndex > 0 ? { CSR: csrPem, AfterIndex: afterIndex } : { CSR: csrPem });
      const answer = await internalRequest({ method: "POST", path: "/v1/internal/consulate/connect-ca/sign", rawQuery: "", body: Buffer.from(body), token });
      if (answer.status !== 200) throw failed(answer.status, answer.body);
      return JSON.parse(bodyText(answer.body)) as SignedLeafReply;
    },
    async roots(minIndex: number, waitMs: number): Promise<RootsSummary> {
      const rawQuery = minIndex > 0 ? `stale&index=${minIndex}&wait=${Math.floor(waitMs / 1000)}s` : "stale";
      const answer = await internalRequest({ method: "GET", path: "/v1/connect/ca/roots", rawQuery });
      if (answer.status !== 200) throw failed(answer.status, answer.body);
      const body = JSON.parse(bodyText(answer.body)) as { ActiveRootID?: string; TrustDomain?: string };
      if (!body.ActiveRootID || !body.TrustDomain) throw new ConsulError("Internal", "CA has not finished initializing");
      return { index: Number(answer.headers["X-Consul-Index"] ?? 0), activeRootId: body.ActiveRootID, trustDomain: body.TrustDomain };
    },
  });
  ctx.connectLeaves = leaves;
  ctx.internalRequest = internalRequest;
  return leaves;
}
