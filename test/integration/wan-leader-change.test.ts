import { test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { dcAgentSpec, dcServerArgs, type DcAgentSpec } from "../support/wan-cluster.ts";

// A three-server dc1 and a one-server dc2, federated by a single WAN join (dc2's server to
// dc1's first): dc1's other two servers enter the WAN pool through the flood join. Killing
// dc1's leader, then restarting dc2's only server (a new leader there), leaves `?dc=` working
// both ways once each datacenter has a leader again.

interface Member {
  Name: string;
  Status: number;
}

async function kvGet(base: string, key: string, dc: string): Promise<string | undefined> {
  const res = await fetch(`${base}/v1/kv/${key}?dc=${dc}&raw`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return res.status === 200 ? text : undefined;
}

async function kvPut(base: string, key: string, dc: string, value: string): Promise<boolean> {
  const res = await fetch(`${base}/v1/kv/${key}?dc=${dc}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) });
  return res.status === 200 && (await res.text()).trim() === "true";
}

test("wan leader change - a 3-server dc and a 1-server dc stay federated through a leader change in either", async (t) => {
  const a = await Promise.all([dcAgentSpec("a1", "dc1", "127.0.0.51"), dcAgentSpec("a2", "dc1", "127.0.0.52"), dcAgentSpec("a3", "dc1", "127.0.0.53")]);
  const b1 = await dcAgentSpec("b1", "dc2", "127.0.0.54");
  const procs = new Map<string, AgentProcess>();
  t.after(async () => {
    await Promise.all([...procs.values()].map((p) => p.kill()));
    await Promise.all([...a, b1].map((s) => rm(s.dataDir, { recursive: true, force: true })));
  });
  const start = async (s: DcAgentSpec, args: string[]): Promise<AgentProcess> => {
    const p = await spawnAgent(args, { httpPort: s.httpPort, timeoutMs: 40_000 });
    procs.set(s.name, p);
    return p;
  };
  const b1Args = dcServerArgs(b1, 1, [], [a[0]]);
  await Promise.all([...a.map((s) => start(s, dcServerArgs(s, 3, a.filter((o) => o !== s), []))), start(b1, b1Args)]);
  const base = (s: DcAgentSpec): string => `http://127.0.0.1:${s.httpPort}`;

  const everyone = ["a1.dc1", "a2.dc1", "a3.dc1", "b1.dc2"];
  const seesAlive = async (s: DcAgentSpec, names: readonly string[]): Promise<boolean> => {
    const members = await getJson<Member[]>(`${base(s)}/v1/agent/members?wan=1`);
    return names.every((n) => members.some((m) => m.Name === n && m.Status === 1));
  };
  for (const s of [...a, b1]) await eventually(`${s.name} sees every server in the WAN pool`, () => seesAlive(s, everyone), 20_000);

  const leaderOf = async (s: DcAgentSpec): Promise<string> => getJson<string>(`${base(s)}/v1/status/leader`);
  await eventually("dc1 has a leader", async () => (await leaderOf(a[0])) !== "", 20_000);
  await eventually("dc2 has a leader", async () => (await leaderOf(b1)) !== "", 20_000);
  assert.ok(await kvPut(base(b1), "k", "dc1", "one"), "write into dc1 from dc2");
  assert.ok(await kvPut(base(a[2]), "k", "dc2", "two"), "write into dc2 from a dc1 follower");
  assert.equal(await kvGet(base(b1), "k", "dc1"), "one");
  assert.equal(await kvGet(base(a[1]), "k", "dc2"), "two");

  // dc1 loses its leader: dc2's requests find another dc1 server and reach the new leader.
  const leaderAddr = await leaderOf(a[0]);
  const oldLeader = a.find((s) => leaderAddr === `${s.bind}:${s.serverPort}`);
  assert.ok(oldLeader, `leader ${leaderAddr} is one of dc1's servers`);
  await procs.get(oldLeader.name)?.kill("SIGKILL");
  const survivors = a.filter((s) => s !== oldLeader);
  await eventually("dc1 elects a new leader", async () => !["", leaderAddr].includes(await leaderOf(survivors[0])), 20_000);
  await eventually("a write into dc1 from dc2 succeeds after the election", () => kvPut(base(b1), "k", "dc1", "one-again"), 20_000);
  assert.equal(await kvGet(base(b1), "k", "dc1"), "one-again");
  assert.equal(await kvGet(base(b1), "k", "dc1&consistent"), "one-again");

  // dc2's only server restarts (a new term, a new leader): dc1 reaches it again.
  await procs.get("b1")?.kill("SIGKILL");
  await eventually("dc1 sees b1.dc2 failed", async () => {
    const members = await getJson<Member[]>(`${base(survivors[0])}/v1/agent/members?wan=1`);
    return members.some((m) => m.Name === "b1.dc2" && m.Status !== 1);
  }, 15_000);
  const down = await fetch(`${base(survivors[0])}/v1/kv/k?dc=dc2`);
  assert.equal(down.status, 500);
  assert.equal(await down.text(), "Remote DC has no server currently reachable");
  // It rejoins through a dc1 server that is still up: its first join target may be the killed
  // leader, and finding a failed member again is left to serf's reconnect loop (30 s).
  await start(b1, dcServerArgs(b1, 1, [], survivors));
  await eventually("dc2 has a leader again", async () => (await leaderOf(b1)) !== "", 20_000);
  for (const s of [...survivors, b1]) await eventually(`${s.name} sees b1.dc2 alive again`, () => seesAlive(s, ["b1.dc2", ...survivors.map((o) => `${o.name}.dc1`)]), 20_000);
  await eventually("dc1 reads dc2 again", async () => (await kvGet(base(survivors[1]), "k", "dc2")) === "two", 20_000);
  assert.ok(await kvPut(base(survivors[0]), "k", "dc2", "two-again"));
  assert.equal(await kvGet(base(b1), "k", "dc1"), "one-again");
});
