import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";

// Leaving a cluster of real processes, the two ways Consul offers:
//   consulate leave        a server leaves gracefully: peers list it `left` and the leader
//                          shrinks the Raft configuration, so the remaining two keep a quorum
//   consulate force-leave  a client killed with -9 is failed; a force-leave issued on another
//                          agent is gossiped as a leave intent, every agent lists it `left`, and
//                          the leader deregisters its node from the catalog

const MEMBER_LEFT = 3;
const MEMBER_FAILED = 4;

interface AgentSpec {
  name: string;
  bind: string;
  httpPort: number;
  serverPort: number;
  serfPort: number;
  /** Servers' WAN pool port: claimed like the others, since the default 8302 on 127.0.0.1 races other test files. */
  serfWanPort: number;
  dataDir: string;
}

interface Member {
  Name: string;
  Status: number;
}

async function specFor(name: string, bind: string): Promise<AgentSpec> {
  return { name, bind, httpPort: await freePort(), serverPort: await freePort(), serfPort: await freePort(), serfWanPort: await freePort(), dataDir: await mkdtemp(join(tmpdir(), `consulate-leave-${name}-`)) };
}

function agentArgs(spec: AgentSpec): string[] {
  return [
    `-node=${spec.name}`,
    `-data-dir=${spec.dataDir}`,
    `-bind=${spec.bind}`,
    "-client=127.0.0.1",
    `-http-port=${spec.httpPort}`,
    "-dns-port=-1",
    `-server-port=${spec.serverPort}`,
    `-serf-lan-port=${spec.serfPort}`,
  ];
}

/** Runs a one-shot `consulate <args>` CLI command; resolves with its exit code and output. */
function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function statusOf(agent: AgentProcess, node: string): Promise<number | undefined> {
  return (await getJson<Member[]>(`${agent.base}/v1/agent/members`)).find((m) => m.Name === node)?.Status;
}

/** Every spawned agent is killed and every data dir removed when the test ends. */
function cluster(t: { after: (fn: () => Promise<void>) => void }): { running: Map<string, AgentProcess>; specs: AgentSpec[] } {
  const running = new Map<string, AgentProcess>();
  const specs: AgentSpec[] = [];
  t.after(async () => {
    for (const p of running.values()) await p.kill();
    for (const s of specs) await rm(s.dataDir, { recursive: true, force: true });
  });
  return { running, specs };
}

test("cluster leave - `consulate leave` on a follower: it exits, peers list it left, Raft drops to two servers and writes still commit", async (t) => {
  const { running, specs } = cluster(t);
  for (const [i, bind] of ["127.0.0.1", "127.0.0.2", "127.0.0.3"].entries()) specs.push(await specFor(`server-${i + 1}`, bind));
  const retryJoin = specs.map((s) => `-retry-join=${s.bind}:${s.serfPort}`);
  await Promise.all(
    specs.map(async (s) => {
      running.set(s.name, await spawnAgent(["-server", "-bootstrap-expect=3", ...agentArgs(s), `-serf-wan-port=${s.serfWanPort}`, ...retryJoin], { httpPort: s.httpPort, timeoutMs: 20_000 }));
    }),
  );
  const agent = (name: string): AgentProcess => {
    const p = running.get(name);
    assert.ok(p, `${name} is running`);
    return p;
  };

  let leader = "";
  await eventually(
    "one leader agreed by all three servers",
    async () => {
      const leaders = await Promise.all(specs.map((s) => getJson<string>(`${agent(s.name).base}/v1/status/leader`)));
      leader = leaders.every((l) => l === leaders[0]) ? leaders[0] : "";
      return leader !== "";
    },
    15_000,
  );
  const rpcAddr = (s: AgentSpec): string => `${s.bind}:${s.serverPort}`;
  const leaderSpec = specs.find((s) => rpcAddr(s) === leader);
  const follower = specs.find((s) => rpcAddr(s) !== leader);
  assert.ok(leaderSpec && follower);
  type RaftConfiguration = { Servers: { Node: string; Address: string }[] };
  const raftServers = async (): Promise<string[]> => (await getJson<RaftConfiguration>(`${agent(leaderSpec.name).base}/v1/operator/raft/configuration`)).Servers.map((s) => s.Node).sort();
  await eventually("three servers in the Raft configuration", async () => (await raftServers()).length === 3);

  const leaving = agent(follower.name);
  const cli = await runCli(["leave", `-http-addr=127.0.0.1:${follower.httpPort}`]);
  assert.equal(cli.code, 0, cli.out);
  assert.match(cli.out, /Graceful leave complete/);
  const exitCode = await Promise.race([leaving.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 10_000))]);
  assert.equal(exitCode, 0, `the leaving server exits cleanly:\n${leaving.output()}`);
  running.delete(follower.name);

  const remaining = specs.filter((s) => s !== follower);
  await eventually(`both remaining servers list ${follower.name} as left`, async () => {
    const statuses = await Promise.all(remaining.map((s) => statusOf(agent(s.name), follower.name)));
    return statuses.every((st) => st === MEMBER_LEFT);
  });
  await eventually("the Raft configuration drops the server that left", async () => JSON.stringify(await raftServers()) === JSON.stringify(remaining.map((s) => s.name).sort()));
  await eventually(
    "two peers on every remaining server",
    async () => (await Promise.all(remaining.map((s) => getJson<string[]>(`${agent(s.name).base}/v1/status/peers`)))).every((peers) => peers.length === 2 && !peers.includes(rpcAddr(follower))),
    5000,
  );

  for (const s of remaining) {
    const res = await fetch(`${agent(s.name).base}/v1/kv/after-leave/${s.name}`, { method: "PUT", body: s.name, signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), "true", `a write through ${s.name} commits with two servers`);
  }
  const keys = await getJson<string[]>(`${agent(leaderSpec.name).base}/v1/kv/after-leave/?keys&consistent`);
  assert.deepEqual(keys, remaining.map((s) => `after-leave/${s.name}`).sort());
});

