import { test, after } from "node:test";
import assert from "node:assert/strict";
import { clusterSpecs, proposeToLeader, startServer, waitFor, waitForLeader, kvSet, type RunningServer } from "../server/raft-consensus-harness.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";

// ACL objects are Raft state: written on the leader they reach every server, and a restart of
// every server from its data dir brings them (and the bootstrap state) back.

const open: RunningServer[] = [];
after(async () => {
  for (const s of open) await s.consensus.close().catch(() => {});
});

function tokenFields(accessor: string, secret: string): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: [{ ID: "p1", Name: "" }], Roles: [], ServiceIdentities: [],
    NodeIdentities: [], TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "",
  };
}

test("ACL tokens, policies, roles and bootstrap replicate and survive a restart of every server", async () => {
  const specs = await clusterSpecs(3);
  let servers = await Promise.all(specs.map((s) => startServer(s, specs)));
  open.push(...servers);
  await waitForLeader(servers);
  assert.equal((await proposeToLeader(servers, { Type: "acl-policy-set", Policy: { ID: "p1", Name: "kv", Description: "", Rules: `key_prefix "" { policy = "read" }`, Hash: "" } })).result.ok, true);
  assert.equal((await proposeToLeader(servers, { Type: "acl-role-set", Role: { ID: "r1", Name: "ops", Description: "", Policies: [{ ID: "p1", Name: "" }], ServiceIdentities: [], NodeIdentities: [], TemplatedPolicies: [], Hash: "" } })).result.ok, true);
  const { index } = await proposeToLeader(servers, { Type: "acl-bootstrap", Token: tokenFields("a1", "s1"), ResetIndex: 0 });
  await waitFor("every server to apply", () => servers.every((s) => s.consensus.appliedIndex() >= index));
  for (const s of servers) {
    assert.equal(s.state.acl.tokens.getBySecret("s1")?.AccessorID, "a1");
    assert.equal(s.state.acl.policies.getByName("kv")?.ID, "p1");
    assert.equal(s.state.acl.roles.getByName("ops")?.ID, "r1");
    assert.deepEqual(s.state.acl.bootstrap(), { allowBootstrap: false, resetIndex: index });
  }
  for (const s of servers) await s.consensus.close();

  servers = await Promise.all(specs.map((s) => startServer(s, specs)));
  open.push(...servers);
  await waitForLeader(servers);
  const after = await proposeToLeader(servers, kvSet("after-restart", "1"));
  await waitFor("every server to catch up", () => servers.every((s) => s.consensus.appliedIndex() >= after.index));
  for (const s of servers) {
    assert.equal(s.state.acl.tokens.getBySecret("s1")?.AccessorID, "a1");
    assert.equal(s.state.acl.policies.get("p1")?.Rules, `key_prefix "" { policy = "read" }`);
    assert.deepEqual(s.state.acl.bootstrap(), { allowBootstrap: false, resetIndex: index });
  }
  for (const s of servers) await s.consensus.close();
});
