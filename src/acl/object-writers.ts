import type {
  AclLink, AclNodeIdentity, AclPolicyFields, AclRoleFields, AclServiceIdentity, AclTemplatedPolicy, AclToken, AclTokenFields,
} from "../model/acl.ts";
import type { AclTables } from "../state/acl-tables.ts";
import { formatGoDuration } from "../model/duration.ts";
import { aclWriteFailed, invalidAclRequest } from "./acl-request-error.ts";
import {
  ANONYMOUS_TOKEN_ACCESSOR_ID, GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_READ_ONLY_POLICY_ID, isValidIdentityName, TEMPLATED_POLICIES,
} from "./builtin.ts";
import { contentHash, contentHashSteps, formatGoTime, isReservedId, isUuid, newObjectId } from "./object-ids.ts";
import { runSliced, runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { parseRulesSteps, RulesError } from "./rules.ts";

// What the leader checks before proposing an ACL write, with Consul's texts (agent/consul/
// acl_endpoint.go, auth/token_writer.go). Validation failures of the rule language answer
// 400 (spec/acl.md §6); the other refusals answer 500 as Consul's RPC errors do, because
// clients (consul-k8s, terraform) match on `Unexpected response code: 500 (Invalid Policy: …)`.

export interface WriterContext {
  tables: AclTables;
  nowMs: number;
  uuid: () => string;
  minExpirationTtlMs: number;
  maxExpirationTtlMs: number;
}

/** A token as a request body describes it (absent fields decoded as empty). */
export interface TokenInput {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies: AclLink[];
  Roles: AclLink[];
  ServiceIdentities: AclServiceIdentity[];
  NodeIdentities: AclNodeIdentity[];
  TemplatedPolicies: AclTemplatedPolicy[];
  Local: boolean;
  AuthMethod: string;
  /** RFC 3339 as sent; "" when absent. */
  ExpirationTime: string;
  ExpirationTtlMs: number;
}

const fail = (message: string) => aclWriteFailed(message);

/**
 * Links and identities checked, or hash parts hashed, between two pauses of a role or token
 * write (issue 12 item 6: a role near the body cap holding ~15k service identities was one
 * ~40 ms turn). The builders are sliced work; the sync forms run them whole.
 */
export const LINKS_PER_STEP = 256;

/** Counts items since the last pause; `tick` pauses once LINKS_PER_STEP went by. */
class Pace {
  #count = 0;
  *tick(): SlicedWork<void> {
    if (++this.#count < LINKS_PER_STEP) return;
    this.#count = 0;
    yield;
  }
}

function* normalizePolicyLinks(tables: AclTables, links: readonly AclLink[], pace: Pace): SlicedWork<AclLink[]> {
  const out: AclLink[] = [];
  const seen = new Set<string>();
  for (const link of links) {
    let id = link.ID;
    if (id === "") {
      const p = tables.policies.getByName(link.Name);
      if (!p) throw fail(`No such ACL policy with name "${link.Name}"`);
      id = p.ID;
    } else if (!tables.policies.get(id)) {
      throw fail(`No such ACL policy with ID "${id}"`);
    }
    if (!seen.has(id)) {
      seen.add(id);
      out.push({ ID: id, Name: "" });
    }
    yield* pace.tick();
  }
  return out;
}

function* normalizeRoleLinks(tables: AclTables, links: readonly AclLink[], pace: Pace): SlicedWork<AclLink[]> {
  const out: AclLink[] = [];
  const seen = new Set<string>();
  for (const link of links) {
    let id = link.ID;
    if (id === "") {
      const r = tables.roles.getByName(link.Name);
      if (!r) throw fail(`No such ACL role with name "${link.Name}"`);
      id = r.ID;
    } else if (!tables.roles.get(id)) {
      throw fail(`No such ACL role with ID "${id}"`);
    }
    if (!seen.has(id)) {
      seen.add(id);
      out.push({ ID: id, Name: "" });
    }
    yield* pace.tick();
  }
  return out;
}

function* normalizeServiceIdentities(ids: readonly AclServiceIdentity[], owner: "token" | "role", local: boolean, pace: Pace): SlicedWork<AclServiceIdentity[]> {
  const merged = new Map<string, Set<string>>();
  for (const id of ids) {
    if (id.ServiceName === "") throw fail(`Service identity is missing the service name field on this ${owner}`);
    if (local && (id.Datacenters?.length ?? 0) > 0) {
      throw fail(`Service identity "${id.ServiceName}" cannot specify a list of datacenters on a local token`);
    }
    if (!isValidIdentityName(id.ServiceName)) {
      throw fail(`Service identity "${id.ServiceName}" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
    }
    const dcs = merged.get(id.ServiceName) ?? new Set<string>();
    for (const dc of id.Datacenters ?? []) dcs.add(dc);
    merged.set(id.ServiceName, dcs);
    yield* pace.tick();
  }
  const out: AclServiceIdentity[] = [];
  for (const [ServiceName, dcs] of merged) {
    out.push(dcs.size > 0 ? { ServiceName, Datacenters: [...dcs].sort() } : { ServiceName });
    yield* pace.tick();
  }
  return out;
}

function* normalizeNodeIdentities(ids: readonly AclNodeIdentity[], owner: "token" | "role", pace: Pace): SlicedWork<AclNodeIdentity[]> {
  const out: AclNodeIdentity[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    if (id.NodeName === "") throw fail(`Node identity is missing the node name field on this ${owner}`);
    if (id.Datacenter === "") throw fail(`Node identity is missing the datacenter field on this ${owner}`);
    if (!isValidIdentityName(id.NodeName)) {
      throw fail("Node identity has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed");
    }
    const key = `${id.NodeName}\0${id.Datacenter}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ NodeName: id.NodeName, Datacenter: id.Datacenter });
    }
    yield* pace.tick();
  }
  return out;
}

function* normalizeTemplatedPolicies(tps: readonly AclTemplatedPolicy[], pace: Pace): SlicedWork<AclTemplatedPolicy[]> {
  const out: AclTemplatedPolicy[] = [];
  const seen = new Set<string>();
  for (const tp of tps) {
    if (tp.TemplateName === "") throw fail("templated policy is missing the template name field on this token");
    const def = TEMPLATED_POLICIES.get(tp.TemplateName);
    if (!def) throw fail(`no such ACL templated policy with Name "${tp.TemplateName}"`);
    const name = tp.TemplateVariables?.Name ?? "";
    if (def.needsName) {
      if (name === "") throw fail(`validation error for templated policy: ${tp.TemplateName}: name: name is required`);
      const kind = tp.TemplateName === "builtin/service" ? "service" : "node";
      if (!isValidIdentityName(name)) {
        throw fail(`validation error for templated policy: ${tp.TemplateName}: ${kind} identity "${name}" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
      }
    }
    const key = def.needsName ? `${tp.TemplateName}\0${name}` : tp.TemplateName;
    if (seen.has(key)) {
      yield* pace.tick();
      continue;
    }
    seen.add(key);
    const normalized: AclTemplatedPolicy = { TemplateName: def.TemplateName, TemplateID: def.TemplateID };
    if (def.needsName) normalized.TemplateVariables = { Name: name };
    if (tp.Datacenters && tp.Datacenters.length > 0) normalized.Datacenters = [...tp.Datacenters];
    out.push(normalized);
    yield* pace.tick();
  }
  return out;
}

/** The service and node identities' part of a token's or a role's Hash, in order. */
function* identityHashParts(h: Pick<AclRoleFields, "ServiceIdentities" | "NodeIdentities">): Generator<string, void, void> {
  for (const s of h.ServiceIdentities) {
    yield s.ServiceName;
    yield* s.Datacenters ?? [];
  }
  for (const n of h.NodeIdentities) {
    yield n.NodeName;
    yield n.Datacenter;
  }
}

/** The parts a token's Hash covers, in order, produced lazily so hashing can pause. */
function* tokenHashParts(t: Omit<AclTokenFields, "Hash">): Generator<string, void, void> {
  yield t.Description;
  yield t.Local ? "local" : "global";
  for (const p of t.Policies) yield p.ID;
  for (const r of t.Roles) yield r.ID;
  yield* identityHashParts(t);
  for (const tp of t.TemplatedPolicies) {
    yield tp.TemplateName;
    yield tp.TemplateVariables?.Name ?? "";
    yield* tp.Datacenters ?? [];
  }
}

function* withLinks(w: WriterContext, input: TokenInput, base: Omit<AclTokenFields, "Hash" | "Policies" | "Roles" | "ServiceIdentities" | "NodeIdentities" | "TemplatedPolicies">): SlicedWork<AclTokenFields> {
  const pace = new Pace();
  const fields: Omit<AclTokenFields, "Hash"> = {
    ...base,
    Policies: yield* normalizePolicyLinks(w.tables, input.Policies, pace),
    Roles: yield* normalizeRoleLinks(w.tables, input.Roles, pace),
    ServiceIdentities: yield* normalizeServiceIdentities(input.ServiceIdentities, "token", input.Local, pace),
    NodeIdentities: yield* normalizeNodeIdentities(input.NodeIdentities, "token", pace),
    TemplatedPolicies: yield* normalizeTemplatedPolicies(input.TemplatedPolicies, pace),
  };
  return { ...fields, Hash: yield* contentHashSteps(tokenHashParts(fields), LINKS_PER_STEP) };
}

function parseExpiration(raw: string): number {
  const at = Date.parse(raw);
  if (!Number.isFinite(at)) throw invalidAclRequest(`Token decoding failed: parsing time "${raw}" as RFC 3339: cannot parse`);
  return at;
}

function tokenIdInUse(tables: AclTables, id: string): boolean {
  return tables.tokens.get(id) !== undefined || tables.tokens.getBySecret(id) !== undefined;
}

function checkNewTokenId(id: string, what: "AccessorID" | "SecretID"): void {
  if (isReservedId(id)) throw fail(`Invalid Token: ${what} - UUIDs with the prefix "00000000-0000-0000-0000-0000000000" are reserved`);
  if (!isUuid(id)) throw fail(`Invalid Token: ${what} - not a valid UUID`);
}

/** A new token (PUT /v1/acl/token, clone, bootstrap): IDs generated or checked, expiration fixed. */
export function buildNewToken(w: WriterContext, input: TokenInput): AclTokenFields {
  return runWhole(buildNewTokenSteps(w, input));
}

/** buildNewToken as sliced work (pauses only in the links, after every ID and expiry check). */
export function* buildNewTokenSteps(w: WriterContext, input: TokenInput): SlicedWork<AclTokenFields> {
  let accessor = input.AccessorID;
  if (accessor === "") accessor = newObjectId(w.uuid);
  else {
    checkNewTokenId(accessor, "AccessorID");
    if (tokenIdInUse(w.tables, accessor)) throw fail("Invalid Token: AccessorID is already in use");
  }
  let secret = input.SecretID;
  if (secret === "") secret = newObjectId(w.uuid);
  else {
    checkNewTokenId(secret, "SecretID");
    if (tokenIdInUse(w.tables, secret)) throw fail("Invalid Token: SecretID is already in use");
  }
  let expiresAt: number | undefined = input.ExpirationTime === "" ? undefined : parseExpiration(input.ExpirationTime);
  if (input.ExpirationTtlMs < 0) throw fail(`Token Expiration TTL '${formatGoDuration(input.ExpirationTtlMs)}' should be > 0`);
  if (input.ExpirationTtlMs > 0) {
    if (expiresAt !== undefined) throw fail("Token Expiration TTL and Expiration Time cannot both be set");
    expiresAt = w.nowMs + input.ExpirationTtlMs;
  }
  if (expiresAt !== undefined) {
    if (expiresAt < w.nowMs) throw fail("ExpirationTime cannot be before CreateTime");
    const expiresIn = expiresAt - w.nowMs;
    if (expiresIn > w.maxExpirationTtlMs) {
      throw fail(`ExpirationTime cannot be more than ${formatGoDuration(w.maxExpirationTtlMs)} in the future (was ${formatGoDuration(expiresIn)})`);
    }
    if (expiresIn < w.minExpirationTtlMs) {
      throw fail(`ExpirationTime cannot be less than ${formatGoDuration(w.minExpirationTtlMs)} in the future (was ${formatGoDuration(expiresIn)})`);
    }
  }
  if (input.AuthMethod !== "") throw fail("AuthMethod field is disallowed outside of login");
  const base = {
    AccessorID: accessor,
    SecretID: secret,
    Description: input.Description,
    Local: input.Local,
    CreateTime: formatGoTime(w.nowMs),
    ...(expiresAt !== undefined ? { ExpirationTime: formatGoTime(expiresAt) } : {}),
  };
  return yield* withLinks(w, input, base);
}

/** An update (PUT /v1/acl/token/:id): the IDs, locality, auth method and expiry stay. */
export function buildTokenUpdate(w: WriterContext, input: TokenInput): AclTokenFields {
  return runWhole(buildTokenUpdateSteps(w, input));
}

/** buildTokenUpdate as sliced work (pauses only in the links, after every other check). */
export function* buildTokenUpdateSteps(w: WriterContext, input: TokenInput): SlicedWork<AclTokenFields> {
  if (!isUuid(input.AccessorID)) throw fail("AccessorID is not a valid UUID");
  const match = w.tables.tokens.get(input.AccessorID);
  if (!match || isExpired(match, w.nowMs)) throw fail(`Cannot find token "${input.AccessorID}"`);
  if (input.SecretID !== "" && input.SecretID !== match.SecretID) throw fail("Changing a token's SecretID is not permitted");
  if (input.Local !== match.Local) throw fail(`Cannot toggle local mode of ${input.AccessorID}`);
  if (input.AuthMethod !== "" && input.AuthMethod !== (match.AuthMethod ?? "")) throw fail(`Cannot change AuthMethod of ${input.AccessorID}`);
  if (input.ExpirationTtlMs !== 0) throw fail(`Cannot change expiration time of ${input.AccessorID}`);
  if (input.ExpirationTime !== "") {
    const at = parseExpiration(input.ExpirationTime);
    if (match.ExpirationTime === undefined || Date.parse(match.ExpirationTime) !== at) throw fail(`Cannot change expiration time of ${input.AccessorID}`);
  }
  const base = {
    AccessorID: match.AccessorID,
    SecretID: match.SecretID,
    Description: input.Description,
    Local: match.Local,
    CreateTime: match.CreateTime,
    ...(match.AuthMethod ? { AuthMethod: match.AuthMethod } : {}),
    ...(match.ExpirationTime !== undefined ? { ExpirationTime: match.ExpirationTime } : {}),
  };
  return yield* withLinks(w, input, base);
}

function isExpired(token: AclToken, nowMs: number): boolean {
  return token.ExpirationTime !== undefined && Date.parse(token.ExpirationTime) < nowMs;
}

/** A clone: the source's links and locality with new IDs; the description may be replaced. */
export function buildTokenClone(w: WriterContext, sourceAccessor: string, description: string | undefined): AclTokenFields {
  return runWhole(buildTokenCloneSteps(w, sourceAccessor, description));
}

/** buildTokenClone as sliced work. */
export function* buildTokenCloneSteps(w: WriterContext, sourceAccessor: string, description: string | undefined): SlicedWork<AclTokenFields> {
  const src = w.tables.tokens.get(sourceAccessor);
  if (!src || isExpired(src, w.nowMs)) throw fail("Cannot find token to clone");
  if (src.AuthMethod) throw fail("Cannot clone a token created from an auth method");
  return yield* buildNewTokenSteps(w, {
    AccessorID: "",
    SecretID: "",
    Description: description ?? src.Description,
    Policies: src.Policies,
    Roles: src.Roles,
    ServiceIdentities: src.ServiceIdentities,
    NodeIdentities: src.NodeIdentities,
    TemplatedPolicies: src.TemplatedPolicies,
    Local: src.Local,
    AuthMethod: "",
    ExpirationTime: src.ExpirationTime ?? "",
    ExpirationTtlMs: 0,
  });
}

/** Tokens the API may not delete. */
export function checkTokenDeletable(accessorId: string): void {
  if (accessorId === ANONYMOUS_TOKEN_ACCESSOR_ID) throw fail("Delete operation not permitted on the anonymous token");
}

const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

export interface PolicyInput {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters: string[] | undefined;
}

/** The verdict on a policy's Rules, reached ahead of buildPolicy; undefined when they parse. */
export interface RulesCheck {
  error: RulesError | undefined;
}

/**
 * Parses the rules in slices (issue 12 item 6: rules near the body cap took one 70 ms turn).
 * It runs before buildPolicy's table checks rather than inside them so those checks and the ID
 * they choose stay in one turn; buildPolicy throws the verdict where Consul's order puts it.
 */
export async function checkPolicyRules(rules: string): Promise<RulesCheck> {
  try {
    await runSliced(parseRulesSteps(rules));
    return { error: undefined };
  } catch (err) {
    if (err instanceof RulesError) return { error: err };
    throw err;
  }
}

/** Create (ID "") or update a policy, as ACL.PolicySet does; `rules` from checkPolicyRules. */
export function buildPolicy(w: WriterContext, input: PolicyInput, rules: RulesCheck): AclPolicyFields {
  if (input.Name === "") throw fail("Invalid Policy: no Name is set");
  const existing = input.ID === "" ? undefined : w.tables.policies.get(input.ID);
  const builtinName = existing !== undefined && (existing.ID === GLOBAL_MANAGEMENT_POLICY_ID || existing.ID === GLOBAL_READ_ONLY_POLICY_ID) && existing.Name === input.Name;
  if (!builtinName && !POLICY_NAME.test(input.Name)) throw fail("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const nameMatch = w.tables.policies.getByName(input.Name);
  let id = input.ID;
  if (id === "") {
    id = newObjectId(w.uuid);
    if (nameMatch) throw fail(`Invalid Policy: A Policy with Name "${input.Name}" already exists`);
  } else {
    if (!isUuid(id)) throw fail("Policy ID invalid UUID");
    if (!existing) throw fail(`cannot find policy ${id}`);
    if (existing.Name !== input.Name && nameMatch) throw fail(`Invalid Policy: A policy with name "${input.Name}" already exists`);
    for (const [builtinId, label] of [[GLOBAL_MANAGEMENT_POLICY_ID, "global-management"], [GLOBAL_READ_ONLY_POLICY_ID, "global-read-only"]] as const) {
      if (id !== builtinId) continue;
      if (input.Datacenters !== undefined && input.Datacenters.length > 0) throw fail(`Changing the Datacenters of the builtin ${label} policy is not permitted`);
      if (input.Rules !== existing.Rules) throw fail(`Changing the Rules for the builtin ${label} policy is not permitted`);
    }
  }
  if (rules.error) throw invalidAclRequest(rules.error.message);
  const datacenters = input.Datacenters && input.Datacenters.length > 0 ? [...input.Datacenters] : undefined;
  const fields = { ID: id, Name: input.Name, Description: input.Description, Rules: input.Rules, ...(datacenters ? { Datacenters: datacenters } : {}) };
  return { ...fields, Hash: contentHash([fields.Name, fields.Description, fields.Rules, ...(datacenters ?? [])]) };
}

export function checkPolicyDeletable(id: string): void {
  if (id === GLOBAL_MANAGEMENT_POLICY_ID) throw fail("Delete operation not permitted on the builtin global-management policy");
  if (id === GLOBAL_READ_ONLY_POLICY_ID) throw fail("Delete operation not permitted on the builtin global-read-only policy");
}

export interface RoleInput {
  ID: string;
  Name: string;
  Description: string;
  Policies: AclLink[];
  ServiceIdentities: AclServiceIdentity[];
  NodeIdentities: AclNodeIdentity[];
  TemplatedPolicies: AclTemplatedPolicy[];
}

/** Create (ID "") or update a role, as ACL.RoleSet does. */
export function buildRole(w: WriterContext, input: RoleInput): AclRoleFields {
  return runWhole(buildRoleSteps(w, input));
}

/** The parts a role's Hash covers, in order, produced lazily so hashing can pause. */
function* roleHashParts(r: Omit<AclRoleFields, "Hash">): Generator<string, void, void> {
  yield r.Name;
  yield r.Description;
  for (const p of r.Policies) yield p.ID;
  yield* identityHashParts(r);
  for (const tp of r.TemplatedPolicies) {
    yield tp.TemplateName;
    yield tp.TemplateVariables?.Name ?? "";
  }
}

/** buildRole as sliced work (pauses only in the links, after the name and ID checks). */
export function* buildRoleSteps(w: WriterContext, input: RoleInput): SlicedWork<AclRoleFields> {
  if (input.Name === "") throw fail("Invalid Role: no Name is set");
  if (!ROLE_NAME.test(input.Name)) throw fail("Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const nameMatch = w.tables.roles.getByName(input.Name);
  let id = input.ID;
  if (id === "") {
    id = newObjectId(w.uuid);
    if (nameMatch) throw fail(`Invalid Role: A Role with Name "${input.Name}" already exists`);
  } else {
    if (!isUuid(id)) throw fail("Role ID invalid UUID");
    const existing = w.tables.roles.get(id);
    if (!existing) throw fail(`cannot find role ${id}`);
    if (existing.Name !== input.Name && nameMatch) throw fail(`Invalid Role: A role with name "${input.Name}" already exists`);
  }
  const pace = new Pace();
  const fields = {
    ID: id,
    Name: input.Name,
    Description: input.Description,
    Policies: yield* normalizePolicyLinks(w.tables, input.Policies, pace),
    ServiceIdentities: yield* normalizeServiceIdentities(input.ServiceIdentities, "role", false, pace),
    NodeIdentities: yield* normalizeNodeIdentities(input.NodeIdentities, "role", pace),
    TemplatedPolicies: yield* normalizeTemplatedPolicies(input.TemplatedPolicies, pace),
  };
  return { ...fields, Hash: yield* contentHashSteps(roleHashParts(fields), LINKS_PER_STEP) };
}
