import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRules, RulesError, type PolicyRules } from "../../../src/acl/rules.ts";
import { GLOBAL_MANAGEMENT_RULES, GLOBAL_READ_ONLY_RULES } from "../../../src/acl/builtin.ts";

function summary(rules: PolicyRules): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [resource, forms] of Object.entries(rules.labelled)) {
    for (const form of ["exact", "prefix"] as const) {
      const list = forms[form];
      if (list.length === 0) continue;
      out[form === "exact" ? resource : `${resource}_prefix`] = list.map((r) =>
        r.intentions ? [r.name, r.policy, r.intentions] : [r.name, r.policy],
      );
    }
  }
  for (const [resource, level] of Object.entries(rules.unlabelled)) if (level) out[resource] = level;
  return out;
}

test("every resource parses in HCL and in the equivalent JSON", () => {
  const hcl = `
    # comment
    acl = "read"
    agent "a1" { policy = "read" }
    agent_prefix "" { policy = "write" }
    event "deploy" { policy = "write" }
    event_prefix "" { policy = "read" }
    key "foo/secret" { policy = "deny" }
    key_prefix "" { policy = "read" }
    key_prefix "foo/" { policy = "list" }
    keyring = "write"
    mesh = "read"
    node "n1" { policy = "write" }
    node_prefix "" { policy = "read" }
    operator = "read"
    peering = "deny"
    query "q" { policy = "write" }
    query_prefix "" { policy = "read" }
    // one-line block with two arguments, as Consul's docs write them (HCL1)
    service "web" { policy = "write"  intentions = "read" }
    service_prefix "" { policy = "read" }
    /* block comment */
    session "n1" { policy = "write" }
    session_prefix "" { policy = "read" }
  `;
  const json = JSON.stringify({
    acl: "read",
    agent: { a1: { policy: "read" } },
    agent_prefix: { "": { policy: "write" } },
    event: { deploy: { policy: "write" } },
    event_prefix: { "": { policy: "read" } },
    key: { "foo/secret": { policy: "deny" } },
    key_prefix: { "": { policy: "read" }, "foo/": { policy: "list" } },
    keyring: "write",
    mesh: "read",
    node: { n1: { policy: "write" } },
    node_prefix: { "": { policy: "read" } },
    operator: "read",
    peering: "deny",
    query: { q: { policy: "write" } },
    query_prefix: { "": { policy: "read" } },
    service: { web: { policy: "write", intentions: "read" } },
    service_prefix: { "": { policy: "read" } },
    session: { n1: { policy: "write" } },
    session_prefix: { "": { policy: "read" } },
  });
  const expected = {
    agent: [["a1", "read"]],
    agent_prefix: [["", "write"]],
    key: [["foo/secret", "deny"]],
    key_prefix: [["", "read"], ["foo/", "list"]],
    node: [["n1", "write"]],
    node_prefix: [["", "read"]],
    service: [["web", "write", "read"]],
    service_prefix: [["", "read"]],
    session: [["n1", "write"]],
    session_prefix: [["", "read"]],
    event: [["deploy", "write"]],
    event_prefix: [["", "read"]],
    query: [["q", "write"]],
    query_prefix: [["", "read"]],
    acl: "read",
    keyring: "write",
    operator: "read",
    mesh: "read",
    peering: "deny",
  };
  assert.deepEqual(summary(parseRules(hcl)), expected);
  assert.deepEqual(summary(parseRules(json)), expected);
});

