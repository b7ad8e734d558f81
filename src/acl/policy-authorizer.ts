import type { Operation, RuleDecision, RuleSource } from "./authorizer.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { emptyRules, LABELLED_RESOURCES, StepCounter, UNLABELLED_RESOURCES, type AccessLevel, type LabelledResource, type LabelledRule, type PolicyRules } from "./rules.ts";

// The rules of a token's policies compiled into one decision source (acl/policy_merger.go and
// policy_authorizer.go). Rules for the same name merge first (deny beats write beats list
// beats read); then a name is decided by its exact rule, else its longest matching prefix
// rule, else "default". Every lookup is O(number of distinct prefix lengths).

/** Does `a` win over `b` when two rules name the same thing? (takesPrecedenceOver) */
export function takesPrecedenceOver(a: string, b: string): boolean {
  for (const level of ["deny", "write", "list", "read"]) {
    if (a === level) return true;
    if (b === level) return false;
  }
  return false;
}

/** Merges many policies' rules into one set with a single rule per name and form. */
export function mergeRules(all: readonly PolicyRules[]): PolicyRules {
  return runWhole(mergeRulesSteps(all, new StepCounter()));
}

/** mergeRules as sliced work: pauses every RULES_PER_STEP rules. */
function* mergeRulesSteps(all: readonly PolicyRules[], steps: StepCounter): SlicedWork<PolicyRules> {
  const merged = emptyRules();
  const maps = {} as Record<LabelledResource, { exact: Map<string, LabelledRule>; prefix: Map<string, LabelledRule> }>;
  for (const r of LABELLED_RESOURCES) maps[r] = { exact: new Map(), prefix: new Map() };
  for (const rules of all) {
    for (const u of UNLABELLED_RESOURCES) {
      if (takesPrecedenceOver(rules.unlabelled[u], merged.unlabelled[u])) merged.unlabelled[u] = rules.unlabelled[u];
    }
    for (const r of LABELLED_RESOURCES) {
      for (const form of ["exact", "prefix"] as const) {
        const into = maps[r][form];
        for (const rule of rules.labelled[r][form]) {
          yield* steps.tick();
          const existing = into.get(rule.name);
          if (!existing) {
            into.set(rule.name, { ...rule });
            continue;
          }
          // Service rules merge the policy and the intentions disposition independently.
          if (takesPrecedenceOver(rule.policy, existing.policy)) existing.policy = rule.policy;
          if (r === "service" && takesPrecedenceOver(rule.intentions, existing.intentions)) existing.intentions = rule.intentions;
        }
      }
    }
  }
  for (const r of LABELLED_RESOURCES) {
    merged.labelled[r].exact = [...maps[r].exact.values()];
    merged.labelled[r].prefix = [...maps[r].prefix.values()];
  }
  return merged;
}

type Required = "read" | "list" | "write";

/** What a rule at `level` says about `required` access (acl/policy_authorizer.go enforce). */
function enforce(level: AccessLevel | undefined, required: Required): RuleDecision {
  switch (level) {
    case "write":
      return "allow";
    case "list":
      return required === "list" || required === "read" ? "allow" : "deny";
    case "read":
      return required === "read" ? "allow" : "deny";
    case "deny":
      return "deny";
    default:
      return "default";
  }
}

interface Leaf {
  exact?: AccessLevel;
  prefix?: AccessLevel;
}

/** The rules for one labelled resource: leaves by name and the prefix lengths present. */
class RuleTree {
  readonly leaves = new Map<string, Leaf>();
  /** Distinct lengths of prefix rules, longest first. */
  #prefixLengths: number[] = [];

  insert(name: string, level: AccessLevel, prefix: boolean): void {
    let leaf = this.leaves.get(name);
    if (!leaf) {
      leaf = {};
      this.leaves.set(name, leaf);
    }
    if (prefix) {
      leaf.prefix = level;
      if (!this.#prefixLengths.includes(name.length)) {
        this.#prefixLengths.push(name.length);
        this.#prefixLengths.sort((a, b) => b - a);
      }
    } else {
      leaf.exact = level;
    }
  }

