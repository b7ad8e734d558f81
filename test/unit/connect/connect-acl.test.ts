import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

describe("Connect with ACLs (default deny)", () => {
  let agent: TestAgent;
  const root = "11111111-0000-4000-8000-000000000001";
  before(async () => {
    // devMode switches Connect on for an agent started without a configuration.
    agent = await startTestAgent({ aclDefaultPolicy: "deny", devMode: true }, { acl: { defaultPolicy: "deny", initialManagement: root } });
    await eventually("the CA to initialise", async () => {
      const res = await fetch(`${agent.base}/v1/connect/ca/roots`, { headers: { "X-Consul-Token": root } });
      return res.status === 200 && ((await res.json()) as { Roots: unknown[] }).Roots.length === 1;
    });
  });
  after(async () => {
    await agent.stop();
  });

  it("refuses leaves, CA configuration and intention writes without the right token, and denies by default", async () => {
    const anon = (path: string, init: RequestInit = {}) => fetch(`${agent.base}${path}`, init);
    const mgmt = (path: string, init: RequestInit = {}) => fetch(`${agent.base}${path}`, { ...init, headers: { "X-Consul-Token": root } });
    assert.equal((await anon("/v1/agent/connect/ca/leaf/web")).status, 403);
    assert.equal((await anon("/v1/connect/ca/configuration")).status, 403);
    assert.equal((await anon("/v1/connect/intentions/exact?source=web&destination=db", { method: "PUT", body: JSON.stringify({ Action: "allow" }) })).status, 403);
    assert.equal((await mgmt("/v1/agent/connect/ca/leaf/web")).status, 200);
    const decide = async () =>
      (await (await mgmt("/v1/agent/connect/authorize", { method: "POST", body: JSON.stringify({ Target: "db", ClientCertURI: "spiffe://x.consul/ns/default/dc/dc1/svc/web" }) })).json()) as { Authorized: boolean; Reason: string };
    assert.deepEqual(await decide(), { Authorized: false, Reason: "Default behavior configured by ACLs" });
    assert.equal((await mgmt("/v1/connect/intentions/exact?source=web&destination=db", { method: "PUT", body: JSON.stringify({ Action: "allow" }) })).status, 200);
    assert.equal((await decide()).Authorized, true);
    const listed = (await (await anon("/v1/connect/intentions")).json()) as unknown[];
    assert.deepEqual(listed, [], "anonymous sees no intentions");
  });
});
