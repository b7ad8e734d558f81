import type { AclNodeIdentity, AclPolicy, AclRole, AclServiceIdentity, AclTemplatedPolicy, AclToken } from "../model/acl.ts";
import { allowAllRules, Authorizer, denyAllRules, type StaticRules } from "./authorizer.ts";
import { nodeIdentityRules, serviceIdentityRules, TEMPLATED_POLICIES } from "./builtin.ts";
import { PolicyAuthorizer } from "./policy-authorizer.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { parseRulesSteps, type PolicyRules } from "./rules.ts";

// A token's effective rules: its policies ∪ its roles' policies ∪ the synthetic policies of
// its (and its roles') identities and templated policies, each only where its datacenters
// include this one (spec/acl.md §6 Evaluation). Compiled onto the default policy.

export interface AclObjectLookup {
  policy(id: string): AclPolicy | undefined;
  role(id: string): AclRole | undefined;
}

export interface ResolveSettings {
  datacenter: string;
  defaultPolicy: "allow" | "deny";
}

function appliesHere(datacenters: readonly string[] | undefined, dc: string): boolean {
  return !datacenters || datacenters.length === 0 || datacenters.includes(dc);
}

/** Parsed rules by text: policies are re-read on every resolution, parsed once. */
export class RulesCache {
  readonly #byText = new Map<string, PolicyRules>();
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  get(text: string): PolicyRules {
    return runWhole(this.getSteps(text));
  }

  /** `get` as sliced work: a text not parsed yet is parsed in steps (parseRulesSteps). */
  *getSteps(text: string): SlicedWork<PolicyRules> {
    let rules = this.#byText.get(text);
    if (rules) return rules;
    rules = yield* parseRulesSteps(text);
    if (this.#byText.size >= this.#limit) this.#byText.delete(this.#byText.keys().next().value as string);
    this.#byText.set(text, rules);
    return rules;
  }
}

function identityRules(
  services: readonly AclServiceIdentity[],
  nodes: readonly AclNodeIdentity[],
  templated: readonly AclTemplatedPolicy[],
  dc: string,
): string[] {
  const out: string[] = [];
  for (const s of services) if (appliesHere(s.Datacenters, dc)) out.push(serviceIdentityRules(s.ServiceName));
  for (const n of nodes) if (n.Datacenter === dc) out.push(nodeIdentityRules(n.NodeName));
  for (const t of templated) {
    const def = TEMPLATED_POLICIES.get(t.TemplateName);
    if (def && appliesHere(t.Datacenters, dc)) out.push(def.rules(t.TemplateVariables?.Name ?? ""));
  }
  return out;
}

/** The rule texts that apply to `token` in this datacenter (missing policies/roles are skipped). */
export function effectiveRuleTexts(token: AclToken, lookup: AclObjectLookup, dc: string): string[] {
  const texts: string[] = [];
  const policyIds = new Set<string>();
  const addPolicy = (id: string): void => {
    if (policyIds.has(id)) return;
    policyIds.add(id);
    const policy = lookup.policy(id);
    if (policy && appliesHere(policy.Datacenters, dc)) texts.push(policy.Rules);
  };
  for (const link of token.Policies) addPolicy(link.ID);
  for (const link of token.Roles) {
    const role = lookup.role(link.ID);
    if (!role) continue;
    for (const p of role.Policies) addPolicy(p.ID);
    texts.push(...identityRules(role.ServiceIdentities, role.NodeIdentities, role.TemplatedPolicies, dc));
  }
  texts.push(...identityRules(token.ServiceIdentities, token.NodeIdentities, token.TemplatedPolicies, dc));
  return texts;
}

export function defaultRules(defaultPolicy: "allow" | "deny"): StaticRules {
  return defaultPolicy === "allow" ? allowAllRules : denyAllRules;
}

/** The authorizer for `token`: its effective rules first, then the default policy. */
export function authorizerForToken(token: AclToken, lookup: AclObjectLookup, settings: ResolveSettings, cache: RulesCache): Authorizer {
  return runWhole(authorizerForTokenSteps(token, lookup, settings, cache));
}

/** authorizerForToken as sliced work (compileAuthorizerSteps). */
export function authorizerForTokenSteps(token: AclToken, lookup: AclObjectLookup, settings: ResolveSettings, cache: RulesCache): SlicedWork<Authorizer> {
  return compileAuthorizerSteps(token.AccessorID, effectiveRuleTexts(token, lookup, settings.datacenter), settings, cache);
}

/**
 * The authorizer for rule texts a token resolved to (effectiveRuleTexts), onto the default
 * policy, as sliced work: texts not parsed yet are parsed in steps, and the merge of all rules
 * into lookup trees pauses every RULES_PER_STEP rules. A token whose policies hold a 512 KiB
 * Rules text is ~15,000 rules, 70–150 ms of work that must not take one turn of the event loop.
 */
export function* compileAuthorizerSteps(accessorId: string, texts: readonly string[], settings: ResolveSettings, cache: RulesCache): SlicedWork<Authorizer> {
  const policies: PolicyRules[] = [];
  for (const text of texts) policies.push(yield* cache.getSteps(text));
  const rules = yield* PolicyAuthorizer.compileSteps(policies);
  return new Authorizer(accessorId, [rules], defaultRules(settings.defaultPolicy));
}
