import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules, parseRulesSteps, RULES_PER_STEP, RulesError, type PolicyRules } from "../../../src/acl/rules.ts";
import { TOKENS_PER_STEP } from "../../../src/acl/rules-syntax.ts";
import { checkPolicyRules } from "../../../src/acl/object-writers.ts";
import { runCounted } from "../../support/sliced-work.ts";

// Issue 12 item 6: rules near the 512 KiB body cap parsed in one synchronous step (~70 ms).
// The parse is sliced work now; these tests count its pauses (never time) and check that the
// sliced parse answers exactly what the whole parse answers, errors included.

const RULE_COUNT = 6000;

/**
 * Parses `text` (RULE_COUNT key_prefix rules of `tokensPerRule` tokens each) as sliced work and
 * checks it paused at least as often as its lexing, parsing (per TOKENS_PER_STEP tokens each)
 * and its decoding, validating and normalizing (3 visits a rule, per RULES_PER_STEP visits)
 * require, and that it answers what the whole parse answers.
 */
function assertParsedInSteps(text: string, tokensPerRule: number): void {
  const tokens = RULE_COUNT * tokensPerRule;
  const minSteps = 2 * Math.floor(tokens / TOKENS_PER_STEP) + Math.floor((3 * RULE_COUNT) / RULES_PER_STEP) - 3;
  const { pauses: steps, value: rules } = runCounted<PolicyRules>(parseRulesSteps(text));
  assert.ok(steps >= minSteps, `${steps} steps, expected at least ${minSteps}`);
  assert.equal(rules.labelled.key.prefix.length, RULE_COUNT);
  assert.deepEqual(rules, parseRules(text));
}

const hclRules = (n: number, last = "read") =>
  Array.from({ length: n }, (_, i) => `key_prefix "k-${i}/" { policy = "${i === n - 1 ? last : "read"}" }`).join("\n");

const jsonRules = (n: number) =>
  JSON.stringify({ key_prefix: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k-${i}/`, { policy: "read" }])) });

test("HCL rules parse in steps of a bounded number of tokens and rules", () => {
  // key_prefix "k-i/" { policy = "read" }: 7 tokens a rule.
  assertParsedInSteps(hclRules(RULE_COUNT), 7);
});

test("JSON rules (one top-level object holding every rule) parse in steps too", () => {
  // "k-i/" : { "policy" : "read" } , : 8 tokens a rule.
  assertParsedInSteps(jsonRules(RULE_COUNT), 8);
});

test("an error in the last rule of a large document is Consul's message, sliced or whole", async () => {
  const badLevel = hclRules(RULE_COUNT, "bogus");
  const whole = (() => {
    try {
      parseRules(badLevel);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(whole instanceof RulesError);
  assert.equal(
    whole.message,
    `Invalid key_prefix policy: &acl.KeyRule{Prefix:"k-${RULE_COUNT - 1}/", Policy:"bogus", EnterpriseRule:acl.EnterpriseRule{}}`,
  );
  const sliced = await checkPolicyRules(badLevel);
  assert.equal(sliced.error?.message, whole.message);

  const badSyntax = `${hclRules(RULE_COUNT)}\nkey_prefix "x" { policy = read }`;
  const syntax = await checkPolicyRules(badSyntax);
  assert.equal(syntax.error?.message, `Failed to parse ACL rules: At ${RULE_COUNT + 1}:27: unknown token "read": values are quoted strings`);
  assert.equal((await checkPolicyRules(hclRules(10))).error, undefined);
});