  /** The exact rule for `name`, else the longest prefix rule matching it (getPolicy). */
  lookup(name: string): AccessLevel | undefined {
    const own = this.leaves.get(name);
    if (own?.exact !== undefined) return own.exact;
    for (const len of this.#prefixLengths) {
      if (len > name.length) continue;
      const leaf = len === name.length ? own : this.leaves.get(name.slice(0, len));
      if (leaf?.prefix !== undefined) return leaf.prefix;
    }
    return undefined;
  }

  decide(name: string, required: Required): RuleDecision {
    return enforce(this.lookup(name), required);
  }

  /** Some name is allowed (anyAllowed): a granting "" prefix, or any granting rule. */
  anyAllowed(required: Required): RuleDecision {
    let decision: RuleDecision = "default";
    const root = this.leaves.get("");
    if (root) {
      decision = enforce(root.prefix, required);
      if (decision === "allow") return "allow";
    }
    for (const leaf of this.leaves.values()) {
      if (enforce(leaf.prefix, required) === "allow" || enforce(leaf.exact, required) === "allow") return "allow";
    }
    return decision;
  }

  /** Every name is allowed (allAllowed): no rule anywhere refuses, and "" decides the rest. */
  allAllowed(required: Required): RuleDecision {
    let decision: RuleDecision = "default";
    const root = this.leaves.get("");
    if (root) {
      decision = enforce(root.prefix, required);
      if (decision === "deny") return "deny";
    }
    for (const leaf of this.leaves.values()) {
      const prefixDecision = enforce(leaf.prefix, required);
      if (prefixDecision === "deny") return "deny";
      if (enforce(leaf.exact, required) === "deny") return "deny";
    }
    return decision;
  }

  /**
   * Write on a whole subtree (KeyWritePrefix): the longest prefix rule covering `prefix` must
   * grant write, and no rule (exact or prefix) at or under `prefix` may grant less.
   */
  writePrefix(prefix: string): RuleDecision {
    let base: RuleDecision = "default";
    for (let len = 0; len <= prefix.length; len++) {
      const leaf = this.leaves.get(prefix.slice(0, len));
      if (leaf?.prefix !== undefined) base = leaf.prefix === "write" ? "allow" : "deny";
    }
    if (base === "deny") return "deny";
    for (const [name, leaf] of this.leaves) {
      if (!name.startsWith(prefix)) continue;
      if (leaf.prefix !== undefined && leaf.prefix !== "write") return "deny";
      if (leaf.exact !== undefined && leaf.exact !== "write") return "deny";
    }
    return base;
  }
}

type Trees = Record<LabelledResource | "intention", RuleTree>;
type UnlabelledLevels = Record<"acl" | "keyring" | "operator" | "mesh" | "peering", AccessLevel | undefined>;

/** The merged rules as lookup trees: what a PolicyAuthorizer decides from. */
interface CompiledPolicies {
  trees: Trees;
  unlabelled: UnlabelledLevels;
}

/**
 * Merges the policies and builds the trees, pausing every RULES_PER_STEP rules: a 512 KiB
 * policy holds ~15,000 rules, tens of milliseconds to merge and insert in one go.
 */
