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

test("debug pprof heap/goroutine/trace - gated like the CPU profile: 404 without enable_debug or ACLs, 403 without operator:read", async () => {
  const closed = await startTestAgent({ enableDebug: false });
  try {
    for (const path of ["heap", "goroutine", "trace?seconds=1"]) {
      const res = await fetch(`${closed.base}/debug/pprof/${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), "");
    }
  } finally {
    await closed.stop();
  }
  const token = "11111111-aaaa-bbbb-cccc-333333333333";
  const guarded = await startTestAgent({ aclDefaultPolicy: "deny", enableDebug: false }, { acl: { defaultPolicy: "deny", initialManagement: token } });
  try {
    for (const path of ["heap", "goroutine", "trace?seconds=1"]) {
      const denied = await fetch(`${guarded.base}/debug/pprof/${path}`);
      assert.equal(denied.status, 403, path);
      await denied.arrayBuffer();
    }
    const heap = await fetch(`${guarded.base}/debug/pprof/heap`, { headers: { "X-Consul-Token": token } });
    assert.equal(heap.status, 200, "with ACLs the heap is sampled from start too");
    await heap.arrayBuffer();
  } finally {
    await guarded.stop();
  }
});

test("debug pprof heap - V8's sampling heap profile of live memory, sampled since the agent started", async () => {
  const agent = await startTestAgent({ enableDebug: true });
  try {
    // Live memory the profile must account for: ~16 MiB held while the profile is taken.
    const held = Array.from({ length: 64 }, () => new Array(32 * 1024).fill(0).map((_, i) => ({ i })));
    const res = await fetch(`${agent.base}/debug/pprof/heap`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="heap.heapprofile"');
    interface Node {
      selfSize: number;
      children: Node[];
    }
    const profile = (await res.json()) as { head: Node; samples: { size: number }[] };
    let total = 0;
    const walk = (n: Node): void => {
      total += n.selfSize;
      n.children.forEach(walk);
    };
    walk(profile.head);
    assert.ok(profile.samples.length > 0);
    assert.ok(total > 8 * 1024 * 1024, `sampled live bytes ${total} cover what the test holds`);
    assert.equal(held.length, 64);
  } finally {
    await agent.stop();
  }
});

test("debug pprof goroutine - active async resources and libuv handles, without environment or command line", async () => {
  const agent = await startTestAgent({ enableDebug: true });
  try {
    const res = await fetch(`${agent.base}/debug/pprof/goroutine`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="goroutine.json"');
    const text = await res.text();
    const dump = JSON.parse(text) as { ActiveResources: Record<string, number>; libuv: { type: string }[]; javascriptStack: unknown };
    assert.ok((dump.ActiveResources.TCPServerWrap ?? 0) >= 1, "the HTTP listener is an active resource");
    assert.ok(dump.libuv.some((h) => h.type === "tcp"));
    assert.ok(dump.javascriptStack);
    assert.doesNotMatch(text, /environmentVariables|commandLine|sharedObjects/);
  } finally {
    await agent.stop();
  }
});

test("debug pprof trace - V8/Node trace events over ?seconds as a Chrome trace; one trace at a time", async () => {
  const agent = await startTestAgent({ enableDebug: true });
  try {
    const started = performance.now();
    const first = fetch(`${agent.base}/debug/pprof/trace?seconds=1`);
    await new Promise((r) => setTimeout(r, 200));
    // Work for the trace to record.
    await (await fetch(`${agent.base}/v1/kv/traced`, { method: "PUT", body: "x" })).text();
    const busy = await fetch(`${agent.base}/debug/pprof/trace?seconds=1`);
    assert.equal(busy.status, 500);
    assert.equal(await busy.text(), "Could not enable tracing: runtime: tracing already enabled\n");
    const res = await first;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-disposition"), 'attachment; filename="trace.json"');
    const trace = (await res.json()) as { traceEvents: { cat: string; ph: string }[]; metadata: { droppedEvents: number } };
    assert.ok(performance.now() - started >= 950, "the trace spans the requested second");
    assert.ok(trace.traceEvents.some((e) => e.cat.includes("node.async_hooks")), "async operations are traced");
    assert.equal(trace.metadata.droppedEvents, 0);
  } finally {
    await agent.stop();
  }
});
