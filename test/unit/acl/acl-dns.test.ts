import { test } from "node:test";
import assert from "node:assert/strict";
import { dnsSettings } from "../../../src/dns/dns-settings.ts";
import { ResolverCache, resolveQuestion, type Resolution } from "../../../src/dns/resolver.ts";
import { Authorizer, denyAllRules } from "../../../src/acl/authorizer.ts";
import { PolicyAuthorizer } from "../../../src/acl/policy-authorizer.ts";
import { parseRules } from "../../../src/acl/rules.ts";
import { CatalogFixture, serviceFields } from "../dns/catalog-fixture.ts";

// DNS answers with the agent's token: unreadable nodes and services do not exist.

function authz(accessor: string, rules: string): Authorizer {
  return new Authorizer(accessor, [new PolicyAuthorizer([parseRules(rules)])], denyAllRules);
}

const fixture = new CatalogFixture()
  .register({ node: "web-1", nodeAddress: "10.0.0.1", service: serviceFields("web", "web") })
  .register({ node: "db-1", nodeAddress: "10.0.0.2", service: serviceFields("db", "db") })
  .register({ node: "web-2", nodeAddress: "10.0.0.3", service: serviceFields("web", "web") });

function resolve(name: string, type: string, a?: Authorizer, cache?: ResolverCache): Resolution {
  return resolveQuestion({ name, type }, { state: fixture.state, settings: dnsSettings({}), random: () => 0, nowMs: 0, authz: a, cache });
}

function addresses(r: Resolution): string[] {
  assert.equal(r.kind, "answer");
  if (r.kind !== "answer") return [];
  return r.answers.flatMap((x) => (x.type === "A" ? [String(x.data)] : [])).sort();
}

test("services need service:read and node:read on each instance; nodes need node:read", () => {
  const webOnFirst = authz("a", `service "web" { policy = "read" }\nnode "web-1" { policy = "read" }`);
  assert.deepEqual(addresses(resolve("web.service.consul", "A")), ["10.0.0.1", "10.0.0.3"]);
  assert.deepEqual(addresses(resolve("web.service.consul", "A", webOnFirst)), ["10.0.0.1"]);
  const db = resolve("db.service.consul", "A", webOnFirst);
  assert.equal(db.kind === "answer" && db.rcode, "NXDOMAIN");
  assert.deepEqual(addresses(resolve("web-1.node.consul", "A", webOnFirst)), ["10.0.0.1"]);
  const hidden = resolve("web-2.node.consul", "A", webOnFirst);
  assert.equal(hidden.kind === "answer" && hidden.rcode, "NXDOMAIN");
  const nothing = resolve("web.service.consul", "A", new Authorizer("", [], denyAllRules));
  assert.equal(nothing.kind === "answer" && nothing.rcode, "NXDOMAIN");
});

test("the service memo is kept per token", () => {
  const cache = new ResolverCache();
  const all = authz("all", `service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }`);
  const one = authz("one", `service "web" { policy = "read" }\nnode "web-2" { policy = "read" }`);
  assert.deepEqual(addresses(resolve("web.service.consul", "A", all, cache)), ["10.0.0.1", "10.0.0.3"]);
  assert.deepEqual(addresses(resolve("web.service.consul", "A", one, cache)), ["10.0.0.3"]);
});
