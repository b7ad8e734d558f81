import { test } from "node:test";
import assert from "node:assert/strict";
import { StateStore } from "../../../src/state/store.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { WatchSet } from "../../../src/state/watch.ts";
import type { AclPolicyFields, AclRoleFields, AclTokenFields } from "../../../src/model/acl.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { Packr } from "msgpackr";

function tokenFields(accessor: string, secret: string, extra: Partial<AclTokenFields> = {}): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "", ...extra,
  };
}

function policyFields(id: string, name: string, rules = ""): AclPolicyFields {
  return { ID: id, Name: name, Description: "", Rules: rules, Hash: "" };
}

function roleFields(id: string, name: string, extra: Partial<AclRoleFields> = {}): AclRoleFields {
  return { ID: id, Name: name, Description: "", Policies: [], ServiceIdentities: [], NodeIdentities: [], TemplatedPolicies: [], Hash: "", ...extra };
}

class Harness {
  readonly state = new StateStore();
  readonly fsm = new StateMachine(this.state);
  index = 0;
  apply(cmd: Command) {
    return this.fsm.apply(++this.index, cmd);
  }
}

test("bootstrap once; a reset needs the stored reset index", () => {
  const h = new Harness();
  assert.deepEqual(h.state.acl.bootstrap(), { allowBootstrap: true, resetIndex: 0 });
  const first = h.apply({ Type: "acl-bootstrap", Token: tokenFields("a1", "s1"), ResetIndex: 0 });
  assert.equal(first.ok, true);
  assert.deepEqual(h.state.acl.bootstrap(), { allowBootstrap: false, resetIndex: 1 });
  assert.deepEqual(h.apply({ Type: "acl-bootstrap", Token: tokenFields("a2", "s2"), ResetIndex: 0 }), { ok: false, error: "ACL bootstrap no longer allowed" });
  assert.deepEqual(h.apply({ Type: "acl-bootstrap", Token: tokenFields("a2", "s2"), ResetIndex: 7 }), { ok: false, error: "Invalid ACL bootstrap reset index" });
  assert.equal(h.state.acl.tokens.get("a2"), undefined);
  const reset = h.apply({ Type: "acl-bootstrap", Token: tokenFields("a3", "s3"), ResetIndex: 1 });
  assert.equal(reset.ok, true);
  assert.deepEqual(h.state.acl.bootstrap(), { allowBootstrap: false, resetIndex: 4 });
  // the first bootstrap token survives a reset
  assert.equal(h.state.acl.tokens.get("a1")?.SecretID, "s1");
});

test("tokens: lookup by accessor and secret, unique secrets, immutable secret, anonymous kept", () => {
  const h = new Harness();
  assert.equal(h.apply({ Type: "acl-token-set", Token: tokenFields("a1", "s1") }).ok, true);
  assert.equal(h.apply({ Type: "acl-token-set", Token: tokenFields("00000000-0000-0000-0000-000000000002", "anonymous") }).ok, true);
  assert.equal(h.state.acl.tokens.getBySecret("s1")?.AccessorID, "a1");
  assert.equal(h.state.acl.tokens.getBySecret("nope"), undefined);
  assert.deepEqual(h.apply({ Type: "acl-token-set", Token: tokenFields("a2", "s1") }), { ok: false, error: "Invalid Token: SecretID is already in use" });
  assert.deepEqual(h.apply({ Type: "acl-token-set", Token: tokenFields("a1", "other") }), { ok: false, error: "Invalid Token: SecretID cannot be changed" });
  // update keeps CreateIndex, moves ModifyIndex
  assert.equal(h.apply({ Type: "acl-token-set", Token: tokenFields("a1", "s1", { Description: "x" }) }).ok, true);
  const row = h.state.acl.tokens.get("a1");
  assert.equal(row?.CreateIndex, 1);
  assert.equal(row?.ModifyIndex, 5);
  assert.equal(row?.Description, "x");
  assert.deepEqual(
    h.apply({ Type: "acl-token-delete", AccessorIDs: ["00000000-0000-0000-0000-000000000002"] }),
    { ok: false, error: "Deletion of the builtin anonymous token is not permitted" },
  );
  const ws = new WatchSet();
  h.state.acl.tokens.get("a1", ws);
  let woke = false;
  h.state.hub.subscribe(ws.topics, () => (woke = true));
  assert.equal(h.apply({ Type: "acl-token-delete", AccessorIDs: ["a1"] }).ok, true);
  assert.equal(woke, true);
  assert.equal(h.state.acl.tokens.get("a1"), undefined);
  assert.equal(h.state.acl.tokens.getBySecret("s1"), undefined);
  assert.equal(h.state.acl.tokens.tableIndex, 7);
});

test("token list filters: policy, role, service name, auth method; ordered by AccessorID", () => {
  const h = new Harness();
  h.apply({ Type: "acl-token-set", Token: tokenFields("c", "sc", { Policies: [{ ID: "p1", Name: "" }] }) });
  h.apply({ Type: "acl-token-set", Token: tokenFields("a", "sa", { Roles: [{ ID: "r1", Name: "" }], Policies: [{ ID: "p1", Name: "" }] }) });
  h.apply({ Type: "acl-token-set", Token: tokenFields("b", "sb", { ServiceIdentities: [{ ServiceName: "web" }], AuthMethod: "k8s" }) });
  const ids = (f: Parameters<typeof h.state.acl.tokens.list>[0]) => h.state.acl.tokens.list(f).map((t) => t.AccessorID);
  assert.deepEqual(ids({}), ["a", "b", "c"]);
  assert.deepEqual(ids({ policy: "p1" }), ["a", "c"]);
  assert.deepEqual(ids({ role: "r1" }), ["a"]);
  assert.deepEqual(ids({ serviceName: "web" }), ["b"]);
  assert.deepEqual(ids({ authMethod: "k8s" }), ["b"]);
  assert.deepEqual(ids({ policy: "p1", role: "r1" }), ["a"]);
  assert.deepEqual(ids({ policy: "nope" }), []);
});

