import { ConsulError } from "./catalog.ts";

// The ACL refusal every enforcement point raises (Consul's acl.PermissionDeniedError): 403
// with `Permission denied: token with AccessorID '<id>' lacks permission '<resource>:<level>'
// on "<name>"` (for the anonymous token: `anonymous token lacks …`, plus a sentence saying it was
// used because the request named none). Clients match on the status and the `Permission denied` prefix.

/** Resources as Consul names them in messages (note: intentions are `intention`). */
export type AclResourceName =
  | "acl"
  | "agent"
  | "event"
  | "intention"
  | "key"
  | "keyring"
  | "node"
  | "operator"
  | "mesh"
  | "query"
  | "service"
  | "session"
  | "peering";

export type AclLevelName = "read" | "list" | "write";

export class PermissionDeniedError extends ConsulError {
  /** "" when the token's accessor is unknown (the message then says `provided token`). */
  readonly accessorId: string;
  readonly resource: AclResourceName;
  readonly level: AclLevelName;
  /** "" for resources without names (acl, operator, keyring, mesh, peering). */
  readonly resourceName: string;

  constructor(accessorId: string, resource: AclResourceName, level: AclLevelName, resourceName = "") {
    super("PermissionDenied", permissionDeniedMessage(accessorId, resource, level, resourceName));
    this.name = "PermissionDeniedError";
    this.accessorId = accessorId;
    this.resource = resource;
    this.level = level;
    this.resourceName = resourceName;
  }
}

/** The built-in anonymous token's AccessorID (acl/builtin.ts; repeated here, errors/ sits below acl/). */
const ANONYMOUS_ACCESSOR_ID = "00000000-0000-0000-0000-000000000002";

function permissionDeniedMessage(accessorId: string, resource: string, level: string, name: string): string {
  // Consul (acl/errors.go) names the anonymous token as such and says why it was used.
  const anonymous = accessorId === ANONYMOUS_ACCESSOR_ID;
  const who = accessorId === "" ? "provided token" : anonymous ? "anonymous token" : `token with AccessorID '${accessorId}'`;
  // Consul quotes the name without escaping it (ResourceDescriptor.ToString).
  const on = name === "" ? "" : ` on "${name}"`;
  const why = anonymous ? ". The anonymous token is used implicitly when a request does not specify a token." : "";
  return `Permission denied: ${who} lacks permission '${resource}:${level}'${on}${why}`;
}

/** 403 `ACL not found`: a request presented a secret no token has (never treated as anonymous). */
export function aclNotFound(): ConsulError {
  return new ConsulError("AclNotFound", "ACL not found");
}
