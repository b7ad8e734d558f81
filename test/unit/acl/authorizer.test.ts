import { test } from "node:test";
import assert from "node:assert/strict";
import { Authorizer, manageAllRules, staticAuthorizer, allowAllRules, denyAllRules, type Operation } from "../../../src/acl/authorizer.ts";
import { PolicyAuthorizer } from "../../../src/acl/policy-authorizer.ts";
import { parseRules } from "../../../src/acl/rules.ts";
import { authorizerForToken, RulesCache } from "../../../src/acl/resolve.ts";
import {
  GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_MANAGEMENT_RULES, GLOBAL_READ_ONLY_POLICY_ID, GLOBAL_READ_ONLY_RULES,
} from "../../../src/acl/builtin.ts";
import type { AclPolicy, AclRole, AclToken } from "../../../src/model/acl.ts";
import { PermissionDeniedError } from "../../../src/errors/permission-denied.ts";

function authz(defaultPolicy: "allow" | "deny", ...policies: string[]): Authorizer {
  return new Authorizer("acc-1", [new PolicyAuthorizer(policies.map(parseRules))], defaultPolicy === "allow" ? allowAllRules : denyAllRules);
}

type Row = [op: Operation, name: string, expected: "allow" | "deny"];

function check(a: Authorizer, rows: Row[], label: string): void {
  for (const [op, name, expected] of rows) assert.equal(a.decide(op, name), expected, `${label}: ${op} ${JSON.stringify(name)}`);
}

test("exact beats prefix; the longest prefix wins; the default policy decides the rest", () => {
  const rules = `
    key_prefix "" { policy = "read" }
    key_prefix "foo/" { policy = "write" }
    key_prefix "foo/bar/" { policy = "deny" }
    key "foo/bar/open" { policy = "write" }
    key "foo/secret" { policy = "deny" }
    key "foo" { policy = "list" }
  `;
  const rows: Row[] = [
    ["key:read", "other", "allow"],
    ["key:write", "other", "deny"],
    ["key:write", "foo/x", "allow"],
    ["key:read", "foo/secret", "deny"],
    ["key:write", "foo/secret", "deny"],
    ["key:write", "foo/secretive", "allow"],
    ["key:read", "foo/bar/x", "deny"],
    ["key:write", "foo/bar/open", "allow"],
    ["key:write", "foo/bar/open2", "deny"],
    ["key:list", "foo", "allow"],
    ["key:read", "foo", "allow"],
    ["key:write", "foo", "deny"],
    ["key:list", "other", "deny"], // read does not grant list
    ["key:list", "foo/x", "allow"], // write grants list
  ];
  check(authz("deny", rules), rows, "deny default");
  check(authz("allow", rules), rows, "allow default"); // the "" prefix leaves nothing to the default
  const noRoot = authz("deny", `key_prefix "app/" { policy = "write" }`);
  check(noRoot, [["key:read", "app/x", "allow"], ["key:read", "other", "deny"], ["key:write", "ap", "deny"]], "deny default no root");
  const noRootAllow = authz("allow", `key_prefix "app/" { policy = "read" }`);
  check(noRootAllow, [["key:write", "app/x", "deny"], ["key:write", "other", "allow"]], "allow default no root");
});

test("every labelled resource follows the same precedence", () => {
  const pairs: [string, Operation, Operation][] = [
    ["agent", "agent:read", "agent:write"],
    ["event", "event:read", "event:write"],
    ["key", "key:read", "key:write"],
    ["node", "node:read", "node:write"],
    ["query", "query:read", "query:write"],
    ["service", "service:read", "service:write"],
    ["session", "session:read", "session:write"],
  ];
  for (const [word, read, write] of pairs) {
    const a = authz("deny", `
      ${word}_prefix "" { policy = "read" }
      ${word}_prefix "ab" { policy = "write" }
      ${word}_prefix "abc" { policy = "deny" }
      ${word} "abcd" { policy = "write" }
      ${word} "x" { policy = "deny" }
    `);
    check(a, [
      [read, "zzz", "allow"], [write, "zzz", "deny"],
      [write, "ab", "allow"], [write, "abz", "allow"],
      [read, "abc", "deny"], [read, "abcz", "deny"],
      [write, "abcd", "allow"], [write, "abcde", "deny"],
      [read, "x", "deny"], [read, "xy", "allow"],
    ], word);
  }
});

