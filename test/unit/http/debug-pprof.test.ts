// GET /debug/pprof/profile: Consul serves it only with enable_debug or with ACLs (then to
// operator:read); the body here is a V8 CPU profile over ?seconds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent } from "../../support/test-agent.ts";

test("debug pprof - 404 with an empty body while enable_debug is off and ACLs are disabled", async () => {
  const agent = await startTestAgent({ enableDebug: false });
  try {
    const res = await fetch(`${agent.base}/debug/pprof/profile?seconds=1`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "");
  } finally {
    await agent.stop();
  }
});

test("debug pprof - with enable_debug: a V8 CPU profile over ?seconds; a second profile at once is refused as Go's pprof does", async () => {
  const agent = await startTestAgent({ enableDebug: true });
  try {
    const started = performance.now();
    const first = fetch(`${agent.base}/debug/pprof/profile?seconds=1`);
    await new Promise((r) => setTimeout(r, 200));
    const busy = await fetch(`${agent.base}/debug/pprof/profile?seconds=1`);
    assert.equal(busy.status, 500);
    assert.equal(await busy.text(), "Could not enable CPU profiling: cpu profiling already in use\n");
    const res = await first;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="profile.cpuprofile"');
    const profile = (await res.json()) as { nodes: unknown[]; startTime: number; endTime: number; samples: number[] };
    assert.ok(performance.now() - started >= 950, "the profile spans the requested second");
    assert.ok(profile.nodes.length > 0);
    assert.ok(profile.endTime - profile.startTime >= 900_000, "V8 times are in microseconds");
  } finally {
    await agent.stop();
  }
});

test("debug pprof - with ACLs a token needs operator:read (403 for anonymous under default deny)", async () => {
  const agent = await startTestAgent({ aclDefaultPolicy: "deny", enableDebug: false }, { acl: { defaultPolicy: "deny", initialManagement: "11111111-aaaa-bbbb-cccc-222222222222" } });
  try {
    const denied = await fetch(`${agent.base}/debug/pprof/profile?seconds=1`);
    assert.equal(denied.status, 403);
    assert.equal(await denied.text(), "");
    const allowed = await fetch(`${agent.base}/debug/pprof/profile?seconds=1`, { headers: { "X-Consul-Token": "11111111-aaaa-bbbb-cccc-222222222222" } });
    assert.equal(allowed.status, 200);
    assert.ok(((await allowed.json()) as { nodes: unknown[] }).nodes.length > 0);
  } finally {
    await agent.stop();
  }
});
