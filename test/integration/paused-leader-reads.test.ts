import { after, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";

// Issue 12 item 7: after SIGSTOP/SIGCONT the old leader answered `?stale` with old data,
// X-Consul-KnownLeader: true and X-Consul-LastContact: 2, so max_stale could not reject it. A
// leader past its lease must know it before serving anything (no tick has run yet), report
// how long it has been out of contact, and not claim a known leader; default reads stay fresh.

const procs: AgentProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const p of procs) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGCONT");
    await p.kill();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Read {
  status: number;
  value: string | undefined;
  knownLeader: string | null;
  lastContact: number;
}

async function readKey(base: string, query: string): Promise<Read> {
  const res = await fetch(`${base}/v1/kv/paused/key?${query}`, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  const value = res.status === 200 ? Buffer.from((JSON.parse(text) as { Value: string }[])[0].Value, "base64").toString() : undefined;
  return { status: res.status, value, knownLeader: res.headers.get("X-Consul-KnownLeader"), lastContact: Number(res.headers.get("X-Consul-LastContact")) };
}

test("a leader paused past its lease serves no stale read as leader right after SIGCONT; default reads stay fresh", { timeout: 90_000 }, async () => {
  const specs: ServerSpec[] = [];
  for (const name of ["ps1", "ps2", "ps3"]) {
    const spec = await serverSpec(name, "127.0.0.1");
    dirs.push(spec.dataDir);
    specs.push(spec);
  }
  const bySpec = new Map<ServerSpec, AgentProcess>();
  for (const spec of specs) {
    const args = serverArgs(spec, 3, specs.filter((s) => s !== spec));
    const proc = await spawnAgent(args, { httpPort: spec.httpPort, timeoutMs: 20_000, ready: async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200 });
    procs.push(proc);
    bySpec.set(spec, proc);
  }
  let leaderAddr = "";
  await eventually("one leader known by all three servers", async () => {
    const seen = await Promise.all(specs.map((s) => getJson<string>(`http://127.0.0.1:${s.httpPort}/v1/status/leader`)));
    leaderAddr = seen[0];
    return leaderAddr !== "" && seen.every((l) => l === leaderAddr);
  }, 30_000);
  const leaderSpec = specs.find((s) => leaderAddr.endsWith(`:${s.serverPort}`));
  assert.ok(leaderSpec, `leader ${leaderAddr} is one of ours`);
  const leader = bySpec.get(leaderSpec);
  assert.ok(leader);
  const follower = specs.find((s) => s !== leaderSpec);
  assert.ok(follower);
  const followerBase = `http://127.0.0.1:${follower.httpPort}`;

  const put = async (base: string, value: string): Promise<void> => {
    const res = await fetch(`${base}/v1/kv/paused/key`, { method: "PUT", body: value, signal: AbortSignal.timeout(15_000) });
    assert.equal(await res.text(), "true");
  };
  await put(leader.base, "old");
  const fresh = await readKey(leader.base, "stale");
  assert.deepEqual([fresh.value, fresh.knownLeader, fresh.lastContact], ["old", "true", 0], "a healthy leader: known leader, LastContact 0");

  const pausedAt = Date.now();
  leader.child.kill("SIGSTOP");
  await eventually("the other two elect a new leader", async () => {
    const l = await getJson<string>(`${followerBase}/v1/status/leader`);
    return l !== "" && l !== leaderAddr;
  }, 30_000);
  await put(followerBase, "new");
  // The read reaches the paused process's socket before it runs again, so it is served
  // before any timer (tick) of the old leader could fire.
  const staleRead = readKey(leader.base, "stale");
  await new Promise((r) => setTimeout(r, 300));
  const pausedMs = Date.now() - pausedAt;
  leader.child.kill("SIGCONT");
  const defaultRead = readKey(leader.base, "");
  const staleAfter = readKey(leader.base, "stale");
  for (const stale of [await staleRead, await staleAfter]) {
    if (stale.value === "old") {
      assert.equal(stale.knownLeader, "false", `old data must not claim a known leader: ${JSON.stringify(stale)}`);
      assert.ok(stale.lastContact >= pausedMs - 1000, `LastContact ${stale.lastContact} ms reports the pause (~${pausedMs} ms)`);
    } else {
      assert.equal(stale.value, "new", JSON.stringify(stale));
    }
  }
  const def = await defaultRead;
  assert.equal(def.status, 200, JSON.stringify(def));
  assert.equal(def.value, "new", `a default-mode read is never stale: ${JSON.stringify(def)}`);
  // And the old leader rejoins: confirmed current, it vouches for its state again.
  await eventually("the old leader back in confirmed contact with the new one", async () => {
    const r = await readKey(leader.base, "stale");
    return r.value === "new" && r.knownLeader === "true" && r.lastContact < 1000;
  }, 15_000);
});
