import { nodeIdentityRules, serviceIdentityRules, syntheticPolicyId, TEMPLATED_POLICIES } from "../../acl/builtin.ts";
import { contentHash } from "../../acl/object-ids.ts";
import type { AclNodeIdentity, AclServiceIdentity, AclTemplatedPolicy, AclToken } from "../../model/acl.ts";
import type { AclTables } from "../../state/acl-tables.ts";
import { policyView, roleView, tokenView } from "./acl-views.ts";

// GET /v1/acl/token/:id?expanded (Consul's ACLTokenExpanded): the token plus every policy and
// role it draws on, the synthetic policies of its identities and templated policies included,
// and the agent settings that resolved it.

export interface ExpansionSettings {
  defaultPolicy: string;
  downPolicy: string;
  nodeName: string;
}

function synthetic(rules: string, description: string, datacenters: readonly string[] | undefined): Record<string, unknown> {
  const id = syntheticPolicyId(rules);
  const name = `synthetic-policy-${id}`;
  const out: Record<string, unknown> = { ID: id, Name: name, Description: description, Rules: rules };
  if (datacenters && datacenters.length > 0) out.Datacenters = datacenters;
  out.Hash = contentHash([name, description, rules, ...(datacenters ?? [])]);
  out.CreateIndex = 0;
  out.ModifyIndex = 0;
  return out;
}

function identityPolicies(
  services: readonly AclServiceIdentity[],
  nodes: readonly AclNodeIdentity[],
  templated: readonly AclTemplatedPolicy[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const s of services) out.push(synthetic(serviceIdentityRules(s.ServiceName), `synthetic policy for service identity "${s.ServiceName}"`, s.Datacenters));
  for (const n of nodes) out.push(synthetic(nodeIdentityRules(n.NodeName), `synthetic policy for node identity "${n.NodeName}"`, [n.Datacenter]));
  for (const t of templated) {
    const def = TEMPLATED_POLICIES.get(t.TemplateName);
    if (def) out.push(synthetic(def.rules(t.TemplateVariables?.Name ?? ""), `synthetic policy generated from templated policy: ${t.TemplateName}`, t.Datacenters));
  }
  return out;
}

export function expandedTokenView(tables: AclTables, token: AclToken, showSecret: boolean, settings: ExpansionSettings): Record<string, unknown> {
  const policies: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const addPolicy = (id: string): void => {
    const p = tables.policies.get(id);
    if (!p || seen.has(p.ID)) return;
    seen.add(p.ID);
    policies.push(policyView(p));
  };
  for (const link of token.Policies) addPolicy(link.ID);
  const roles: Record<string, unknown>[] = [];
  for (const link of token.Roles) {
    const r = tables.roles.get(link.ID);
    if (!r) continue;
    roles.push(roleView(tables, r));
    for (const p of r.Policies) addPolicy(p.ID);
    policies.push(...identityPolicies(r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies));
  }
  policies.push(...identityPolicies(token.ServiceIdentities, token.NodeIdentities, token.TemplatedPolicies));
  return {
    ...tokenView(tables, token, showSecret),
    ExpandedPolicies: policies.length > 0 ? policies : null,
    ExpandedRoles: roles.length > 0 ? roles : null,
    NamespaceDefaultPolicyIDs: null,
    NamespaceDefaultRoleIDs: null,
    AgentACLDefaultPolicy: settings.defaultPolicy,
    AgentACLDownPolicy: settings.downPolicy,
    ResolvedByAgent: settings.nodeName,
  };
}
