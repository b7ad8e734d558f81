// Which token anti-entropy presents for each local registration (agent/sync-token.ts, Consul's
// aclTokenForServiceSync): the registration's own token, else — for config-file definitions —
// acl.tokens.config_file_service_registration, else the agent's default token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registrationSyncToken } from "../../../src/agent/sync-token.ts";
import { startTestAgent } from "../../support/test-agent.ts";

test("the fallback order: own token, config-file token (config sources only), default token", () => {
  const tokens = { get: (kind: string) => (kind === "default" ? "dflt" : "cfsr") };
  assert.equal(registrationSyncToken({ token: "own", source: "config" }, tokens), "own");
  assert.equal(registrationSyncToken({ token: "", source: "config" }, tokens), "cfsr");
  assert.equal(registrationSyncToken({ token: "", source: "api" }, tokens), "dflt");
  assert.equal(registrationSyncToken({ token: "", source: "config" }, { get: (kind) => (kind === "default" ? "dflt" : "") }), "dflt");
  assert.equal(registrationSyncToken({ token: "", source: "api" }, undefined), "", "ACLs off: anonymous");
});

test("an agent with ACLs on: config-file services and checks sync as config_file_service_registration; API ones keep the request's token", async () => {
  const agent = await startTestAgent({}, { acl: { defaultPolicy: "allow", initialManagement: "root", defaultToken: "anonymous", agentTokens: { config_file_service_registration: "cfsr" } } });
  try {
    const a = agent.running.agent;
    await a.loadDefinitions([{ name: "web", port: 80 }, { name: "db", port: 5432, token: "db-own" }], [{ name: "disk", ttl: "30s" }]);
    assert.equal(a.serviceSyncToken("web"), "cfsr");
    assert.equal(a.serviceSyncToken("db"), "db-own");
    assert.equal(a.checkSyncToken("disk"), "cfsr");
    assert.equal(a.serviceSyncToken("missing"), undefined);

    // Through the HTTP API without a token: the default token; with one: that token.
    const plain = await fetch(`${agent.base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "api-plain", Port: 1 }) });
    assert.equal(plain.status, 200, await plain.text());
    for (let i = 0; ; i++) {
      // The leader creates the initial management token just after it starts.
      const withToken = await fetch(`${agent.base}/v1/agent/service/register`, { method: "PUT", headers: { "X-Consul-Token": "root" }, body: JSON.stringify({ Name: "api-tok", Port: 2 }) });
      const text = await withToken.text();
      if (withToken.status === 200) break;
      assert.ok(i < 100, text);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(a.serviceSyncToken("api-plain"), "anonymous");
    assert.equal(a.serviceSyncToken("api-tok"), "root");

    // PUT /v1/agent/token/config_file_service_registration takes effect on the next sync.
    const set = await fetch(`${agent.base}/v1/agent/token/config_file_service_registration`, { method: "PUT", headers: { "X-Consul-Token": "root" }, body: JSON.stringify({ Token: "cfsr-2" }) });
    assert.equal(set.status, 200, await set.text());
    assert.equal(a.serviceSyncToken("web"), "cfsr-2");
  } finally {
    await agent.stop();
  }
});
