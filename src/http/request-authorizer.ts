import { manageAllRules, staticAuthorizer, type Authorizer } from "../acl/authorizer.ts";
import { ANONYMOUS_TOKEN_ACCESSOR_ID } from "../acl/builtin.ts";
import type { ApiRequest, HttpContext } from "./context.ts";
import { requestToken } from "./query.ts";

// The enforcement seam: the one place a request's token (?token=, X-Consul-Token,
// Authorization: Bearer, else the agent's default token, else anonymous) becomes an
// Authorizer. Handlers ask for it and decide nothing about tokens themselves. Resolved on
// first use and kept for the request, so endpoints that check nothing never reject a token.
// Where resolving needs a round trip (a client agent asks a server; a follower catches up on
// a secret it does not know yet), the dispatcher awaits `prepareRequestAuthorizer` before the
// handler runs; its outcome, a refusal included, is kept and only raised when a handler asks.

/** With ACLs disabled everything is allowed, as Consul authorizes with ManageAll then. */
const ACLS_DISABLED = staticAuthorizer(manageAllRules);

type Prepared = { authz: Authorizer } | { error: unknown };

const resolved = new WeakMap<ApiRequest, Authorizer>();
const prepared = new WeakMap<ApiRequest, Prepared>();

export function requestAuthorizer(ctx: HttpContext, req: ApiRequest): Authorizer {
  if (!ctx.acl) return ACLS_DISABLED;
  let authz = resolved.get(req);
  if (!authz) {
    const early = prepared.get(req);
    if (early && "error" in early) throw early.error;
    authz = early ? early.authz : ctx.acl.resolve(requestToken(req.query, req.headers));
    resolved.set(req, authz);
  }
  return authz;
}

/**
 * Undefined when the request's token resolves from memory (ACLs off, a leader, a known
 * secret); otherwise the wait for a server's answer, after which `requestAuthorizer` answers
 * at once. Never rejects.
 */
export function prepareRequestAuthorizer(ctx: HttpContext, req: ApiRequest): Promise<void> | undefined {
  const pending = ctx.acl?.resolvePending(requestToken(req.query, req.headers));
  if (!pending) return undefined;
  return pending.then(
    (authz) => void prepared.set(req, { authz }),
    (error: unknown) => void prepared.set(req, { error }),
  );
}

export const RESULTS_FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs";

/**
 * The header a list answer carries when ACL filtering removed something. Never for the
 * anonymous token: telling it that hidden rows exist would leak their existence.
 */
export function filteredHeaders(authz: Authorizer, removed: boolean): Record<string, string> | undefined {
  if (!removed || authz.accessorId === "" || authz.accessorId === ANONYMOUS_TOKEN_ACCESSOR_ID) return undefined;
  return { [RESULTS_FILTERED_HEADER]: "true" };
}
