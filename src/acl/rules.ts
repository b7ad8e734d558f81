import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { parseRulesSyntaxSteps, RulesSyntaxError, type SyntaxItem, type SyntaxValue } from "./rules-syntax.ts";

// Policy rules: what one policy's `Rules` text grants (spec/acl.md §6). Parsing turns HCL or
// JSON into PolicyRules and validates dispositions with Consul's messages (acl/policy.go);
// unknown rule names and fields, which Consul silently ignores, are refused here, because a
// rule that is accepted but has no effect is a grant or a denial the operator never gets.

export type AccessLevel = "deny" | "read" | "list" | "write";

/** Resources that take a name (`key "a" {…}`) and a prefix form (`key_prefix "a" {…}`). */
export const LABELLED_RESOURCES = ["agent", "key", "node", "service", "session", "event", "query"] as const;
export type LabelledResource = (typeof LABELLED_RESOURCES)[number];

/** Resources that are one top-level string (`operator = "read"`). */
export const UNLABELLED_RESOURCES = ["acl", "keyring", "operator", "mesh", "peering"] as const;
export type UnlabelledResource = (typeof UNLABELLED_RESOURCES)[number];

export interface LabelledRule {
  /** The exact name, or the prefix for a `_prefix` rule. */
  name: string;
  /** A validated level (lower-cased), or "" when missing (only in rules not yet validated). */
  policy: string;
  /** `service` rules only: the intentions disposition, "" when not given. */
  intentions: string;
}

export interface LabelledRules {
  exact: LabelledRule[];
  prefix: LabelledRule[];
}

export interface PolicyRules {
  labelled: Record<LabelledResource, LabelledRules>;
  /** "" when not set. */
  unlabelled: Record<UnlabelledResource, string>;
}

export class RulesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RulesError";
  }
}

export function emptyRules(): PolicyRules {
  const labelled = {} as Record<LabelledResource, LabelledRules>;
  for (const r of LABELLED_RESOURCES) labelled[r] = { exact: [], prefix: [] };
  return { labelled, unlabelled: { acl: "", keyring: "", operator: "", mesh: "", peering: "" } };
}

const ENTERPRISE_RESOURCES = new Set(["namespace", "namespace_prefix", "partition", "partition_prefix"]);

/** Go's name for each labelled rule struct and its label field, for Consul's `%#v` messages. */
const GO_RULE: Record<LabelledResource, { type: string; label: string; enterprise: boolean }> = {
  agent: { type: "AgentRule", label: "Node", enterprise: false },
  key: { type: "KeyRule", label: "Prefix", enterprise: true },
  node: { type: "NodeRule", label: "Name", enterprise: true },
  service: { type: "ServiceRule", label: "Name", enterprise: true },
  session: { type: "SessionRule", label: "Node", enterprise: false },
  event: { type: "EventRule", label: "Event", enterprise: false },
  query: { type: "PreparedQueryRule", label: "Prefix", enterprise: false },
};

/** Go's `%q` for the plain strings rules hold. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function goRule(resource: LabelledResource, rule: LabelledRule): string {
  const g = GO_RULE[resource];
  let fields = `${g.label}:${goQuote(rule.name)}, Policy:${goQuote(rule.policy)}`;
  if (resource === "service") fields += `, Intentions:${goQuote(rule.intentions)}`;
  if (g.enterprise) fields += ", EnterpriseRule:acl.EnterpriseRule{}";
  return `&acl.${g.type}{${fields}}`;
}

const LEVELS = new Set(["deny", "read", "list", "write"]);

function isValidLevel(level: string, allowList: boolean): boolean {
  const lower = level.toLowerCase();
  return LEVELS.has(lower) && (allowList || lower !== "list");
}

/** Rules decoded, validated or normalized between two pauses of the sliced parse. */
export const RULES_PER_STEP = 256;

/**
 * Counts rules handled since the last pause; `tick` pauses once RULES_PER_STEP went by. Shared
 * by parsing and by compiling rules into an authorizer (policy-authorizer.ts).
 */