test("deny wins between policies at equal specificity; otherwise the highest grant", () => {
  const p1 = `key "a" { policy = "write" }\nservice "web" { policy = "read" }\noperator = "read"`;
  const p2 = `key "a" { policy = "deny" }\nservice "web" { policy = "write" }\noperator = "write"`;
  const a = authz("allow", p1, p2);
  check(a, [
    ["key:read", "a", "deny"],
    ["service:write", "web", "allow"],
    ["operator:write", "", "allow"],
  ], "merged");
  // list beats read, write beats list
  check(authz("deny", `key "k" { policy = "read" }`, `key "k" { policy = "list" }`), [["key:list", "k", "allow"], ["key:write", "k", "deny"]], "list>read");
  check(authz("deny", `key "k" { policy = "list" }`, `key "k" { policy = "write" }`), [["key:write", "k", "allow"]], "write>list");
  // two blocks for the same key in one policy merge the same way
  check(authz("allow", `key "k" { policy = "write" }\nkey "k" { policy = "deny" }`), [["key:read", "k", "deny"]], "same policy");
  // an exact deny in one policy beats a prefix write in another
  check(authz("allow", `key_prefix "" { policy = "write" }`, `key "k" { policy = "deny" }`), [["key:read", "k", "deny"], ["key:write", "kk", "allow"]], "exact vs prefix");
});

test("unlabelled resources; mesh and peering fall back to operator", () => {
  check(authz("deny", `operator = "read"`), [
    ["operator:read", "", "allow"], ["operator:write", "", "deny"],
    ["mesh:read", "", "allow"], ["mesh:write", "", "deny"],
    ["peering:read", "", "allow"], ["peering:write", "", "deny"],
    ["keyring:read", "", "deny"], ["acl:read", "", "deny"],
  ], "operator read");
  check(authz("deny", `operator = "write"\nmesh = "deny"\npeering = "read"`), [
    ["mesh:read", "", "deny"], ["peering:read", "", "allow"], ["peering:write", "", "deny"], ["operator:write", "", "allow"],
  ], "own rules");
  check(authz("deny", `keyring = "write"\nacl = "read"`), [
    ["keyring:write", "", "allow"], ["keyring:read", "", "allow"], ["acl:read", "", "allow"], ["acl:write", "", "deny"], ["snapshot", "", "deny"],
  ], "keyring/acl");
  check(authz("deny", `acl = "write"`), [["snapshot", "", "allow"], ["acl:write", "", "allow"]], "acl write");
});

test("default allow never grants ACL or snapshot access; default deny grants nothing", () => {
  const allow = staticAuthorizer(allowAllRules);
  const deny = staticAuthorizer(denyAllRules);
  const manage = staticAuthorizer(manageAllRules);
  const ops: Operation[] = ["key:write", "node:read", "service:write", "operator:write", "keyring:write", "session:write", "event:write", "query:write", "agent:write", "mesh:write", "peering:write", "intention:write"];
  for (const op of ops) {
    assert.equal(allow.decide(op, "x"), "allow", op);
    assert.equal(deny.decide(op, "x"), "deny", op);
    assert.equal(manage.decide(op, "x"), "allow", op);
  }
  for (const op of ["acl:read", "acl:write", "snapshot"] as Operation[]) {
    assert.equal(allow.decide(op), "deny", op);
    assert.equal(deny.decide(op), "deny", op);
    assert.equal(manage.decide(op), "allow", op);
  }
  // a policy's own rule still decides under an allow default
  check(authz("allow", `node_prefix "" { policy = "deny" }`), [["node:read", "n", "deny"], ["service:read", "s", "allow"]], "allow+deny rule");
});

test("intentions: explicit value, else read from service read/write, deny from service deny", () => {
  const a = authz("deny", `
    service "a" { policy = "write" }
    service "b" { policy = "read" intentions = "write" }
    service "c" { policy = "deny" }
    service "d" { policy = "write" intentions = "deny" }
    service_prefix "p-" { policy = "read" }
  `);
  check(a, [
    ["intention:read", "a", "allow"], ["intention:write", "a", "deny"],
    ["intention:read", "b", "allow"], ["intention:write", "b", "allow"],
    ["intention:read", "c", "deny"],
    ["intention:read", "d", "deny"], ["service:write", "d", "allow"],
    ["intention:read", "p-x", "allow"], ["intention:write", "p-x", "deny"],
    ["intention:read", "zz", "deny"],
    ["intention:read", "*", "allow"], // some service's intentions are readable
    ["intention:write", "*", "deny"],
  ], "intentions");
  // merged intentions: the stronger disposition wins independently of the policy
  check(authz("deny", `service "s" { policy = "read" intentions = "read" }`, `service "s" { policy = "write" intentions = "write" }`), [["intention:write", "s", "allow"]], "merge");
});

