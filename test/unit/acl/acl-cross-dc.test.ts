import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent } from "../../support/test-agent.ts";
import { eventually } from "../../support/eventually.ts";

// ACLs run only in the primary datacenter (a secondary cannot enable them), so a request for
// another datacenter is refused while ACLs are on instead of being forwarded to a datacenter that
// would answer without checking the token. Without ACLs the same request goes the usual way.

const ROOT = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

test("with ACLs on, ?dc= and a body Datacenter naming another datacenter are refused, not forwarded", async () => {
  const agent = await startTestAgent({ aclDefaultPolicy: "deny" }, { acl: { defaultPolicy: "deny", initialManagement: ROOT } });
  try {
    await eventually("initial management token", async () => (await fetch(`${agent.base}/v1/acl/token/self`, { headers: { "X-Consul-Token": ROOT } })).status === 200);
    const remote = await fetch(`${agent.base}/v1/kv/x?dc=dc2`, { headers: { "X-Consul-Token": ROOT } });
    assert.equal(remote.status, 403);
    assert.equal(await remote.text(), 'Permission denied: ACLs are enforced only in datacenter "dc1"; requests for datacenter "dc2" are not forwarded while ACLs are enabled');
    const body = await fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Datacenter: "dc2", Node: "n", Address: "10.0.0.1" }) });
    assert.equal(body.status, 403);
    const local = await fetch(`${agent.base}/v1/kv/x?dc=DC1`, { headers: { "X-Consul-Token": ROOT } });
    assert.equal(local.status, 404, "the agent's own datacenter, in any case, is served");
  } finally {
    await agent.stop();
  }
});

test("with ACLs off the request for another datacenter is not refused by the ACL gate", async () => {
  const agent = await startTestAgent();
  try {
    const res = await fetch(`${agent.base}/v1/kv/x?dc=dc2`);
    const text = await res.text();
    assert.notEqual(res.status, 403, text);
    assert.doesNotMatch(text, /ACLs are enforced/);
  } finally {
    await agent.stop();
  }
});
