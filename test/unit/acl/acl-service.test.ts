import { test } from "node:test";
import assert from "node:assert/strict";
import { AclService } from "../../../src/acl/service.ts";
import { StateStore } from "../../../src/state/store.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { manualClock } from "../agent/fake-clock.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";
import { ConsulError } from "../../../src/errors/catalog.ts";

function tokenFields(accessor: string, secret: string, extra: Partial<AclTokenFields> = {}): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "", ...extra,
  };
}

test("resolution: default token, anonymous, unknown and expired secrets, compiled authorizers reused until an ACL write", () => {
  const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let i = 0;
  const apply = (cmd: Parameters<StateMachine["apply"]>[1]) => assert.equal(fsm.apply(++i, cmd).ok, true);
  apply({ Type: "acl-policy-set", Policy: { ID: "p1", Name: "kv", Description: "", Rules: `key "a" { policy = "read" }`, Hash: "" } });
  apply({ Type: "acl-token-set", Token: tokenFields("00000000-0000-0000-0000-000000000002", "anonymous") });
  apply({ Type: "acl-token-set", Token: tokenFields("t1", "s1", { Policies: [{ ID: "p1", Name: "" }] }) });
  apply({ Type: "acl-token-set", Token: tokenFields("t2", "s2", { ExpirationTime: "2026-01-01T00:05:00Z" }) });
  const settings = { datacenter: "dc1", defaultPolicy: "deny" as const, downPolicy: "extend-cache", defaultToken: "", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };
  const service = new AclService({ tables: state.acl, clock, rng: seededRng(1), settings });

  assert.equal(service.resolve("").accessorId, "00000000-0000-0000-0000-000000000002");
  const withDefault = new AclService({ tables: state.acl, clock, rng: seededRng(1), settings: { ...settings, defaultToken: "s1" } });
  assert.equal(withDefault.resolve("").accessorId, "t1");
  assert.throws(() => service.resolve("nope"), (e: unknown) => e instanceof ConsulError && e.statusCode === 403 && e.message === "ACL not found");

  const first = service.resolve("s1");
  assert.equal(first.keyRead("a"), "allow");
  assert.equal(service.resolve("s1"), first, "compiled once");
  apply({ Type: "acl-policy-set", Policy: { ID: "p1", Name: "kv", Description: "", Rules: `key "a" { policy = "deny" }`, Hash: "" } });
  const after = service.resolve("s1");
  assert.notEqual(after, first);
  assert.equal(after.keyRead("a"), "deny", "a policy change applies to the next request");

  assert.equal(service.resolve("s2").accessorId, "t2");
  clock.advance(6 * 60_000);
  assert.throws(() => service.resolve("s2"), { message: "ACL not found" });
});

test("a resolved secret is a cache hit: no token lookup in the state until an ACL table changes", () => {
  const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let i = 0;
  const apply = (cmd: Parameters<StateMachine["apply"]>[1]) => assert.equal(fsm.apply(++i, cmd).ok, true);
  apply({ Type: "acl-token-set", Token: tokenFields("t1", "s1", { ExpirationTime: "2026-01-01T00:05:00Z" }) });
  let lookups = 0;
  const tokens = state.acl.tokens;
  const counted = new Proxy(tokens, {
    get(target, prop) {
      if (prop === "getBySecretDigest" || prop === "getBySecret") lookups++;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const tables = new Proxy(state.acl, { get: (target, prop) => (prop === "tokens" ? counted : Reflect.get(target, prop, target)) });
  const settings = { datacenter: "dc1", defaultPolicy: "deny" as const, downPolicy: "extend-cache", defaultToken: "", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };
  const service = new AclService({ tables, clock, rng: seededRng(1), settings });
  const first = service.resolve("s1");
  assert.equal(lookups, 1);
  for (let n = 0; n < 100; n++) assert.equal(service.resolve("s1"), first);
  assert.equal(lookups, 1, "100 more requests, no state read");
  apply({ Type: "acl-token-set", Token: tokenFields("t9", "s9") });
  assert.equal(service.resolve("s1"), first, "another token's write: re-checked, not recompiled");
  assert.equal(lookups, 2, "an ACL write makes the next use re-read the token");
  clock.advance(6 * 60_000);
  assert.throws(() => service.resolve("s1"), { message: "ACL not found" }, "expiry is checked on every hit");
});
