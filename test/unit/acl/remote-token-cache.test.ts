import { test } from "node:test";
import assert from "node:assert/strict";
import { allowAllRules, denyAllRules, staticAuthorizer } from "../../../src/acl/authorizer.ts";
import type { AclDownPolicy } from "../../../src/acl/down-policy.ts";
import { RemoteTokenCache } from "../../../src/acl/remote-token-cache.ts";
import { authorizerForToken, RulesCache } from "../../../src/acl/resolve.ts";
import { lookupOf, resolutionFromTables, type TokenResolutionReply } from "../../../src/acl/token-resolution.ts";
import { ConsulError } from "../../../src/errors/catalog.ts";
import type { AclPolicy, AclToken } from "../../../src/model/acl.ts";

// A client agent's token cache (Consul's ACLResolver on a client): answers are reused for the
// TTL; when no server answers, down_policy decides.

const policy: AclPolicy = { ID: "p1", Name: "kv", Description: "", Rules: `key_prefix "app/" { policy = "write" }`, Hash: "", CreateIndex: 1, ModifyIndex: 1 };
const token: AclToken = {
  AccessorID: "acc-1", SecretID: "s1", Description: "", Policies: [{ ID: "p1", Name: "kv" }], Roles: [], ServiceIdentities: [], NodeIdentities: [],
  TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "", CreateIndex: 2, ModifyIndex: 2,
};
const tables = { tokenBySecret: (s: string) => (s === "s1" ? token : undefined), policy: (id: string) => (id === "p1" ? policy : undefined), role: () => undefined };

function harness(downPolicy: AclDownPolicy) {
  let now = 0;
  let serversUp = true;
  const fetched: string[] = [];
  const errors: unknown[] = [];
  const rules = new RulesCache();
  const cache = new RemoteTokenCache({
    fetch: (secret) => {
      fetched.push(secret);
      if (!serversUp) return Promise.reject(new Error("rpc: no known servers"));
      return Promise.resolve(resolutionFromTables(tables, secret, Date.parse("2026-06-01T00:00:00Z")));
    },
    compile: async (r) => authorizerForToken(r.token, lookupOf(r), { datacenter: "dc1", defaultPolicy: "deny" }, rules),
    downAuthorizer: staticAuthorizer(downPolicy === "allow" ? allowAllRules : denyAllRules),
    downPolicy,
    ttlMs: 30_000,
    nowMs: () => now,
    wallMs: () => Date.parse("2026-06-01T00:00:00Z"),
    onFetchError: (err) => errors.push(err),
  });
  return {
    cache,
    fetched,
    errors,
    advance: (ms: number) => (now += ms),
    setServersUp: (up: boolean) => (serversUp = up),
  };
}

test("remote token cache: a server's answer is compiled, reused for the TTL and asked again after; the reply never carries the secret", async () => {
  const reply = resolutionFromTables(tables, "s1", 0) as Extract<TokenResolutionReply, { found: true }>;
  assert.equal(reply.token.SecretID, "", "the secret does not travel back");
  assert.deepEqual(reply.policies.map((p) => p.ID), ["p1"]);

  const h = harness("extend-cache");
  assert.equal(h.cache.cached("s1"), undefined, "nothing cached yet");
  const authz = await h.cache.resolve("s1");
  assert.equal(authz.accessorId, "acc-1");
  assert.equal(authz.keyWrite("app/x"), "allow");
  assert.equal(authz.keyWrite("other"), "deny", "the agent's default policy (deny) applies past the rules");
  assert.equal(h.cache.cached("s1"), authz);
  h.advance(29_999);
  assert.equal(h.cache.cached("s1"), authz);
  h.advance(1);
  assert.equal(h.cache.cached("s1"), undefined, "past token_ttl the server is asked again");
  await h.cache.resolve("s1");
  assert.deepEqual(h.fetched, ["s1", "s1"]);
});

test("remote token cache: an unknown secret is 403 ACL not found, cached like an answer; concurrent requests share one question", async () => {
  const h = harness("extend-cache");
  const isNotFound = (e: unknown) => e instanceof ConsulError && e.statusCode === 403 && e.message === "ACL not found";
  await Promise.all([assert.rejects(h.cache.resolve("bogus"), isNotFound), assert.rejects(h.cache.resolve("bogus"), isNotFound)]);
  assert.deepEqual(h.fetched, ["bogus"]);
  assert.throws(() => h.cache.cached("bogus"), isNotFound);
  await assert.rejects(h.cache.resolve("anonymous"), isNotFound);
  assert.equal(h.cache.cached("anonymous"), undefined, "a missing anonymous token (ACLs still being set up) is asked again");
});

test("remote token cache: down_policy extend-cache keeps using a cached answer however old; uncached secrets get the down authorizer", async () => {
  const h = harness("extend-cache");
  const first = await h.cache.resolve("s1");
  h.setServersUp(false);
  h.advance(120_000);
  assert.equal(h.cache.cached("s1"), undefined);
  assert.equal(await h.cache.resolve("s1"), first, "extended");
  assert.equal(h.cache.cached("s1"), first, "and fresh again for a TTL, so no RPC per request while servers are down");
  const unknown = await h.cache.resolve("never-seen");
  assert.equal(unknown.keyRead("x"), "deny");
  assert.equal(h.errors.length, 2);
});

test("remote token cache: down_policy deny refuses even a cached token once it is stale; allow allows everything", async () => {
  const deny = harness("deny");
  await deny.cache.resolve("s1");
  deny.setServersUp(false);
  deny.advance(31_000);
  assert.equal((await deny.cache.resolve("s1")).keyWrite("app/x"), "deny");

  const allow = harness("allow");
  allow.setServersUp(false);
  assert.equal((await allow.cache.resolve("anything")).keyWrite("secret/x"), "allow");
});

test("remote token cache: down_policy async-cache serves a stale answer at once and refreshes in the background", async () => {
  const h = harness("async-cache");
  const first = await h.cache.resolve("s1");
  h.advance(31_000);
  assert.equal(h.cache.cached("s1"), first, "stale, served without waiting");
  assert.deepEqual(h.fetched, ["s1", "s1"], "a refresh started");
  await new Promise((r) => setImmediate(r));
  assert.notEqual(h.cache.cached("s1"), undefined);
  assert.deepEqual(h.fetched, ["s1", "s1"], "the refreshed answer is fresh again");
});
