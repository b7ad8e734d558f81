import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Consul from "consul";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// The npm `consul` client (v2), unchanged, against a real agent process with ACLs on and default
// deny: acl.bootstrap and acl.replication through the client, a policy and a token made over the
// HTTP API (the v2 client has no policy/token calls), then the token used through the client,
// both as a per-call option and as the client's default.

const dir = mkdtempSync(join(tmpdir(), "consulate-npm-acl-"));
let agent: AgentProcess;
let anonymous: Consul;
before(async () => {
  const file = join(dir, "acl.json");
  writeFileSync(file, JSON.stringify({ acl: { enabled: true, default_policy: "deny" } }));
  agent = await spawnDevAgent([`-config-file=${file}`]);
  anonymous = new Consul({ host: "127.0.0.1", port: agent.httpPort });
});
after(async () => {
  anonymous?.destroy();
  await agent?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** The client's error for a 403 (its message is the body only when that is under 80 bytes, else "forbidden"). */
function forbidden(err: Error & { response?: { statusCode: number; body?: unknown } }): boolean {
  assert.equal(err.response?.statusCode, 403, err.message);
  assert.match(String(err.response?.body), /^Permission denied: /);
  return true;
}

interface Bootstrapped {
  AccessorID: string;
  SecretID: string;
  Policies: Array<{ ID: string; Name: string }>;
}

async function api(path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${agent.base}${path}`, { method: "PUT", headers: { "X-Consul-Token": token }, body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Record<string, unknown>;
}

test("npm consul - acl.bootstrap once, a policy and token, and the token used through the client", async () => {
  // Bootstrap may race the first leader election: retry until a leader answers.
  let root: Bootstrapped | undefined;
  for (let i = 0; root === undefined; i++) {
    try {
      root = (await anonymous.acl.bootstrap()) as Bootstrapped;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.match(root.SecretID, /^[0-9a-f-]{36}$/);
  assert.deepEqual(root.Policies.map((p) => p.Name), ["global-management"]);
  await assert.rejects(anonymous.acl.bootstrap(), (err: Error & { response?: { statusCode: number } }) => {
    assert.equal(err.response?.statusCode, 403);
    assert.match(err.message, /ACL bootstrap no longer allowed/);
    return true;
  });
  const replication = await anonymous.acl.replication();
  assert.equal(replication.Enabled, false);

  await api("/v1/acl/policy", root.SecretID, { Name: "web", Rules: 'key_prefix "web/" { policy = "write" }\nservice "web" { policy = "write" }\nnode_prefix "" { policy = "read" }' });
  const token = (await api("/v1/acl/token", root.SecretID, { Description: "web app", Policies: [{ Name: "web" }] })) as unknown as { SecretID: string };

  // Per call: the client sends the `token` option (missing from its typings) as X-Consul-Token.
  const setWithToken = { key: "web/config", value: "v1", token: token.SecretID };
  const getWithToken = { key: "web/config", token: token.SecretID };
  assert.equal(await anonymous.kv.set(setWithToken), true);
  assert.equal((await anonymous.kv.get(getWithToken))?.Value, "v1");
  await assert.rejects(anonymous.kv.set("web/config", "nope"), forbidden);

  // As the client's default token.
  const web = new Consul({ host: "127.0.0.1", port: agent.httpPort, defaults: { token: token.SecretID } });
  try {
    await web.agent.service.register({ name: "web", port: 8080 });
    assert.ok("web" in (await web.agent.service.list()));
    await assert.rejects(web.agent.service.register({ name: "db", port: 5432 }), forbidden);
    await assert.rejects(web.kv.set("other/key", "x"), forbidden);
    // Lists are filtered, not refused: the token sees the web service, not consul's own.
    const services = await web.catalog.service.list();
    assert.ok(!("consul" in services));
    // The management token sees everything.
    const all = new Consul({ host: "127.0.0.1", port: agent.httpPort, defaults: { token: root.SecretID } });
    try {
      assert.ok("consul" in (await all.catalog.service.list()));
    } finally {
      all.destroy();
    }
  } finally {
    web.destroy();
  }
});
