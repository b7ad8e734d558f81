import type { AclPolicy, AclRole, AclToken } from "../model/acl.ts";
import { aclTokenExpired } from "../model/acl.ts";
import type { AclObjectLookup } from "./resolve.ts";

// What a server tells a client agent about a secret (the ACL.ResolveToken RPC): the token's
// identity without its secret, plus every policy and role it links, so the client compiles
// the same authorizer the server would. Servers build it from their own replicated tables.

export interface TokenResolution {
  /** The token with SecretID blanked: the caller already holds the secret; nothing else needs it. */
  token: AclToken;
  policies: AclPolicy[];
  roles: AclRole[];
}

export type TokenResolutionReply = { found: false } | ({ found: true } & TokenResolution);

export interface AclTableReader {
  tokenBySecret(secret: string): AclToken | undefined;
  policy(id: string): AclPolicy | undefined;
  role(id: string): AclRole | undefined;
}

/** The reply for `secret`, from a server's tables; an expired token is as unknown as a missing one. */
export function resolutionFromTables(tables: AclTableReader, secret: string, nowMs: number): TokenResolutionReply {
  const token = tables.tokenBySecret(secret);
  if (!token || aclTokenExpired(token, nowMs)) return { found: false };
  const roles: AclRole[] = [];
  const policyIds = new Set(token.Policies.map((l) => l.ID));
  for (const link of token.Roles) {
    const role = tables.role(link.ID);
    if (!role) continue;
    roles.push(role);
    for (const p of role.Policies) policyIds.add(p.ID);
  }
  const policies: AclPolicy[] = [];
  for (const id of policyIds) {
    const policy = tables.policy(id);
    if (policy) policies.push(policy);
  }
  return { found: true, token: { ...token, SecretID: "" }, policies, roles };
}

/** The reply as it arrived over RPC, checked enough that compiling it cannot fail on shape. */
export function asTokenResolutionReply(value: unknown): TokenResolutionReply {
  const v = value as Partial<{ found: boolean; token: AclToken; policies: AclPolicy[]; roles: AclRole[] }> | undefined;
  if (!v || typeof v !== "object" || typeof v.found !== "boolean") throw new Error("malformed ACL.ResolveToken answer");
  if (!v.found) return { found: false };
  const token = v.token;
  if (!token || typeof token.AccessorID !== "string" || !Array.isArray(token.Policies) || !Array.isArray(token.Roles)) {
    throw new Error("malformed ACL.ResolveToken answer");
  }
  return {
    found: true,
    token: {
      ...token,
      ServiceIdentities: Array.isArray(token.ServiceIdentities) ? token.ServiceIdentities : [],
      NodeIdentities: Array.isArray(token.NodeIdentities) ? token.NodeIdentities : [],
      TemplatedPolicies: Array.isArray(token.TemplatedPolicies) ? token.TemplatedPolicies : [],
    },
    policies: Array.isArray(v.policies) ? v.policies : [],
    roles: (Array.isArray(v.roles) ? v.roles : []).map((r) => ({
      ...r,
      Policies: Array.isArray(r.Policies) ? r.Policies : [],
      ServiceIdentities: Array.isArray(r.ServiceIdentities) ? r.ServiceIdentities : [],
      NodeIdentities: Array.isArray(r.NodeIdentities) ? r.NodeIdentities : [],
      TemplatedPolicies: Array.isArray(r.TemplatedPolicies) ? r.TemplatedPolicies : [],
    })),
  };
}

/** Policy and role lookups over what one resolution carried. */
export function lookupOf(resolution: TokenResolution): AclObjectLookup {
  const policies = new Map(resolution.policies.map((p) => [p.ID, p]));
  const roles = new Map(resolution.roles.map((r) => [r.ID, r]));
  return { policy: (id) => policies.get(id), role: (id) => roles.get(id) };
}
