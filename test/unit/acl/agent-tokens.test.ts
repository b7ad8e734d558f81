// Agent tokens: PUT /v1/agent/token/<name> under every current and legacy name, what the
// default, dns and agent_recovery tokens change, and acl.enable_token_persistence
// (<data-dir>/acl-tokens.json, atomic, owner-only, loaded at the next start over config).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";
import { AclService } from "../../../src/acl/service.ts";
import { AgentTokens, secretsEqual } from "../../../src/acl/agent-tokens.ts";
import { StateStore } from "../../../src/state/store.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { manualClock } from "../agent/fake-clock.ts";
import { loadAgentTokens } from "../../../src/storage/acl-token-file.ts";

const ROOT = "0d6c3f52-8a51-4b0e-9d6f-2b1c6a7e9f10";

async function call(agent: TestAgent, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(agent.base + path, {
    method,
    headers: token === undefined ? {} : { "X-Consul-Token": token },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text() };
}

async function start(dataDir: string, persist: boolean, agentTokens?: Record<string, string>): Promise<TestAgent> {
  const agent = await startTestAgent(
    { aclDefaultPolicy: "deny" },
    { acl: { defaultPolicy: "deny", initialManagement: ROOT, dataDir, enableTokenPersistence: persist, agentTokens } },
  );
  await eventually("initial management token", async () => agent.running.state.acl.tokens.getBySecret(ROOT) !== undefined);
  return agent;
}

test("every agent token name is accepted with acl:write; unknown names are 404; tokens persist and win over config at the next start", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-agent-tokens-"));
  try {
    let agent = await start(dir, true, { agent: "from-config-agent", replication: "from-config-replication" });
    try {
      const names = [
        "default", "acl_token", "agent", "acl_agent_token", "agent_recovery", "agent_master", "acl_agent_master_token",
        "replication", "acl_replication_token", "config_file_service_registration", "dns", "dns_token",
      ];
      for (const name of names) {
        const r = await call(agent, "PUT", `/v1/agent/token/${name}`, ROOT, { Token: `secret-${name}` });
        assert.equal(r.status, 200, `${name}: ${r.text}`);
      }
      const unknown = await call(agent, "PUT", "/v1/agent/token/bogus", ROOT, { Token: "x" });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.text, 'Token "bogus" is unknown');
      const anonymous = await call(agent, "PUT", "/v1/agent/token/default", "", { Token: "x" });
      assert.equal(anonymous.status, 403);

      // the last name written for each token wins
      assert.deepEqual(await loadAgentTokens(dir), {
        default: "secret-acl_token",
        agent: "secret-acl_agent_token",
        agent_recovery: "secret-acl_agent_master_token",
        replication: "secret-acl_replication_token",
        config_file_service_registration: "secret-config_file_service_registration",
        dns: "secret-dns_token",
      });
      const file = join(dir, "acl-tokens.json");
      assert.equal((await stat(file)).mode & 0o777, 0o600, "secrets readable by the owner only");
      await assert.rejects(access(`${file}.tmp`), "no temp file left behind");

      // the default token becomes the root secret: requests without a token may then read ACLs
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 403);
      assert.equal((await call(agent, "PUT", "/v1/agent/token/default", ROOT, { Token: ROOT })).status, 200);
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 200);
    } finally {
      await agent.stop();
    }

    agent = await start(dir, true, { agent: "from-config-agent" });
    try {
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 200, "the persisted default token was loaded");
      // the recovery token persisted as well: it may read this agent
      assert.equal((await call(agent, "GET", "/v1/agent/self", "secret-acl_agent_master_token")).status, 200);
    } finally {
      await agent.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("without enable_token_persistence nothing is written and a restart forgets API-set tokens", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-agent-tokens-"));
  try {
    let agent = await start(dir, false);
    try {
      assert.equal((await call(agent, "PUT", "/v1/agent/token/default", ROOT, { Token: ROOT })).status, 200);
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 200);
      await assert.rejects(access(join(dir, "acl-tokens.json")));
    } finally {
      await agent.stop();
    }
    agent = await start(dir, false);
    try {
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 403);
    } finally {
      await agent.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a damaged acl-tokens.json is logged and ignored: the agent starts with its configured tokens", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-agent-tokens-"));
  try {
    await writeFile(join(dir, "acl-tokens.json"), "{not json");
    const agent = await start(dir, true);
    try {
      assert.equal((await call(agent, "GET", "/v1/acl/tokens")).status, 403);
      assert.equal((await call(agent, "PUT", "/v1/agent/token/default", ROOT, { Token: ROOT })).status, 200);
      assert.deepEqual(JSON.parse(await readFile(join(dir, "acl-tokens.json"), "utf8")), { default: ROOT }, "rewritten whole on the next change");
    } finally {
      await agent.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the recovery token may manage this agent and read nodes, nothing more; DNS answers as the dns token, else default", () => {
  const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
  const state = new StateStore();
  const fsm = new StateMachine(state);
  const base = { Description: "", Roles: [], ServiceIdentities: [], NodeIdentities: [], TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "" };
  let i = 0;
  const apply = (cmd: Parameters<StateMachine["apply"]>[1]) => assert.equal(fsm.apply(++i, cmd).ok, true);
  apply({ Type: "acl-policy-set", Policy: { ID: "p1", Name: "kv", Description: "", Rules: `key "dns" { policy = "read" }`, Hash: "" } });
  apply({ Type: "acl-policy-set", Policy: { ID: "p2", Name: "kv2", Description: "", Rules: `key "default" { policy = "read" }`, Hash: "" } });
  apply({ Type: "acl-token-set", Token: { ...base, AccessorID: "00000000-0000-0000-0000-000000000002", SecretID: "anonymous", Policies: [] } });
  apply({ Type: "acl-token-set", Token: { ...base, AccessorID: "t-dns", SecretID: "s-dns", Policies: [{ ID: "p1", Name: "" }] } });
  apply({ Type: "acl-token-set", Token: { ...base, AccessorID: "t-def", SecretID: "s-def", Policies: [{ ID: "p2", Name: "" }] } });
  const settings = { datacenter: "dc1", defaultPolicy: "deny" as const, downPolicy: "extend-cache", defaultToken: "", nodeName: "n1", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };
  const tokens = new AgentTokens({ agent_recovery: "recover-me" });
  const service = new AclService({ tables: state.acl, clock, rng: seededRng(1), settings, agentTokens: tokens });

  const recovery = service.resolve("recover-me");
  assert.equal(recovery.agentWrite("n1"), "allow");
  assert.equal(recovery.agentRead("n1"), "allow");
  assert.equal(recovery.agentRead("n2"), "deny", "only this agent");
  assert.equal(recovery.nodeRead("anything"), "allow");
  assert.equal(recovery.nodeWrite("n1"), "deny");
  assert.equal(recovery.keyRead("x"), "deny");
  assert.equal(recovery.aclRead(), "deny");
  assert.throws(() => service.resolve("recover-m"), /ACL not found/, "a prefix of the secret is not it");

  assert.equal(service.dnsAuthorizer().accessorId, "00000000-0000-0000-0000-000000000002", "anonymous without dns or default token");
  tokens.set("default", "s-def");
  assert.equal(service.dnsAuthorizer().accessorId, "t-def");
  tokens.set("dns", "s-dns");
  assert.equal(service.dnsAuthorizer().accessorId, "t-dns");
  tokens.set("dns", "no-such-secret");
  assert.equal(service.dnsAuthorizer().keyRead("dns"), "deny", "an unknown dns token sees nothing");

  assert.equal(secretsEqual("abc", "abc"), true);
  assert.equal(secretsEqual("abc", "abd"), false);
  assert.equal(secretsEqual("abc", "abcd"), false);
  assert.equal(secretsEqual("", ""), true);
});
