// ACLs switched on from a config file, in a real agent process: the config
// {"acl":{"enabled":true,"default_policy":"deny","tokens":{"initial_management":"root"}}} must
// enforce (anonymous writes refused, the management token allowed, /v1/acl/* answering), and
// with ACLs off /v1/acl/* answers 401 "ACL support disabled", as Consul does.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { askUdp } from "./dns-support.ts";

const dir = mkdtempSync(join(tmpdir(), "consulate-acl-config-"));
const agents: AgentProcess[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.kill()));
  rmSync(dir, { recursive: true, force: true });
});

async function call(agent: AgentProcess, method: string, path: string, token?: string, body?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${agent.base}${path}`, { method, body, headers: token === undefined ? {} : { "X-Consul-Token": token } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Polls until check() passes (the leader creates the initial management token just after election). */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test("acl.enabled from a config file: deny by default, the initial management token may do anything, /v1/acl/* works", async () => {
  const file = join(dir, "acl.json");
  writeFileSync(file, JSON.stringify({ acl: { enabled: true, default_policy: "deny", tokens: { initial_management: "root" } } }));
  const agent = await spawnDevAgent([`-config-file=${file}`]);
  agents.push(agent);
  assert.match(agent.output(), /ACL Enabled: true\n/);
  assert.match(agent.output(), /ACL Default Policy: deny\n/);

  const anonymous = await call(agent, "PUT", "/v1/kv/secret", undefined, "s3cret");
  assert.equal(anonymous.status, 403);
  assert.match(anonymous.text, /^Permission denied: .* lacks permission 'key:write' on "secret"/);
  assert.equal(anonymous.headers.get("x-consul-default-acl-policy"), "deny");

  await eventually(async () => {
    const put = await call(agent, "PUT", "/v1/kv/secret", "root", "s3cret");
    assert.equal(put.status, 200, put.text);
  });
  assert.equal((await call(agent, "GET", "/v1/kv/secret?raw", "root")).text, "s3cret");
  assert.equal((await call(agent, "GET", "/v1/kv/secret?raw")).status, 403);
  assert.equal((await call(agent, "GET", "/v1/kv/secret", "no-such-secret")).text, "ACL not found");

  // Bootstrap is used up by the initial management token.
  const bootstrap = await call(agent, "PUT", "/v1/acl/bootstrap");
  assert.equal(bootstrap.status, 403);
  assert.match(bootstrap.text, /^Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)$/);

  // A policy and a token made with the management token work at once.
  const policy = await call(agent, "PUT", "/v1/acl/policy", "root", JSON.stringify({ Name: "app-kv", Rules: 'key_prefix "app/" { policy = "write" }' }));
  assert.equal(policy.status, 200, policy.text);
  const token = await call(agent, "PUT", "/v1/acl/token", "root", JSON.stringify({ Policies: [{ Name: "app-kv" }] }));
  assert.equal(token.status, 200, token.text);
  const secret = (JSON.parse(token.text) as { SecretID: string }).SecretID;
  assert.equal((await call(agent, "PUT", "/v1/kv/app/config", secret, "v")).status, 200);
  assert.equal((await call(agent, "PUT", "/v1/kv/secret", secret, "x")).status, 403);
  const self = await call(agent, "GET", "/v1/acl/token/self", secret);
  assert.equal((JSON.parse(self.text) as { Policies: Array<{ Name: string }> }).Policies[0].Name, "app-kv");
  assert.equal((await call(agent, "GET", "/v1/acl/policies", secret)).status, 403);

  // /v1/agent/self tells the truth: the agent's own gossip tag and its configuration.
  const agentSelf = JSON.parse((await call(agent, "GET", "/v1/agent/self", "root")).text) as { Member: { Tags: Record<string, string> }; DebugConfig: Record<string, unknown> };
  assert.equal(agentSelf.Member.Tags.acls, "1");
  assert.equal(agentSelf.DebugConfig.ACLsEnabled, true);
  assert.equal((agentSelf.DebugConfig.ACLResolverSettings as Record<string, unknown>).ACLDefaultPolicy, "deny");
  assert.equal(agentSelf.DebugConfig.ACLInitialManagementToken, "hidden");
  assert.deepEqual(
    Object.entries(agentSelf.DebugConfig.ACLTokens as Record<string, unknown>).filter(([k, v]) => k.endsWith("Token") && v !== "hidden"),
    [],
    "no secret shows",
  );
});

test("acl.tokens.dns from the config: DNS answers as that token (and sees nothing while it does not exist)", async () => {
  const DNS_SECRET = "3a0ee1a5-6c2e-4b8a-9d5e-0c7f6b1d2e40";
  const file = join(dir, "acl-dns.hcl");
  writeFileSync(file, `acl {\n  enabled = true\n  default_policy = "deny"\n  tokens {\n    initial_management = "root"\n    dns = "${DNS_SECRET}"\n  }\n}\n`);
  const dnsPort = await freePort();
  const agent = await spawnDevAgent([`-config-file=${file}`, `-dns-port=${dnsPort}`]);
  agents.push(agent);
  await eventually(async () => {
    const reg = await call(agent, "PUT", "/v1/catalog/register", "root", JSON.stringify({ Node: "web-node", Address: "10.1.2.3", Service: { Service: "web", Port: 80 } }));
    assert.equal(reg.status, 200, reg.text);
  });
  const unresolved = await askUdp(dnsPort, "web.service.consul", "A");
  assert.equal(unresolved.rcode, "NXDOMAIN", "an unknown dns token reads nothing");
  const policy = await call(agent, "PUT", "/v1/acl/policy", "root", JSON.stringify({ Name: "dns", Rules: 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }' }));
  assert.equal(policy.status, 200, policy.text);
  const token = await call(agent, "PUT", "/v1/acl/token", "root", JSON.stringify({ SecretID: DNS_SECRET, Policies: [{ Name: "dns" }] }));
  assert.equal(token.status, 200, token.text);
  await eventually(async () => {
    const answer = await askUdp(dnsPort, "web.service.consul", "A");
    assert.deepEqual((answer.answers ?? []).map((a) => ("data" in a ? a.data : undefined)), ["10.1.2.3"]);
  });
});

test("ACLs off (the default): /v1/acl/* and /v1/agent/token/* answer 401 ACL support disabled", async () => {
  const agent = await spawnDevAgent();
  agents.push(agent);
  assert.match(agent.output(), /ACL Enabled: false\n/);
  for (const [method, path] of [
    ["GET", "/v1/acl/tokens"],
    ["PUT", "/v1/acl/bootstrap"],
    ["PUT", "/v1/agent/token/default"],
  ] as const) {
    const res = await call(agent, method, path, undefined, method === "PUT" ? "{}" : undefined);
    assert.equal(res.status, 401, `${method} ${path}`);
    assert.equal(res.text, "ACL support disabled");
  }
  assert.equal((await call(agent, "PUT", "/v1/kv/open", undefined, "x")).status, 200);
});