test("key:write-prefix needs write on the prefix and on every rule under it", () => {
  const a = authz("deny", `
    key_prefix "" { policy = "write" }
    key "app/locked" { policy = "read" }
    key_prefix "db/" { policy = "write" }
    key_prefix "ro/" { policy = "read" }
  `);
  check(a, [
    ["key:write-prefix", "", "deny"], // app/locked under it is read-only
    ["key:write-prefix", "app/", "deny"],
    ["key:write-prefix", "db/", "allow"],
    ["key:write-prefix", "ro/", "deny"],
    ["key:write-prefix", "other/", "allow"],
  ], "write-prefix");
  check(authz("deny", `key "x/a" { policy = "write" }`), [["key:write-prefix", "x/", "deny"]], "no prefix rule, default deny");
  check(authz("allow", `key "x/a" { policy = "write" }`), [["key:write-prefix", "x/", "allow"]], "no prefix rule, default allow");
});

test("read-all and write-any", () => {
  check(authz("deny", `node_prefix "" { policy = "read" }`), [["node:read-all", "", "allow"]], "all nodes");
  check(authz("deny", `node_prefix "" { policy = "read" }\nnode "n" { policy = "deny" }`), [["node:read-all", "", "deny"]], "one denied");
  check(authz("deny", `node "n" { policy = "read" }`), [["node:read-all", "", "deny"]], "only some");
  check(authz("allow", `node "n" { policy = "read" }`), [["node:read-all", "", "allow"]], "only some, allow default");
  check(authz("deny", `service_prefix "" { policy = "read" }`), [["service:read-all", "", "allow"], ["service:write-any", "", "deny"]], "services");
  check(authz("deny", `service "web" { policy = "write" }`), [["service:write-any", "", "allow"], ["service:read-all", "", "deny"]], "write any");
});

test("built-in policies: global-management allows everything, global-read-only reads everything", () => {
  const manage = authz("deny", GLOBAL_MANAGEMENT_RULES);
  const ro = authz("deny", GLOBAL_READ_ONLY_RULES);
  const readOps: Operation[] = ["acl:read", "agent:read", "event:read", "intention:read", "key:read", "key:list", "keyring:read", "mesh:read", "peering:read", "node:read", "node:read-all", "operator:read", "query:read", "service:read", "service:read-all", "session:read"];
  const writeOps: Operation[] = ["acl:write", "agent:write", "event:write", "intention:write", "key:write", "key:write-prefix", "keyring:write", "mesh:write", "peering:write", "node:write", "operator:write", "query:write", "service:write", "service:write-any", "session:write", "snapshot"];
  for (const op of readOps) {
    assert.equal(manage.decide(op, "x"), "allow", op);
    assert.equal(ro.decide(op, "x"), op === "key:list" ? "deny" : "allow", `ro ${op}`);
  }
  for (const op of writeOps) {
    assert.equal(manage.decide(op, "x"), "allow", op);
    assert.equal(ro.decide(op, "x"), "deny", `ro ${op}`);
  }
});

test("PermissionDenied carries Consul's text", () => {
  const a = authz("deny", `key "x" { policy = "read" }`);
  const cases: [Operation, string, string][] = [
    ["key:write", "x", `Permission denied: token with AccessorID 'acc-1' lacks permission 'key:write' on "x"`],
    ["key:write-prefix", "x/", `Permission denied: token with AccessorID 'acc-1' lacks permission 'key:write' on "x/"`],
    ["operator:read", "", `Permission denied: token with AccessorID 'acc-1' lacks permission 'operator:read'`],
    ["snapshot", "", `Permission denied: token with AccessorID 'acc-1' lacks permission 'acl:write'`],
    ["node:read-all", "", `Permission denied: token with AccessorID 'acc-1' lacks permission 'node:read' on "all nodes"`],
    ["service:write-any", "", `Permission denied: token with AccessorID 'acc-1' lacks permission 'service:write' on "any service"`],
    ["intention:read", "web", `Permission denied: token with AccessorID 'acc-1' lacks permission 'intention:read' on "web"`],
    ["query:write", "q", `Permission denied: token with AccessorID 'acc-1' lacks permission 'query:write' on "q"`],
  ];
  for (const [op, name, message] of cases) {
    assert.throws(() => a.require(op, name), (err: unknown) => {
      assert.ok(err instanceof PermissionDeniedError);
      assert.equal(err.statusCode, 403);
      assert.equal(err.message, message);
      return true;
    });
  }
  assert.doesNotThrow(() => a.require("key:read", "x"));
  assert.throws(() => staticAuthorizer(denyAllRules).require("key:read", "k"), { message: `Permission denied: provided token lacks permission 'key:read' on "k"` });
});

