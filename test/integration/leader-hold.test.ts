import { test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverArgs, serverSpec } from "../support/server-cluster.ts";

// performance.rpc_hold_timeout with real server processes: a request that needs the leader
// while none is known is held until one is elected (Consul's ForwardRPC), and answered
// "No cluster leader" only once the hold is over.

async function leaderOf(server: AgentProcess): Promise<string> {
  const res = await fetch(`${server.base}/v1/status/leader`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as string;
}

async function put(server: AgentProcess, key: string, value: string, timeoutMs: number): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${server.base}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.text()).trim(), ms: Date.now() - started };
}

test("leader hold - a PUT through a follower right after the leader's kill -9 is held until the new leader and succeeds", { timeout: 60_000 }, async (t) => {
  const specs = [await serverSpec("s1", "127.0.0.1"), await serverSpec("s2", "127.0.0.2"), await serverSpec("s3", "127.0.0.3")];
  const running = new Map<string, AgentProcess>();
  t.after(async () => {
    for (const p of running.values()) await p.kill();
    for (const s of specs) await rm(s.dataDir, { recursive: true, force: true });
  });
  await Promise.all(
    specs.map(async (spec) => running.set(spec.name, await spawnAgent(serverArgs(spec, 3, specs), { httpPort: spec.httpPort, timeoutMs: 20_000 }))),
  );
  const procs = (): AgentProcess[] => [...running.values()];
  let leader = "";
  await eventually(
    "one leader agreed by all three servers",
    async () => {
      const seen = await Promise.all(procs().map(leaderOf));
      leader = seen[0];
      return leader !== "" && seen.every((l) => l === leader);
    },
    20_000,
  );
  assert.equal((await put(procs()[0], "before", "1", 5000)).status, 200);

  const leaderSpec = specs.find((s) => `${s.bind}:${s.serverPort}` === leader);
  assert.ok(leaderSpec, `the leader ${leader} is one of the servers`);
  const leaderProc = running.get(leaderSpec.name);
  assert.ok(leaderProc);
  running.delete(leaderSpec.name);
  await leaderProc.kill("SIGKILL");

  // At once, before the survivors notice: each follower holds the write until a new leader is seated.
  const followers = procs();
  const answers = await Promise.all(followers.map((f, i) => put(f, `during/${i}`, `v${i}`, 20_000)));
  for (const [i, a] of answers.entries()) {
    t.diagnostic(`PUT through a follower after the kill: ${a.status} ${a.body} in ${a.ms} ms`);
    assert.equal(a.status, 200, `follower ${i}: ${a.status} ${a.body}`);
    assert.equal(a.body, "true");
  }
  const newLeader = await leaderOf(followers[0]);
  assert.notEqual(newLeader, "");
  assert.notEqual(newLeader, leader);
  for (const f of followers) {
    const res = await fetch(`${f.base}/v1/kv/during/?recurse&keys`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), ["during/0", "during/1"]);
  }
});

test("leader hold - a server that never gets a leader answers No cluster leader after rpc_hold_timeout; ?stale reads are not held", { timeout: 90_000 }, async (t) => {
  // Bounds are relative to the hold, never a wall-time budget a busy CI machine can overrun:
  // a refusal comes no sooner than the hold and within 10 holds; a stale read is not held
  // because it is answered while a write sent before it is still held.
  const HOLD_MS = 3000;
  const spec = await serverSpec("lonely", "127.0.0.1");
  const proc = await spawnAgent(serverArgs(spec, 2, [], ["-hcl", `performance { rpc_hold_timeout = "${HOLD_MS / 1000}s" }`]), { httpPort: spec.httpPort, timeoutMs: 20_000 });
  t.after(async () => {
    await proc.kill();
    await rm(spec.dataDir, { recursive: true, force: true });
  });

  let writeSettled = false;
  const heldWrite = put(proc, "k", "v", 20 * HOLD_MS).finally(() => {
    writeSettled = true;
  });
  const stale = await fetch(`${proc.base}/v1/kv/k?stale`, { signal: AbortSignal.timeout(20 * HOLD_MS) });
  await stale.arrayBuffer();
  assert.equal(stale.status, 404, "answered from local state");
  assert.equal(stale.headers.get("x-consul-knownleader"), "false");
  assert.equal(writeSettled, false, "a stale read is not held: answered while an earlier write still is");

  const refused = await heldWrite;
  t.diagnostic(`PUT without a leader: ${refused.status} ${refused.body} in ${refused.ms} ms`);
  assert.equal(refused.status, 500);
  assert.equal(refused.body, "No cluster leader");
  assert.ok(refused.ms >= HOLD_MS - 100, `held for the hold (${refused.ms} ms)`);
  assert.ok(refused.ms < 10 * HOLD_MS, `refused within ten holds (${refused.ms} ms)`);

  const started = Date.now();
  const consistent = await fetch(`${proc.base}/v1/kv/k`, { signal: AbortSignal.timeout(20 * HOLD_MS) });
  assert.equal(consistent.status, 500);
  assert.equal((await consistent.text()).trim(), "No cluster leader");
  assert.ok(Date.now() - started >= HOLD_MS - 100, "default-consistency reads are held too");
});