test("cluster leave - force-leave of a client killed with -9, issued on the other client: every agent lists it left and the catalog drops its node", async (t) => {
  const { running, specs } = cluster(t);
  const server = await specFor("server-1", "127.0.0.1");
  const issuer = await specFor("client-1", "127.0.0.2");
  const victim = await specFor("client-2", "127.0.0.3");
  specs.push(server, issuer, victim);
  running.set(
    server.name,
    await spawnAgent(["-server", "-bootstrap-expect=1", ...agentArgs(server), `-serf-wan-port=${server.serfWanPort}`], {
      httpPort: server.httpPort,
      timeoutMs: 20_000,
      ready: async (base) => (await getJson<string>(`${base}/v1/status/leader`)) !== "",
    }),
  );
  await Promise.all(
    [issuer, victim].map(async (c) => {
      const proc = await spawnAgent([...agentArgs(c), `-retry-join=${server.bind}:${server.serfPort}`], {
        httpPort: c.httpPort,
        timeoutMs: 20_000,
        // The leader registered the client's node: gossip found it and the catalog has it.
        ready: async (base) => (await getJson<unknown>(`${base}/v1/catalog/node/${c.name}`)) !== null,
      });
      running.set(c.name, proc);
    }),
  );
  const agent = (name: string): AgentProcess => {
    const p = running.get(name);
    assert.ok(p, `${name} is running`);
    return p;
  };
  const catalogNodes = async (): Promise<string[]> => (await getJson<{ Node: string }[]>(`${agent(server.name).base}/v1/catalog/nodes`)).map((n) => n.Node).sort();
  assert.deepEqual(await catalogNodes(), ["client-1", "client-2", "server-1"]);

  const unknown = await fetch(`${agent(issuer.name).base}/v1/agent/force-leave/ghost`, { method: "PUT" });
  assert.equal(unknown.status, 500);
  assert.equal((await unknown.text()).trim(), "agent: No node found with name 'ghost'");

  await agent(victim.name).kill("SIGKILL");
  running.delete(victim.name);
  const survivors = [server, issuer].map((s) => agent(s.name));
  await eventually(
    `${victim.name} failed on every remaining agent`,
    async () => (await Promise.all(survivors.map((a) => statusOf(a, victim.name)))).every((st) => st === MEMBER_FAILED),
    20_000,
  );

  const cli = await runCli(["force-leave", `-http-addr=127.0.0.1:${issuer.httpPort}`, victim.name]);
  assert.equal(cli.code, 0, cli.out);
  await eventually(`${victim.name} left on every remaining agent`, async () => (await Promise.all(survivors.map((a) => statusOf(a, victim.name)))).every((st) => st === MEMBER_LEFT), 5000);
  await eventually(`${victim.name} deregistered from the catalog`, async () => !(await catalogNodes()).includes(victim.name), 5000);
  assert.deepEqual(await catalogNodes(), ["client-1", "server-1"]);
});