function token(fields: Partial<AclToken>): AclToken {
  return {
    AccessorID: "tok", SecretID: "sec", Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: false, CreateTime: "", Hash: "", CreateIndex: 1, ModifyIndex: 1, ...fields,
  };
}

function policy(id: string, rules: string, datacenters?: string[]): AclPolicy {
  return { ID: id, Name: id, Description: "", Rules: rules, Datacenters: datacenters, Hash: "", CreateIndex: 1, ModifyIndex: 1 };
}

test("token resolution: policies, roles, identities, templated policies, datacenters", () => {
  const policies = new Map<string, AclPolicy>([
    [GLOBAL_MANAGEMENT_POLICY_ID, policy(GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_MANAGEMENT_RULES)],
    [GLOBAL_READ_ONLY_POLICY_ID, policy(GLOBAL_READ_ONLY_POLICY_ID, GLOBAL_READ_ONLY_RULES)],
    ["p-kv", policy("p-kv", `key_prefix "app/" { policy = "write" }`)],
    ["p-dc2", policy("p-dc2", `operator = "write"`, ["dc2"])],
    ["p-dc1", policy("p-dc1", `event_prefix "" { policy = "write" }`, ["dc1"])],
  ]);
  const roles = new Map<string, AclRole>([
    ["r-1", { ID: "r-1", Name: "r", Description: "", Policies: [{ ID: "p-kv", Name: "" }], ServiceIdentities: [{ ServiceName: "api" }], NodeIdentities: [], TemplatedPolicies: [], Hash: "", CreateIndex: 1, ModifyIndex: 1 }],
  ]);
  const lookup = { policy: (id: string) => policies.get(id), role: (id: string) => roles.get(id) };
  const settings = { datacenter: "dc1", defaultPolicy: "deny" as const };
  const cache = new RulesCache();

  const mgmt = authorizerForToken(token({ Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: "" }] }), lookup, settings, cache);
  check(mgmt, [["acl:write", "", "allow"], ["snapshot", "", "allow"], ["key:write", "x", "allow"]], "management");

  const viaRole = authorizerForToken(token({ Roles: [{ ID: "r-1", Name: "" }] }), lookup, settings, cache);
  check(viaRole, [
    ["key:write", "app/x", "allow"], ["key:read", "other", "deny"],
    ["service:write", "api", "allow"], ["service:write", "api-sidecar-proxy", "allow"], ["service:write", "web", "deny"],
    ["service:read", "web", "allow"], ["node:read", "n", "allow"], ["node:write", "n", "deny"],
  ], "role");

  const dcs = authorizerForToken(token({ Policies: [{ ID: "p-dc2", Name: "" }, { ID: "p-dc1", Name: "" }, { ID: "missing", Name: "" }] }), lookup, settings, cache);
  check(dcs, [["operator:write", "", "deny"], ["event:write", "e", "allow"]], "datacenters");

  const nodeId = authorizerForToken(token({ NodeIdentities: [{ NodeName: "n1", Datacenter: "dc1" }, { NodeName: "n2", Datacenter: "dc2" }] }), lookup, settings, cache);
  check(nodeId, [["node:write", "n1", "allow"], ["node:write", "n2", "deny"], ["service:read", "s", "allow"], ["node:read", "n3", "deny"]], "node identity");

  const svcDc = authorizerForToken(token({ ServiceIdentities: [{ ServiceName: "db", Datacenters: ["dc2"] }] }), lookup, settings, cache);
  check(svcDc, [["service:write", "db", "deny"]], "service identity elsewhere");

  const templated = authorizerForToken(token({
    TemplatedPolicies: [
      { TemplateName: "builtin/service", TemplateVariables: { Name: "web" } },
      { TemplateName: "builtin/node", TemplateVariables: { Name: "n9" } },
      { TemplateName: "builtin/dns" },
    ],
  }), lookup, settings, cache);
  check(templated, [
    ["service:write", "web", "allow"], ["service:write", "web-sidecar-proxy", "allow"], ["node:write", "n9", "allow"],
    ["query:read", "q", "allow"], ["query:write", "q", "deny"], ["node:read", "x", "allow"], ["key:read", "k", "deny"],
  ], "templated");

  const anonymous = authorizerForToken(token({ AccessorID: "00000000-0000-0000-0000-000000000002" }), lookup, { datacenter: "dc1", defaultPolicy: "allow" }, cache);
  check(anonymous, [["key:write", "k", "allow"], ["acl:read", "", "deny"]], "anonymous under allow");
  assert.equal(anonymous.accessorId, "00000000-0000-0000-0000-000000000002");
});
