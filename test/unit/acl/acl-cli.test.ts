// The `acl` CLI against an in-process agent with ACLs on (default deny): bootstrap, policies,
// roles, tokens, set-agent-token, token sources and output formats, end to end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";
import { runCli } from "../cli/run-cli.ts";

let agent: TestAgent;
let dir: string;
let address: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "consulate-acl-cli-"));
  agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", dataDir: dir } });
  address = agent.base.replace(/^http:\/\//, "");
  await eventually("built-in ACL objects", async () => agent.running.state.acl.tokens.get("00000000-0000-0000-0000-000000000002") !== undefined);
});

after(async () => {
  await agent.stop();
  await rm(dir, { recursive: true, force: true });
});

const field = (out: string, label: string): string => {
  const m = new RegExp(`^${label}:\\s+(.*)$`, "m").exec(out);
  assert.ok(m, `no ${label} in ${out}`);
  return m[1];
};

test("acl CLI: bootstrap → policy → role → token → set-agent-token, with consul's output and exit codes", async () => {
  const boot = await runCli(["acl", "bootstrap"], { address });
  assert.equal(boot.code, 0, boot.err);
  const rootSecret = field(boot.out, "SecretID");
  assert.match(boot.out, /^AccessorID: {7}[0-9a-f-]{36}\nSecretID: {9}[0-9a-f-]{36}\nDescription: {6}Bootstrap Token \(Global Management\)\nLocal: {12}false\nCreate Time: {6}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\nPolicies:\n {3}00000000-0000-0000-0000-000000000001 - global-management\n\n$/);
  const again = await runCli(["acl", "bootstrap"], { address });
  assert.equal(again.code, 1);
  assert.match(again.err, /^Failed ACL bootstrapping: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)\)\n$/);

  // no token: the anonymous token under default deny may not list
  const denied = await runCli(["acl", "policy", "list"], { address });
  assert.equal(denied.code, 1);
  // As Consul 1.20 prints it (HashiCorp's support article on default and anonymous tokens quotes this line).
  assert.match(denied.err, /^Failed to retrieve the policy list: Unexpected response code: 403 \(Permission denied: anonymous token lacks permission 'acl:read'\. The anonymous token is used implicitly when a request does not specify a token\.\)/);

  const rulesFile = join(dir, "rules.hcl");
  await writeFile(rulesFile, 'key_prefix "app/" { policy = "write" }\n');
  const env = { CONSUL_HTTP_TOKEN: rootSecret };
  const policy = await runCli(["acl", "policy", "create", "-name", "app-writer", "-description", "app keys", "-rules", `@${rulesFile}`], { address, env });
  assert.equal(policy.code, 0, policy.err);
  const policyId = field(policy.out, "ID");
  assert.equal(policy.out, `ID:           ${policyId}\nName:         app-writer\nDescription:  app keys\nDatacenters:  \nRules:\nkey_prefix "app/" { policy = "write" }\n\n`);
  const bad = await runCli(["acl", "policy", "create", "-name", "broken", "-rules", "key_prefix {"], { address, env });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Failed to create new policy: Unexpected response code: 400/);
  const missingName = await runCli(["acl", "policy", "create"], { address, env });
  assert.equal(missingName.code, 1);
  assert.match(missingName.err, /^Missing require '-name' flag\n/);

  const readByName = await runCli(["acl", "policy", "read", "-name", "app-writer", "-format", "json"], { address, env });
  assert.equal(readByName.code, 0, readByName.err);
  const policyJson = JSON.parse(readByName.out) as Record<string, unknown>;
  assert.equal(policyJson.ID, policyId);
  assert.ok(readByName.out.includes('\n    "Name": "app-writer"'), "4-space indented JSON");
  const byPrefix = await runCli(["acl", "policy", "read", "-id", policyId.slice(0, 8)], { address, env });
  assert.equal(byPrefix.code, 0, byPrefix.err);
  assert.equal(field(byPrefix.out, "Name"), "app-writer");
  const updated = await runCli(["acl", "policy", "update", "-id", policyId, "-description", "app keys v2"], { address, env });
  assert.equal(updated.code, 0, updated.err);
  assert.equal(field(updated.out, "Description"), "app keys v2");
  assert.match(updated.out, /key_prefix "app\/"/, "merge keeps the rules");
  const listed = await runCli(["acl", "policy", "list"], { address, env });
  assert.match(listed.out, /^app-writer:\n {3}ID: {11}[0-9a-f-]{36}\n {3}Description: {2}app keys v2\n {3}Datacenters: {2}\n/m);
  assert.match(listed.out, /^global-management:\n/m);

  const role = await runCli(["acl", "role", "create", "-name", "app", "-policy-name", "app-writer", "-service-identity", "web:dc1"], { address, env });
  assert.equal(role.code, 0, role.err);
  const roleId = field(role.out, "ID");
  assert.equal(role.out, `ID:           ${roleId}\nName:         app\nDescription:  \nPolicies:\n   ${policyId} - app-writer\nService Identities:\n   web (Datacenters: dc1)\n\n`);
  const roleRead = await runCli(["acl", "role", "read", "-name", "app"], { address, env });
  assert.equal(roleRead.code, 0, roleRead.err);
  assert.equal(field(roleRead.out, "ID"), roleId);
  const roles = await runCli(["acl", "role", "list"], { address, env });
  assert.match(roles.out, /^app:\n {3}ID: {11}[0-9a-f-]{36}\n {3}Description: {2}\n {3}Policies:\n {6}[0-9a-f-]{36} - app-writer\n/);

  const noLinks = await runCli(["acl", "token", "create", "-description", "x"], { address, env });
  assert.equal(noLinks.code, 1);
  assert.match(noLinks.err, /^Cannot create a token without specifying -policy-name, -policy-id, -role-name, -role-id, -service-identity, or -node-identity at least once\n$/);
  const created = await runCli(
    ["acl", "token", "create", "-description", "app token", "-role-id", roleId.slice(0, 6), "-node-identity", "n1:dc1", "-expires-ttl", "1h"],
    { address, env },
  );
  assert.equal(created.code, 0, created.err);
  const accessor = field(created.out, "AccessorID");
  const appSecret = field(created.out, "SecretID");
  assert.match(created.out, /\nExpiration Time: {2}\d{4}-/);
  assert.match(created.out, new RegExp(`\\nRoles:\\n {3}${roleId} - app\\nNode Identities:\\n {3}n1 \\(Datacenter: dc1\\)\\n\\n$`));

  // the new token works through the role's policy, and reads itself through a token file
  const tokenFile = join(dir, "app.token");
  await writeFile(tokenFile, `${appSecret}\n`);
  const put = await runCli(["kv", "put", "app/x", "1"], { address, env: { CONSUL_HTTP_TOKEN_FILE: tokenFile } });
  assert.equal(put.code, 0, put.err);
  const self = await runCli(["acl", "token", "read", "-self", "-token-file", tokenFile], { address });
  assert.equal(self.code, 0, self.err);
  assert.equal(field(self.out, "AccessorID"), accessor);

  const selfExpanded = await runCli(["acl", "token", "read", "-self", "-expanded"], { address, env });
  assert.equal(selfExpanded.code, 1);
  assert.equal(selfExpanded.err, "Cannot use both -expanded and -self. Instead, use -expanded and -id=<accessor id>.\n");
  const read = await runCli(["acl", "token", "read", "-accessor-id", accessor.slice(0, 8), "-format=json"], { address, env });
  assert.equal(read.code, 0, read.err);
  const tokenJson = JSON.parse(read.out) as Record<string, unknown>;
  assert.equal(tokenJson.AccessorID, accessor);
  assert.equal(tokenJson.Description, "app token");
  const expanded = await runCli(["acl", "token", "read", "-id", accessor, "-expanded", "-format=json"], { address, env });
  assert.equal(expanded.code, 0, expanded.err);
  assert.match(expanded.err, /^Use the -accessor-id parameter to specify token by Accessor ID\n$/);
  const expandedJson = JSON.parse(expanded.out) as { ExpandedRoles?: { Name: string }[] };
  assert.deepEqual(expandedJson.ExpandedRoles?.map((r) => r.Name), ["app"]);

  const expandedPretty = await runCli(["acl", "token", "read", "-accessor-id", accessor, "-expanded"], { address, env });
  assert.equal(expandedPretty.code, 0, expandedPretty.err);
  assert.match(expandedPretty.out, new RegExp(`^AccessorID: {7}${accessor}\\n`));
  assert.match(expandedPretty.out, /\nRoles:\n {3}[0-9a-f-]{36} - app\n/);
  const appended = await runCli(["acl", "token", "update", "-accessor-id", accessor, "-append-policy-name", "global-management", "-description", "upgraded", "-append-node-identity", "n1:dc1", "-append-node-identity", "n3:dc1"], { address, env });
  assert.equal(appended.code, 0, appended.err);
  assert.match(appended.out, /\nNode Identities:\n {3}n1 \(Datacenter: dc1\)\n {3}n3 \(Datacenter: dc1\)\n/, "appended: n1 kept once, n3 added");
  assert.match(appended.out, /\nDescription: {6}upgraded\n/);
  assert.match(appended.out, /\nPolicies:\n {3}00000000-0000-0000-0000-000000000001 - global-management\nRoles:\n/);
  const conflicting = await runCli(["acl", "token", "update", "-accessor-id", accessor, "-policy-name", "a", "-append-policy-name", "b"], { address, env });
  assert.equal(conflicting.code, 1);
  assert.match(conflicting.err, /^Cannot combine the use of policy-id\/policy-name flags with append- variants\./);

  // consul 1.20's deprecated -merge-* flags: -policy-* links not yet there are added (with a
  // warning), -node-identity ones merged into what the token has.
  type TokenJson = { Policies?: { Name: string }[]; Roles?: { Name: string }[]; NodeIdentities?: { NodeName: string }[] };
  const merged = await runCli(
    ["acl", "token", "update", "-accessor-id", accessor, "-merge-policies", "-policy-name", "global-management", "-policy-name", "app-writer", "-merge-node-identities", "-node-identity", "n5:dc1", "-format=json"],
    { address, env },
  );
  assert.equal(merged.code, 0, merged.err);
  assert.equal(merged.err, "merge-policies is deprecated and will be removed in a future Consul version. Use `append-policy-name` or `append-policy-id` instead.\n");
  const mergedJson = JSON.parse(merged.out) as TokenJson;
  assert.deepEqual(mergedJson.Policies?.map((p) => p.Name), ["global-management", "app-writer"], "global-management kept once, app-writer added");
  assert.deepEqual(mergedJson.NodeIdentities?.map((n) => n.NodeName), ["n1", "n3", "n5"]);
  // Without any link flag: policies and roles stay, identities are cleared (consul's update sets
  // them from the -service-identity/-node-identity flags unless appending or merging).
  const plain = await runCli(["acl", "token", "update", "-accessor-id", accessor, "-description", "kept", "-format=json"], { address, env });
  assert.equal(plain.code, 0, plain.err);
  const plainJson = JSON.parse(plain.out) as TokenJson;
  assert.deepEqual(plainJson.Policies?.map((p) => p.Name), ["global-management", "app-writer"]);
  assert.deepEqual(plainJson.Roles?.map((r) => r.Name), ["app"]);
  assert.deepEqual(plainJson.NodeIdentities ?? [], []);
  // -merge-roles with -role-id links the role by its ID (consul 1.20's CLI sends the ID as a
  // Name, which the server cannot find; we keep the flag's meaning).
  const ops = await runCli(["acl", "role", "create", "-name", "ops", "-policy-name", "app-writer", "-format=json"], { address, env });
  assert.equal(ops.code, 0, ops.err);
  const opsId = (JSON.parse(ops.out) as { ID: string }).ID;
  const mergedRole = await runCli(["acl", "token", "update", "-accessor-id", accessor, "-merge-roles", "-role-id", opsId.slice(0, 8), "-format=json"], { address, env });
  assert.equal(mergedRole.code, 0, mergedRole.err);
  assert.deepEqual((JSON.parse(mergedRole.out) as TokenJson).Roles?.map((r) => r.Name), ["app", "ops"]);
  const updateHelp = await runCli(["acl", "token", "update", "-h"], { address });
  assert.doesNotMatch(updateHelp.out, /^ {2}-merge-/m, "the deprecated flags stay out of the help, as in consul");
  assert.match(updateHelp.out, /-policy-id=<value>\n\s+ID of a policy to use for this token\. Overwrites existing policies\./);

  const clone = await runCli(["acl", "token", "clone", "-accessor-id", accessor, "-description", "copy"], { address, env });
  assert.equal(clone.code, 0, clone.err);
  const cloneAccessor = field(clone.out, "AccessorID");
  assert.notEqual(cloneAccessor, accessor);
  assert.equal(field(clone.out, "Description"), "copy");

  const list = await runCli(["acl", "token", "list", "-token", rootSecret], { address });
  assert.equal(list.code, 0, list.err);
  for (const id of [accessor, cloneAccessor, "00000000-0000-0000-0000-000000000002"]) assert.ok(list.out.includes(`AccessorID:       ${id}\n`), id);
  assert.match(list.out, /\nLegacy: {11}false\n/);
  const listJson = await runCli(["acl", "token", "list", "-format", "json"], { address, env });
  assert.ok(Array.isArray(JSON.parse(listJson.out)));
  const badFormat = await runCli(["acl", "token", "list", "-format", "yaml"], { address, env });
  assert.equal(badFormat.code, 1);
  assert.equal(badFormat.err, "Unknown format: yaml\n");

  const ambiguous = await runCli(["acl", "token", "delete", "-accessor-id", ""], { address, env });
  assert.equal(ambiguous.code, 1);
  assert.equal(ambiguous.err, "Must specify the -accessor-id parameter\n");
  const deleted = await runCli(["acl", "token", "delete", "-accessor-id", cloneAccessor], { address, env });
  assert.equal(deleted.code, 0, deleted.err);
  assert.equal(deleted.out, `Token "${cloneAccessor}" deleted successfully\n`);
  const gone = await runCli(["acl", "token", "read", "-accessor-id", cloneAccessor], { address, env });
  assert.equal(gone.code, 1);
  assert.equal(gone.err, `Token not found with ID "${cloneAccessor}"\n`);
  const noPrefix = await runCli(["acl", "token", "delete", "-accessor-id", "zzzz"], { address, env });
  assert.equal(noPrefix.code, 1);
  assert.equal(noPrefix.err, "Error determining token ID: No such token ID with prefix: zzzz\n");

  const roleUpdate = await runCli(["acl", "role", "update", "-id", roleId, "-description", "the app", "-node-identity", "n2:dc1"], { address, env });
  assert.equal(roleUpdate.code, 0, roleUpdate.err);
  assert.match(roleUpdate.out, /Description: {2}the app\n/);
  assert.match(roleUpdate.out, /Service Identities:\n {3}web \(Datacenters: dc1\)\nNode Identities:\n {3}n2 \(Datacenter: dc1\)\n/);

  // set-agent-token: the default token now stands in for requests without one
  const setDefault = await runCli(["acl", "set-agent-token", "default", appSecret], { address, env });
  assert.equal(setDefault.code, 0, setDefault.err);
  assert.equal(setDefault.out, 'ACL token "default" set successfully\n');
  const anonymousPut = await runCli(["kv", "put", "app/y", "2"], { address });
  assert.equal(anonymousPut.code, 0, anonymousPut.err);
  const missing = await runCli(["acl", "set-agent-token", "default"], { address, env });
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "Error! Missing TOKEN argument\n");
  const unknownType = await runCli(["acl", "set-agent-token", "bogus", "x"], { address, env });
  assert.equal(unknownType.code, 1);
  assert.equal(unknownType.err, "Unknown token type\n");

  const roleDelete = await runCli(["acl", "role", "delete", "-name", "app"], { address, env });
  assert.equal(roleDelete.code, 0, roleDelete.err);
  assert.equal(roleDelete.out, `Role "${roleId}" deleted successfully\n`);
  const policyDelete = await runCli(["acl", "policy", "delete", "-name", "app-writer"], { address, env });
  assert.equal(policyDelete.code, 0, policyDelete.err);
  assert.equal(policyDelete.out, `Policy "${policyId}" deleted successfully\n`);
  const policyGone = await runCli(["acl", "policy", "read", "-id", policyId], { address, env });
  assert.equal(policyGone.code, 1);
  assert.equal(policyGone.err, `Policy not found with ID "${policyId}"\n`);
});

test("acl CLI: a token from -token, CONSUL_HTTP_TOKEN or a missing token file", async () => {
  const wrong = await runCli(["acl", "token", "list", "-token", "00000000-1111-2222-3333-444444444444"], { address });
  assert.equal(wrong.code, 1);
  assert.equal(wrong.err, "Failed to retrieve the token list: Unexpected response code: 403 (ACL not found)\n");
  const noFile = await runCli(["acl", "policy", "list", "-token-file", join(dir, "absent")], { address });
  assert.equal(noFile.code, 1);
  assert.match(noFile.err, /^Error connecting to Consul agent: Error loading token file: open .*absent: no such file or directory\n$/);
  const help = await runCli(["acl"], { address });
  assert.equal(help.code, 1);
  assert.match(help.out, /Subcommands:\n {4}bootstrap +Bootstrap Consul's ACL system\n/);
});
