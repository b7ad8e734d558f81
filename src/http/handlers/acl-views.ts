import type { AclLink, AclPolicy, AclRole, AclServiceIdentity, AclTemplatedPolicy, AclToken } from "../../model/acl.ts";
import type { AclTables } from "../../state/acl-tables.ts";

// ACL objects as Consul's JSON shows them, in Go's field order. Links carry the current name
// of what they point at; links to deleted policies or roles are left out, as Consul does.

export const HIDDEN_SECRET = "<hidden>";

function policyLinks(tables: AclTables, links: readonly AclLink[]): AclLink[] {
  const out: AclLink[] = [];
  for (const l of links) {
    const p = tables.policies.get(l.ID);
    if (p) out.push({ ID: p.ID, Name: p.Name });
  }
  return out;
}

function roleLinks(tables: AclTables, links: readonly AclLink[]): AclLink[] {
  const out: AclLink[] = [];
  for (const l of links) {
    const r = tables.roles.get(l.ID);
    if (r) out.push({ ID: r.ID, Name: r.Name });
  }
  return out;
}

function serviceIdentities(ids: readonly AclServiceIdentity[]): Record<string, unknown>[] {
  return ids.map((s) => (s.Datacenters && s.Datacenters.length > 0 ? { ServiceName: s.ServiceName, Datacenters: s.Datacenters } : { ServiceName: s.ServiceName }));
}

/** Consul's ACLTemplatedPolicyVariables is tagged `json:"name"`: the key is lower-case. */
function templatedPolicies(tps: readonly AclTemplatedPolicy[]): Record<string, unknown>[] {
  return tps.map((tp) => {
    const out: Record<string, unknown> = {};
    if (tp.TemplateID) out.TemplateID = tp.TemplateID;
    out.TemplateName = tp.TemplateName;
    if (tp.TemplateVariables && tp.TemplateVariables.Name !== "") out.TemplateVariables = { name: tp.TemplateVariables.Name };
    if (tp.Datacenters && tp.Datacenters.length > 0) out.Datacenters = tp.Datacenters;
    return out;
  });
}

/** Slices tagged omitempty: present only when non-empty. */
function putNonEmpty(out: Record<string, unknown>, key: string, list: readonly unknown[]): void {
  if (list.length > 0) out[key] = list;
}

/** A token (also the list entry: Consul's stub has the same fields). */
export function tokenView(tables: AclTables, t: AclToken, showSecret: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    AccessorID: t.AccessorID,
    SecretID: showSecret ? t.SecretID : HIDDEN_SECRET,
    Description: t.Description,
  };
  putNonEmpty(out, "Policies", policyLinks(tables, t.Policies));
  putNonEmpty(out, "Roles", roleLinks(tables, t.Roles));
  putNonEmpty(out, "ServiceIdentities", serviceIdentities(t.ServiceIdentities));
  putNonEmpty(out, "NodeIdentities", t.NodeIdentities);
  putNonEmpty(out, "TemplatedPolicies", templatedPolicies(t.TemplatedPolicies));
  out.Local = t.Local;
  if (t.AuthMethod) out.AuthMethod = t.AuthMethod;
  if (t.ExpirationTime !== undefined) out.ExpirationTime = t.ExpirationTime;
  out.CreateTime = t.CreateTime;
  out.Hash = t.Hash;
  out.CreateIndex = t.CreateIndex;
  out.ModifyIndex = t.ModifyIndex;
  return out;
}

export function policyView(p: AclPolicy): Record<string, unknown> {
  const out: Record<string, unknown> = { ID: p.ID, Name: p.Name, Description: p.Description, Rules: p.Rules };
  if (p.Datacenters && p.Datacenters.length > 0) out.Datacenters = p.Datacenters;
  out.Hash = p.Hash;
  out.CreateIndex = p.CreateIndex;
  out.ModifyIndex = p.ModifyIndex;
  return out;
}

/** A policy list entry: no Rules; Datacenters is not omitempty there (null when unset). */
export function policyStubView(p: AclPolicy): Record<string, unknown> {
  return {
    ID: p.ID,
    Name: p.Name,
    Description: p.Description,
    Datacenters: p.Datacenters && p.Datacenters.length > 0 ? p.Datacenters : null,
    Hash: p.Hash,
    CreateIndex: p.CreateIndex,
    ModifyIndex: p.ModifyIndex,
  };
}

export function roleView(tables: AclTables, r: AclRole): Record<string, unknown> {
  const out: Record<string, unknown> = { ID: r.ID, Name: r.Name, Description: r.Description };
  putNonEmpty(out, "Policies", policyLinks(tables, r.Policies));
  putNonEmpty(out, "ServiceIdentities", serviceIdentities(r.ServiceIdentities));
  putNonEmpty(out, "NodeIdentities", r.NodeIdentities);
  putNonEmpty(out, "TemplatedPolicies", templatedPolicies(r.TemplatedPolicies));
  out.Hash = r.Hash;
  out.CreateIndex = r.CreateIndex;
  out.ModifyIndex = r.ModifyIndex;
  return out;
}
