import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules, parseRulesSteps, RULES_PER_STEP, RulesError, type PolicyRules } from "../../../src/acl/rules.ts";
import { TOKENS_PER_STEP } from "../../../src/acl/rules-syntax.ts";
import { checkPolicyRules } from "../../../src/acl/object-writers.ts";

// Issue 12 item 6: rules near the 512 KiB body cap parsed in one synchronous step (~70 ms).
// The parse is sliced work now; these tests count its pauses (never time) and check that the
// sliced parse answers exactly what the whole parse answers, errors included.

const RULE_COUNT = 6000;

/** Runs the work by hand, counting its pauses. */
function drive(text: string): { steps: number; rules: PolicyRules } {
  const work = parseRulesSteps(text);
  let steps = 0;
  for (;;) {
    const step = work.next();
    if (step.done === true) return { steps, rules: step.value };
    steps++;
  }
}

const hclRules = (n: number, last = "read") =>
  Array.from({ length: n }, (_, i) => `key_prefix "k-${i}/" { policy = "${i === n - 1 ? last : "read"}" }`).join("\n");

const jsonRules = (n: number) =>
  JSON.stringify({ key_prefix: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k-${i}/`, { policy: "read" }])) });

test("HCL rules parse in steps of a bounded number of tokens and rules", () => {
  const text = hclRules(RULE_COUNT);
  // 7 tokens a rule; lexing and parsing each pause per TOKENS_PER_STEP tokens; decoding,
  // validating and normalizing (3 visits a rule) pause per RULES_PER_STEP visits.
  const tokens = RULE_COUNT * 7;
  const minSteps = 2 * Math.floor(tokens / TOKENS_PER_STEP) + Math.floor((3 * RULE_COUNT) / RULES_PER_STEP) - 3;
  const { steps, rules } = drive(text);
  assert.ok(steps >= minSteps, `${steps} steps, expected at least ${minSteps}`);
  assert.equal(rules.labelled.key.prefix.length, RULE_COUNT);
  assert.deepEqual(rules, parseRules(text));
});

test("JSON rules (one top-level object holding every rule) parse in steps too", () => {
  const text = jsonRules(RULE_COUNT);
  // "k-i/" : { "policy" : "read" } , : 8 tokens a rule.
  const tokens = RULE_COUNT * 8;
  const minSteps = 2 * Math.floor(tokens / TOKENS_PER_STEP) + Math.floor((3 * RULE_COUNT) / RULES_PER_STEP) - 3;
  const { steps, rules } = drive(text);
  assert.ok(steps >= minSteps, `${steps} steps, expected at least ${minSteps}`);
  assert.equal(rules.labelled.key.prefix.length, RULE_COUNT);
  assert.deepEqual(rules, parseRules(text));
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