test("HCL1 alternative forms: object assignment, lists, commas, case-insensitive names and levels", () => {
  const forms = [
    `key_prefix = { "a/" = { policy = "read" } }`,
    `key_prefix "a/" { policy = "read", }`,
    `KEY_PREFIX "a/" { Policy = "READ" }`,
    `{"key_prefix": [{"a/": [{"policy": "read"}]}]}`,
    `{"key_prefix": {"a/": {"policy": "read"}}}`,
  ];
  for (const f of forms) assert.deepEqual(summary(parseRules(f)), { key_prefix: [["a/", "read"]] }, f);
  assert.deepEqual(summary(parseRules("")), {});
  assert.deepEqual(summary(parseRules("  \n# only a comment\n")), {});
  assert.deepEqual(summary(parseRules("{}")), {});
  // several blocks for one name are all kept (merged later, deny first)
  assert.deepEqual(summary(parseRules(`key "a" { policy = "read" }\nkey "a" { policy = "deny" }`)), { key: [["a", "read"], ["a", "deny"]] });
});

test("the built-in policies parse", () => {
  const m = summary(parseRules(GLOBAL_MANAGEMENT_RULES));
  assert.equal(m.acl, "write");
  assert.deepEqual(m.service_prefix, [["", "write", "write"]]);
  const r = summary(parseRules(GLOBAL_READ_ONLY_RULES));
  assert.equal(r.operator, "read");
  assert.deepEqual(r.key_prefix, [["", "read"]]);
});

function rejects(rules: string, message: string): void {
  assert.throws(() => parseRules(rules), (err: unknown) => {
    assert.ok(err instanceof RulesError, `${rules}: ${String(err)}`);
    assert.equal(err.message, message, rules);
    return true;
  });
}