export class StepCounter {
  #count = 0;
  *tick(): SlicedWork<void> {
    if (++this.#count < RULES_PER_STEP) return;
    this.#count = 0;
    yield;
  }
}

/** After validation: levels compare lower-case, as Consul's AccessLevelFromString reads them. */
function* normalize(rules: PolicyRules, steps: StepCounter): SlicedWork<void> {
  for (const r of LABELLED_RESOURCES) {
    for (const form of ["exact", "prefix"] as const) {
      for (const rule of rules.labelled[r][form]) {
        rule.policy = rule.policy.toLowerCase();
        rule.intentions = rule.intentions.toLowerCase();
        yield* steps.tick();
      }
    }
  }
  for (const r of UNLABELLED_RESOURCES) rules.unlabelled[r] = rules.unlabelled[r].toLowerCase();
}

/** Consul's validation order and messages (acl/policy.go PolicyRules.Validate). */
function* validate(rules: PolicyRules, steps: StepCounter): SlicedWork<void> {
  const acl = rules.unlabelled.acl;
  if (acl !== "" && !isValidLevel(acl, false)) throw new RulesError(`Invalid acl policy: ${goQuote(acl)}`);
  for (const resource of ["agent", "key", "node", "service", "session", "event", "query"] as const) {
    const allowList = resource === "key";
    for (const form of ["exact", "prefix"] as const) {
      const word = form === "exact" ? resource : `${resource}_prefix`;
      for (const rule of rules.labelled[resource][form]) {
        if (!isValidLevel(rule.policy, allowList)) throw new RulesError(`Invalid ${word} policy: ${goRule(resource, rule)}`);
        if (resource === "service" && rule.intentions !== "" && !isValidLevel(rule.intentions, false)) {
          throw new RulesError(`Invalid ${word} intentions policy: ${goRule(resource, rule)}`);
        }
        yield* steps.tick();
      }
    }
  }
  for (const resource of ["keyring", "operator", "mesh", "peering"] as const) {
    const level = rules.unlabelled[resource];
    if (level !== "" && !isValidLevel(level, false)) throw new RulesError(`Invalid ${resource} policy: ${goQuote(level)}`);
  }
}

function syntaxError(item: { pos: { line: number; column: number } }, detail: string): RulesError {
  return new RulesError(`Failed to parse ACL rules: ${new RulesSyntaxError(item.pos, detail).message}`);
}

/** A string value, as HCL1 decodes into a Go string (numbers and bools become their text). */
function stringValue(value: SyntaxValue, what: string): string {
  switch (value.kind) {
    case "string":
      return value.value;
    case "number":
      return value.raw;
    case "bool":
      return String(value.value);
    default:
      throw syntaxError(value, `${what} must be a string, found ${value.kind === "object" ? "a block" : "a list"}`);
  }
}

/** Flattens `{…}` and `[{…}, …]` into the items they hold (HCL1 accepts both for blocks). */
function objectItems(value: SyntaxValue, what: string): SyntaxItem[] {
  if (value.kind === "object") return value.items;
  if (value.kind === "list") return value.values.flatMap((v) => objectItems(v, what));
  throw syntaxError(value, `${what} must be a block`);
}

function decodeRuleBody(resource: LabelledResource, word: string, name: string, body: SyntaxItem[]): LabelledRule {
  const rule: LabelledRule = { name, policy: "", intentions: "" };
  const seen = new Map<string, SyntaxItem>();
  for (const item of body) {
    const field = item.keys[0].text.toLowerCase();
    if (item.keys.length > 1) throw syntaxError(item.keys[1], `unexpected label after ${JSON.stringify(item.keys[0].text)}`);
    const known = field === "policy" || (field === "intentions" && resource === "service");
    if (!known) {
      const allowed = resource === "service" ? `"policy" and "intentions"` : `"policy"`;
      throw syntaxError(item.keys[0], `unknown field ${JSON.stringify(item.keys[0].text)} in ${word} ${JSON.stringify(name)} (allowed: ${allowed})`);
    }
    const earlier = seen.get(field);
    if (earlier) throw duplicateError(item, earlier);
    seen.set(field, item);
    const text = stringValue(item.value, `${word} ${JSON.stringify(name)} ${field}`);
    if (field === "policy") rule.policy = text;
    else rule.intentions = text;
  }
  return rule;
}

function duplicateError(item: SyntaxItem, earlier: SyntaxItem): RulesError {
  const at = earlier.keys[0].pos;
  return new RulesError(
    `Failed to parse ACL rules: The argument ${JSON.stringify(item.keys[0].text)} at ${at.line}:${at.column} was already set. Each argument can only be defined once`,
  );
}

function* decodeLabelled(resource: LabelledResource, prefix: boolean, item: SyntaxItem, into: LabelledRule[], steps: StepCounter): SlicedWork<void> {
  const word = prefix ? `${resource}_prefix` : resource;
  if (item.keys.length > 2) throw syntaxError(item.keys[2], `${word} takes one name, found a second label ${JSON.stringify(item.keys[2].text)}`);
  if (item.keys.length === 2) {
    into.push(decodeRuleBody(resource, word, item.keys[1].text, objectItems(item.value, `${word} ${JSON.stringify(item.keys[1].text)}`)));
    return;
  }
  // `key_prefix = { "a/" = { policy = "read" } }` and JSON's {"key_prefix": {"a/": {…}}}
  for (const entry of objectItems(item.value, word)) {
    if (entry.keys.length !== 1) throw syntaxError(entry.keys[1], `${word} takes one name, found a second label ${JSON.stringify(entry.keys[1].text)}`);
    const name = entry.keys[0].text;
    into.push(decodeRuleBody(resource, word, name, objectItems(entry.value, `${word} ${JSON.stringify(name)}`)));
    yield* steps.tick();
  }
}

const LABELLED_WORDS = new Map<string, { resource: LabelledResource; prefix: boolean }>();
for (const r of LABELLED_RESOURCES) {
  LABELLED_WORDS.set(r, { resource: r, prefix: false });
  LABELLED_WORDS.set(`${r}_prefix`, { resource: r, prefix: true });
}
const UNLABELLED_WORDS = new Set<string>(UNLABELLED_RESOURCES);

/**
 * Parses and validates a policy's rules. Throws RulesError with Consul's message for a bad
 * disposition, and with the line and column for anything the parser or decoder refuses.
 */
export function parseRules(text: string): PolicyRules {
  return runWhole(parseRulesSteps(text));
}

/** parseRules as sliced work: pauses every TOKENS_PER_STEP tokens and RULES_PER_STEP rules. */
export function* parseRulesSteps(text: string): SlicedWork<PolicyRules> {
  const rules = emptyRules();
  if (text.trim() === "") return rules;
  const steps = new StepCounter();
  let items: SyntaxItem[];
  try {
    items = yield* parseRulesSyntaxSteps(text);
  } catch (err) {
    if (err instanceof RulesSyntaxError) throw new RulesError(`Failed to parse ACL rules: ${err.message}`);
    throw err;
  }
  const seenUnlabelled = new Map<string, SyntaxItem>();
  for (const item of items) {
    const word = item.keys[0].text.toLowerCase();
    const labelled = LABELLED_WORDS.get(word);
    if (labelled) {
      const { resource, prefix } = labelled;
      yield* decodeLabelled(resource, prefix, item, rules.labelled[resource][prefix ? "prefix" : "exact"], steps);
      yield* steps.tick();
      continue;
    }
    if (UNLABELLED_WORDS.has(word)) {
      if (item.keys.length > 1 || !item.assigned) throw syntaxError(item.keys[0], `${word} takes a value (${word} = "read"), not a block`);
      const earlier = seenUnlabelled.get(word);
      if (earlier) throw duplicateError(item, earlier);
      seenUnlabelled.set(word, item);
      rules.unlabelled[word as UnlabelledResource] = stringValue(item.value, word);
      continue;
    }
    if (ENTERPRISE_RESOURCES.has(word)) {
      throw syntaxError(item.keys[0], `${JSON.stringify(item.keys[0].text)} rules are a Consul Enterprise feature`);
    }
    throw syntaxError(item.keys[0], `unknown rule ${JSON.stringify(item.keys[0].text)}`);
  }
  yield* validate(rules, steps);
  yield* normalize(rules, steps);
  return rules;
}