function* compilePoliciesSteps(policies: readonly PolicyRules[], steps: StepCounter): SlicedWork<CompiledPolicies> {
  const rules = yield* mergeRulesSteps(policies, steps);
  const trees = {} as Trees;
  for (const r of [...LABELLED_RESOURCES, "intention" as const]) trees[r] = new RuleTree();
  for (const r of LABELLED_RESOURCES) {
    for (const form of ["exact", "prefix"] as const) {
      for (const rule of rules.labelled[r][form]) {
        yield* steps.tick();
        trees[r].insert(rule.name, rule.policy as AccessLevel, form === "prefix");
        if (r === "service") {
          // Without an explicit intentions disposition, read or write on the service
          // grants intentions:read; anything else denies.
          const intentions = rule.intentions !== "" ? rule.intentions : rule.policy === "read" || rule.policy === "write" ? "read" : "deny";
          trees.intention.insert(rule.name, intentions as AccessLevel, form === "prefix");
        }
      }
    }
  }
  const level = (s: string): AccessLevel | undefined => (s === "" ? undefined : (s as AccessLevel));
  const unlabelled = {
    acl: level(rules.unlabelled.acl),
    keyring: level(rules.unlabelled.keyring),
    operator: level(rules.unlabelled.operator),
    mesh: level(rules.unlabelled.mesh),
    peering: level(rules.unlabelled.peering),
  };
  return { trees, unlabelled };
}

/** A compiled set of policy rules: the decision source for a token's policies. */
export class PolicyAuthorizer implements RuleSource {
  readonly #trees: Trees;
  readonly #unlabelled: UnlabelledLevels;

  /** Compiles `policies` now, in this turn; `PolicyAuthorizer.compileSteps` is the sliced form. */
  constructor(policies: readonly PolicyRules[] | CompiledPolicies) {
    const compiled = "trees" in policies ? policies : runWhole(compilePoliciesSteps(policies, new StepCounter()));
    this.#trees = compiled.trees;
    this.#unlabelled = compiled.unlabelled;
  }

  /** The same authorizer as `new PolicyAuthorizer(policies)`, as sliced work. */
  static *compileSteps(policies: readonly PolicyRules[], steps: StepCounter = new StepCounter()): SlicedWork<PolicyAuthorizer> {
    return new PolicyAuthorizer(yield* compilePoliciesSteps(policies, steps));
  }

  decide(op: Operation, name: string): RuleDecision {
    const t = this.#trees;
    const u = this.#unlabelled;
    switch (op) {
      case "acl:read": return enforce(u.acl, "read");
      case "acl:write": return enforce(u.acl, "write");
      case "snapshot": return enforce(u.acl, "write");
      case "keyring:read": return enforce(u.keyring, "read");
      case "keyring:write": return enforce(u.keyring, "write");
      case "operator:read": return enforce(u.operator, "read");
      case "operator:write": return enforce(u.operator, "write");
      // mesh and peering fall back to operator when unset
      case "mesh:read": return enforce(u.mesh ?? u.operator, "read");
      case "mesh:write": return enforce(u.mesh ?? u.operator, "write");
      case "peering:read": return enforce(u.peering ?? u.operator, "read");
      case "peering:write": return enforce(u.peering ?? u.operator, "write");
      case "agent:read": return t.agent.decide(name, "read");
      case "agent:write": return t.agent.decide(name, "write");
      case "event:read": return t.event.decide(name, "read");
      case "event:write": return t.event.decide(name, "write");
      case "intention:read": return name === "*" ? t.intention.anyAllowed("read") : t.intention.decide(name, "read");
      case "intention:write": return name === "*" ? t.intention.allAllowed("write") : t.intention.decide(name, "write");
      case "intention:default-allow": return "default";
      case "key:read": return t.key.decide(name, "read");
      case "key:list": return t.key.decide(name, "list");
      case "key:write": return t.key.decide(name, "write");
      case "key:write-prefix": return t.key.writePrefix(name);
      case "node:read": return t.node.decide(name, "read");
      case "node:read-all": return t.node.allAllowed("read");
      case "node:write": return t.node.decide(name, "write");
      case "query:read": return t.query.decide(name, "read");
      case "query:write": return t.query.decide(name, "write");
      case "service:read": return t.service.decide(name, "read");
      case "service:read-all": return t.service.allAllowed("read");
      case "service:write": return t.service.decide(name, "write");
      case "service:write-any": return t.service.anyAllowed("write");
      case "session:read": return t.session.decide(name, "read");
      case "session:write": return t.session.decide(name, "write");
    }
  }
}