test("bad dispositions fail with Consul's messages", () => {
  const table: [string, string][] = [
    [`acl = "nope"`, `Invalid acl policy: "nope"`],
    [`agent "foo" { policy = "nope" }`, `Invalid agent policy: &acl.AgentRule{Node:"foo", Policy:"nope"}`],
    [`agent_prefix "foo" { policy = "nope" }`, `Invalid agent_prefix policy: &acl.AgentRule{Node:"foo", Policy:"nope"}`],
    [`key "foo" { policy = "nope" }`, `Invalid key policy: &acl.KeyRule{Prefix:"foo", Policy:"nope", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`key_prefix "foo" { policy = "nope" }`, `Invalid key_prefix policy: &acl.KeyRule{Prefix:"foo", Policy:"nope", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`node "foo" { policy = "list" }`, `Invalid node policy: &acl.NodeRule{Name:"foo", Policy:"list", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`node_prefix "foo" { policy = "nope" }`, `Invalid node_prefix policy: &acl.NodeRule{Name:"foo", Policy:"nope", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`service "foo" { policy = "nope" }`, `Invalid service policy: &acl.ServiceRule{Name:"foo", Policy:"nope", Intentions:"", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`service "foo" { policy = "read" intentions = "nope" }`, `Invalid service intentions policy: &acl.ServiceRule{Name:"foo", Policy:"read", Intentions:"nope", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`service_prefix "foo" { policy = "nope" }`, `Invalid service_prefix policy: &acl.ServiceRule{Name:"foo", Policy:"nope", Intentions:"", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`service_prefix "" { policy = "write" intentions = "list" }`, `Invalid service_prefix intentions policy: &acl.ServiceRule{Name:"", Policy:"write", Intentions:"list", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`session "foo" { policy = "nope" }`, `Invalid session policy: &acl.SessionRule{Node:"foo", Policy:"nope"}`],
    [`session_prefix "foo" { policy = "nope" }`, `Invalid session_prefix policy: &acl.SessionRule{Node:"foo", Policy:"nope"}`],
    [`event "foo" { policy = "nope" }`, `Invalid event policy: &acl.EventRule{Event:"foo", Policy:"nope"}`],
    [`event_prefix "foo" { policy = "nope" }`, `Invalid event_prefix policy: &acl.EventRule{Event:"foo", Policy:"nope"}`],
    [`query "foo" { policy = "nope" }`, `Invalid query policy: &acl.PreparedQueryRule{Prefix:"foo", Policy:"nope"}`],
    [`query_prefix "foo" { policy = "nope" }`, `Invalid query_prefix policy: &acl.PreparedQueryRule{Prefix:"foo", Policy:"nope"}`],
    [`keyring = "nope"`, `Invalid keyring policy: "nope"`],
    [`operator = "list"`, `Invalid operator policy: "list"`],
    [`mesh = "nope"`, `Invalid mesh policy: "nope"`],
    [`peering = "nope"`, `Invalid peering policy: "nope"`],
    [`key "foo" {}`, `Invalid key policy: &acl.KeyRule{Prefix:"foo", Policy:"", EnterpriseRule:acl.EnterpriseRule{}}`],
    [`{"operator": "nope"}`, `Invalid operator policy: "nope"`],
    // the original spelling shows in the message
    [`service "web" { policy = "WRONG" }`, `Invalid service policy: &acl.ServiceRule{Name:"web", Policy:"WRONG", Intentions:"", EnterpriseRule:acl.EnterpriseRule{}}`],
  ];
  for (const [rules, message] of table) rejects(rules, message);
  // "list" is valid for keys (exact and prefix) only
  assert.doesNotThrow(() => parseRules(`key "a" { policy = "list" }`));
});

test("syntax and unknown names fail with the line and column", () => {
  const table: [string, string][] = [
    [`keys "a" { policy = "read" }`, `Failed to parse ACL rules: At 1:1: unknown rule "keys"`],
    [`key "a" {\n  policy = "read"\n  polcy = "write"\n}`, `Failed to parse ACL rules: At 3:3: unknown field "polcy" in key "a" (allowed: "policy")`],
    [`key "a" { intentions = "read" }`, `Failed to parse ACL rules: At 1:11: unknown field "intentions" in key "a" (allowed: "policy")`],
    [`key "a" {\n  policy = "read"\n`, `Failed to parse ACL rules: At 3:1: expected "}" before end of rules`],
    [`key "a" { policy "read" }`, `Failed to parse ACL rules: At 1:25: expected "=" or "{" after "read", found "}"`],
    [`operator = "read"\noperator = "write"`, `Failed to parse ACL rules: The argument "operator" at 1:1 was already set. Each argument can only be defined once`],
    [`key "a" { policy = "read" policy = "write" }`, `Failed to parse ACL rules: The argument "policy" at 1:11 was already set. Each argument can only be defined once`],
    [`operator { policy = "read" }`, `Failed to parse ACL rules: At 1:1: operator takes a value (operator = "read"), not a block`],
    [`key "a" "b" { policy = "read" }`, `Failed to parse ACL rules: At 1:9: key takes one name, found a second label "b"`],
    [`key "a" = { policy = "read" }`, `Failed to parse ACL rules: At 1:9: nested object expected: "{" got: "="`],
    [`key "a" { policy = read }`, `Failed to parse ACL rules: At 1:20: unknown token "read": values are quoted strings`],
    [`key "a { policy = "read" }`, `Failed to parse ACL rules: At 1:24: literal not terminated`],
    [`namespace "x" { }`, `Failed to parse ACL rules: At 1:1: "namespace" rules are a Consul Enterprise feature`],
    [`{"key": {"a": {"policy": "read"}},}`, `Failed to parse ACL rules: At 1:35: expected a quoted object key, found "}"`],
    [`{"operator": "read"`, `Failed to parse ACL rules: At 1:20: expected "," or "}", found end of rules`],
    [`operator = "read" @`, `Failed to parse ACL rules: At 1:19: illegal char "@"`],
    [`key "a" { policy = { x = "y" } }`, `Failed to parse ACL rules: At 1:20: key "a" policy must be a string, found a block`],
    [`key "a" { policy = "read\n" }`, `Failed to parse ACL rules: At 1:20: literal not terminated`],
    [`/* never closed`, `Failed to parse ACL rules: At 1:1: comment not terminated`],
  ];
  for (const [rules, message] of table) rejects(rules, message);
});
