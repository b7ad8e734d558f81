// ACL objects as Consul's JSON names them (agent/structs/acl.go, spec/acl.md §2). Stored rows
// keep link IDs; link names are filled from the current policy/role at read time, as Consul's
// endpoints do, so a renamed policy never shows a stale name.

export interface AclLink {
  ID: string;
  Name: string;
}

export interface AclServiceIdentity {
  ServiceName: string;
  /** Empty or absent: valid in every datacenter. */
  Datacenters?: string[];
}

export interface AclNodeIdentity {
  NodeName: string;
  Datacenter: string;
}

export interface AclTemplatedPolicy {
  TemplateName: string;
  TemplateID?: string;
  TemplateVariables?: { Name: string };
  Datacenters?: string[];
}

export interface AclToken {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies: AclLink[];
  Roles: AclLink[];
  ServiceIdentities: AclServiceIdentity[];
  NodeIdentities: AclNodeIdentity[];
  TemplatedPolicies: AclTemplatedPolicy[];
  Local: boolean;
  AuthMethod?: string;
  /** RFC 3339; absent when the token never expires. */
  ExpirationTime?: string;
  /** RFC 3339 with nanoseconds, as Go prints time.Time. */
  CreateTime: string;
  /** base64 of the content hash. */
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface AclPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters?: string[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface AclRole {
  ID: string;
  Name: string;
  Description: string;
  Policies: AclLink[];
  ServiceIdentities: AclServiceIdentity[];
  NodeIdentities: AclNodeIdentity[];
  TemplatedPolicies: AclTemplatedPolicy[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type AclTokenFields = Omit<AclToken, "CreateIndex" | "ModifyIndex">;
export type AclPolicyFields = Omit<AclPolicy, "CreateIndex" | "ModifyIndex">;
export type AclRoleFields = Omit<AclRole, "CreateIndex" | "ModifyIndex">;

/** Whether a token has expired at `nowMs` (a token without ExpirationTime never does). */
export function aclTokenExpired(token: Pick<AclToken, "ExpirationTime">, nowMs: number): boolean {
  return aclTokenExpiresAtMs(token) < nowMs;
}

/** When a token stops resolving (Infinity: it never expires). */
export function aclTokenExpiresAtMs(token: Pick<AclToken, "ExpirationTime">): number {
  if (token.ExpirationTime === undefined) return Infinity;
  const at = Date.parse(token.ExpirationTime);
  return Number.isFinite(at) ? at : Infinity;
}