test("expired tokens are found oldest first, split by locality", () => {
  const h = new Harness();
  h.apply({ Type: "acl-token-set", Token: tokenFields("t1", "s1", { ExpirationTime: "2026-01-01T00:10:00Z" }) });
  h.apply({ Type: "acl-token-set", Token: tokenFields("t2", "s2", { ExpirationTime: "2026-01-01T00:05:00Z" }) });
  h.apply({ Type: "acl-token-set", Token: tokenFields("t3", "s3", { ExpirationTime: "2026-01-01T00:01:00Z", Local: true }) });
  h.apply({ Type: "acl-token-set", Token: tokenFields("t4", "s4") });
  const at = Date.parse("2026-01-01T00:20:00Z");
  assert.deepEqual(h.state.acl.tokens.expired(at, false, 10).map((t) => t.AccessorID), ["t2", "t1"]);
  assert.deepEqual(h.state.acl.tokens.expired(at, false, 1).map((t) => t.AccessorID), ["t2"]);
  assert.deepEqual(h.state.acl.tokens.expired(at, true, 10).map((t) => t.AccessorID), ["t3"]);
  assert.deepEqual(h.state.acl.tokens.expired(Date.parse("2026-01-01T00:06:00Z"), false, 10).map((t) => t.AccessorID), ["t2"]);
});

test("policies and roles: unique case-insensitive names, lookup by name, built-ins not deletable", () => {
  const h = new Harness();
  assert.equal(h.apply({ Type: "acl-policy-set", Policy: policyFields("p1", "Readers", `key_prefix "" { policy = "read" }`) }).ok, true);
  assert.deepEqual(h.apply({ Type: "acl-policy-set", Policy: policyFields("p2", "readers") }), { ok: false, error: `A Policy with name "readers" already exists` });
  assert.equal(h.state.acl.policies.getByName("READERS")?.ID, "p1");
  // renaming frees the old name
  assert.equal(h.apply({ Type: "acl-policy-set", Policy: policyFields("p1", "writers") }).ok, true);
  assert.equal(h.state.acl.policies.getByName("readers"), undefined);
  assert.equal(h.apply({ Type: "acl-policy-set", Policy: policyFields("p2", "readers") }).ok, true);
  assert.deepEqual(h.state.acl.policies.list().map((p) => p.ID), ["p1", "p2"]);
  assert.deepEqual(
    h.apply({ Type: "acl-policy-delete", IDs: ["00000000-0000-0000-0000-000000000001"] }),
    { ok: false, error: "Deletion of the builtin policies is not permitted" },
  );
  assert.equal(h.apply({ Type: "acl-policy-delete", IDs: ["p2"] }).ok, true);
  assert.equal(h.state.acl.policies.get("p2"), undefined);

  assert.equal(h.apply({ Type: "acl-role-set", Role: roleFields("r1", "ops", { Policies: [{ ID: "p1", Name: "" }] }) }).ok, true);
  assert.deepEqual(h.apply({ Type: "acl-role-set", Role: roleFields("r2", "OPS") }), { ok: false, error: `A Role with name "OPS" already exists` });
  assert.equal(h.state.acl.roles.getByName("Ops")?.ID, "r1");
  assert.equal(h.apply({ Type: "acl-role-delete", IDs: ["r1"] }).ok, true);
  assert.equal(h.state.acl.roles.size, 0);
});

test("ACL tables travel in snapshots; older snapshots restore as never bootstrapped", () => {
  const h = new Harness();
  h.apply({ Type: "acl-policy-set", Policy: policyFields("p1", "readers") });
  h.apply({ Type: "acl-role-set", Role: roleFields("r1", "ops") });
  h.apply({ Type: "acl-bootstrap", Token: tokenFields("a1", "s1", { Policies: [{ ID: "p1", Name: "" }] }), ResetIndex: 0 });
  const data = serializeState(h.state);
  const copy = new StateStore();
  restoreState(copy, data);
  assert.deepEqual(copy.acl.dump(), h.state.acl.dump());
  assert.equal(copy.acl.tokens.getBySecret("s1")?.AccessorID, "a1");
  assert.equal(copy.acl.policies.getByName("READERS")?.ID, "p1");
  assert.deepEqual(copy.acl.bootstrap(), { allowBootstrap: false, resetIndex: 3 });

  // an operator restore (snapshot-restore command) replaces ACL state and raises its indexes
  const other = new Harness();
  other.index = 10;
  other.apply({ Type: "acl-token-set", Token: tokenFields("zz", "szz") });
  assert.equal(other.apply({ Type: "snapshot-restore", Data: Buffer.from(data) }).ok, true);
  assert.equal(other.state.acl.tokens.get("zz"), undefined);
  assert.equal(other.state.acl.tokens.get("a1")?.SecretID, "s1");
  assert.equal(other.state.acl.tokens.tableIndex, 12);
  assert.deepEqual(other.state.acl.bootstrap(), { allowBootstrap: false, resetIndex: 3 });

  // a snapshot written before ACL tables existed has no Acl section
  const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
  const doc = packr.unpack(data) as Record<string, unknown>;
  delete doc.Acl;
  const old = new StateStore();
  old.acl.markBootstrapped(99);
  restoreState(old, packr.pack(doc));
  assert.deepEqual(old.acl.bootstrap(), { allowBootstrap: true, resetIndex: 0 });
  assert.equal(old.acl.tokens.size, 0);
});
