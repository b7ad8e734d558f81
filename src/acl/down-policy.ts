// acl.down_policy: what an agent does with a request when no server answers its token lookup.
//   extend-cache  keep using a cached resolution past its TTL (uncached: deny)
//   async-cache   like extend-cache, but a stale entry is served at once while it refreshes
//   allow / deny  allow or deny everything
// Servers resolve from their own state and never consult it; client agents do.

export const ACL_DOWN_POLICIES = ["extend-cache", "async-cache", "allow", "deny"] as const;
export type AclDownPolicy = (typeof ACL_DOWN_POLICIES)[number];

export function isAclDownPolicy(value: string): value is AclDownPolicy {
  return (ACL_DOWN_POLICIES as readonly string[]).includes(value);
}
