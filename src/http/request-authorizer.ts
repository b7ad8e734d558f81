import { Authorizer, manageAllRules, staticAuthorizer } from "../acl/authorizer.ts";
import { ANONYMOUS_TOKEN_ACCESSOR_ID } from "../acl/builtin.ts";
import type { ApiRequest, HttpContext } from "./context.ts";
import { requestToken } from "./query.ts";

// The enforcement seam: the one place a request's token (?token=, X-Consul-Token,
// Authorization: Bearer, else the agent's default token, else anonymous) becomes an
// Authorizer. Handlers ask for it and decide nothing about tokens themselves. The dispatcher
// calls `prepareRequestAuthorizer` once before the handler runs: it resolves from memory at
// once where it can, and otherwise waits (a client agent asks a server; a follower catches up
// on a secret it does not know yet). Its outcome, a refusal included, is kept on the request
// and only raised when a handler asks, so endpoints that check nothing never reject a token.

/** With ACLs disabled everything is allowed, as Consul authorizes with ManageAll then. */
const ACLS_DISABLED = staticAuthorizer(manageAllRules);

export function requestAuthorizer(ctx: HttpContext, req: ApiRequest): Authorizer {
  if (!ctx.acl) return ACLS_DISABLED;
  let outcome = req.authorization;
  if (outcome === undefined) {
    // A request that did not pass through the dispatcher's preparation (none today) resolves from memory.
    outcome = { authz: ctx.acl.resolve(requestToken(req.query, req.headers)) };
    req.authorization = outcome;
  }
  if ("error" in outcome) throw outcome.error;
  return outcome.authz;
}

/**
 * Resolves the request's token: undefined when that was answered from memory (ACLs off, a
 * leader, a known secret), otherwise the wait for it, after which `requestAuthorizer` answers
 * at once. Never rejects.
 */
export function prepareRequestAuthorizer(ctx: HttpContext, req: ApiRequest): Promise<void> | undefined {
  const acl = ctx.acl;
  if (!acl) return undefined;
  let resolution: Authorizer | Promise<Authorizer>;
  try {
    resolution = acl.resolveRequest(requestToken(req.query, req.headers));
  } catch (error) {
    req.authorization = { error };
    return undefined;
  }
  if (resolution instanceof Authorizer) {
    req.authorization = { authz: resolution };
    return undefined;
  }
  return resolution.then(
    (authz) => void (req.authorization = { authz }),
    (error: unknown) => void (req.authorization = { error }),
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
