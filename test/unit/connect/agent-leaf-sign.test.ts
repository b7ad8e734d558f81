// Agent certificates (auto_encrypt) from the Connect CA, through the internal signing route the
// AutoEncrypt.Sign endpoint uses: the CSR's placeholder trust domain is replaced by the
// cluster's, its DNS and IP SANs are kept, and the caller needs node:write on the agent's name.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createLeafKeyAndCsr } from "../../../src/connect/leaf-key.ts";
import { agentUri } from "../../../src/connect/spiffe.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

describe("Connect CA: agent certificates (default-deny ACLs)", () => {
  let agent: TestAgent;
  const root = "11111111-0000-4000-8000-000000000002";
  let trustDomain = "";
  before(async () => {
    agent = await startTestAgent({ aclDefaultPolicy: "deny", devMode: true }, { acl: { defaultPolicy: "deny", initialManagement: root } });
    await eventually("the CA to initialise", async () => {
      const res = await fetch(`${agent.base}/v1/connect/ca/roots`, { headers: { "X-Consul-Token": root } });
      if (res.status !== 200) return false;
      const body = (await res.json()) as { TrustDomain: string; Roots: unknown[] };
      trustDomain = body.TrustDomain;
      return body.Roots.length === 1;
    });
  });
  after(async () => {
    await agent.stop();
  });

  async function tokenFor(node: string): Promise<string> {
    const mgmt = { "X-Consul-Token": root };
    const policy = await fetch(`${agent.base}/v1/acl/policy`, { method: "PUT", headers: mgmt, body: JSON.stringify({ Name: `node-${node}`, Rules: `node "${node}" { policy = "write" }` }) });
    assert.equal(policy.status, 200, await policy.clone().text());
    const token = await fetch(`${agent.base}/v1/acl/token`, { method: "PUT", headers: mgmt, body: JSON.stringify({ Policies: [{ Name: `node-${node}` }] }) });
    assert.equal(token.status, 200);
    return ((await token.json()) as { SecretID: string }).SecretID;
  }

  it("signs for the agent's node name with node:write, rewriting the trust domain and keeping the SANs", async () => {
    const { csrPem } = await createLeafKeyAndCsr(agentUri({ trustDomain: "unknown.consul", datacenter: "dc1", agent: "c1" }), "c1", {
      dnsNames: ["localhost", "c1.example"],
      ipAddresses: ["127.0.0.1", "::1"],
    });
    const sign = (token?: string) =>
      fetch(`${agent.base}/v1/internal/consulate/connect-ca/sign`, { method: "POST", headers: token ? { "X-Consul-Token": token } : {}, body: JSON.stringify({ CSR: csrPem }) });
    assert.equal((await sign()).status, 403);
    assert.equal((await sign(await tokenFor("other"))).status, 403);
    const res = await sign(await tokenFor("c1"));
    assert.equal(res.status, 200);
    const leaf = (await res.json()) as { CertPEM: string; Agent: string; AgentURI: string };
    assert.equal(leaf.Agent, "c1");
    assert.equal(leaf.AgentURI, `spiffe://${trustDomain}/agent/client/dc/dc1/id/c1`);
    const san = new X509Certificate(leaf.CertPEM).subjectAltName ?? "";
    assert.ok(san.includes(`URI:${leaf.AgentURI}`) && !san.includes("unknown.consul"), san);
    assert.ok(san.includes("DNS:c1.example") && san.includes("IP Address:127.0.0.1"), san);
  });
});
