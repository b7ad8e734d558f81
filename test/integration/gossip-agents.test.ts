import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONSULATE_BIN, freePort, spawnAgent, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// A dev-like server and two client agents joined through -retry-join, as separate processes on
// loopback: membership, the CLI's view of it, failure and leave reconciled into the catalog,
// and a user event crossing agents.

const run = promisify(execFile);

interface Member {
  Name: string;
  Status: number;
  Tags: Record<string, string>;
}

let server: AgentProcess;
let serverSerfPort: number;
const clients = new Map<string, AgentProcess>();
const dataDirs: string[] = [];

async function spawnClient(name: string): Promise<AgentProcess> {
  const httpPort = await freePort();
  const serfPort = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `consulate-${name}-`));
  dataDirs.push(dataDir);
  const args = [`-node=${name}`, `-data-dir=${dataDir}`, "-bind=127.0.0.1", "-client=127.0.0.1", `-http-port=${httpPort}`, "-dns-port=-1", `-serf-lan-port=${serfPort}`, `-retry-join=127.0.0.1:${serverSerfPort}`];
  return spawnAgent(args, {
    httpPort,
    timeoutMs: 20_000,
    ready: async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200,
  });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function members(agent: AgentProcess): Promise<Member[]> {
  return (await (await fetch(`${agent.base}/v1/agent/members`)).json()) as Member[];
}

async function statusOf(agent: AgentProcess, node: string): Promise<number | undefined> {
  return (await members(agent)).find((m) => m.Name === node)?.Status;
}

before(async () => {
  serverSerfPort = await freePort();
  server = await spawnDevAgent(["-node=srv", `-serf-lan-port=${serverSerfPort}`, `-server-port=${await freePort()}`]);
  clients.set("c1", await spawnClient("c1"));
  clients.set("c2", await spawnClient("c2"));
});

after(async () => {
  for (const c of clients.values()) await c.kill();
  await server?.kill();
  for (const d of dataDirs) await rm(d, { recursive: true, force: true });
});

const client = (name: string): AgentProcess => {
  const c = clients.get(name);
  assert.ok(c);
  return c;
};

test("gossip agents - every agent sees all three members alive, with server and client roles", async () => {
  for (const agent of [server, client("c1"), client("c2")]) {
    await until("three alive members", async () => {
      const list = await members(agent);
      return list.length === 3 && list.every((m) => m.Status === 1);
    });
  }
  const list = await members(server);
  assert.deepEqual(list.map((m) => m.Name).sort(), ["c1", "c2", "srv"]);
  assert.equal(list.find((m) => m.Name === "srv")?.Tags.role, "consul");
  assert.equal(list.find((m) => m.Name === "c1")?.Tags.role, "node");
  // Logged when c1's join completes, but agent log lines go out in batches every 15 ms: a poll
  // above can see the join before the batch is written (a retried join lands just before it).
  await until("c1's log line about the join", () => Promise.resolve(/\(LAN\) joined: number_of_nodes=1/.test(client("c1").output())), 5000);
});

test("gossip agents - consulate members lists the three members alive", async () => {
  const { stdout } = await run(process.execPath, [CONSULATE_BIN, "members", `-http-addr=127.0.0.1:${server.httpPort}`]);
  const rows = stdout.trim().split("\n").slice(1);
  assert.equal(rows.length, 3);
  for (const name of ["srv", "c1", "c2"]) assert.ok(rows.some((r) => r.startsWith(`${name} `) && / alive /.test(r)), `${name} alive in:\n${stdout}`);
});

test("gossip agents - the leader registers each client with a passing serfHealth", async () => {
  for (const name of ["c1", "c2"]) {
    await until(`${name} serfHealth passing`, async () => {
      const checks = (await (await fetch(`${server.base}/v1/health/node/${name}`)).json()) as { CheckID: string; Status: string }[];
      return checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing");
    });
  }
  const nodes = (await (await fetch(`${server.base}/v1/catalog/nodes`)).json()) as { Node: string }[];
  assert.deepEqual(nodes.map((n) => n.Node).sort(), ["c1", "c2", "srv"]);
});

test("gossip agents - an event fired on one agent is listed on the others", async () => {
  const fired = await fetch(`${client("c1").base}/v1/event/fire/deploy`, { method: "PUT", body: "v2" });
  assert.equal(fired.status, 200);
  const { ID } = (await fired.json()) as { ID: string };
  for (const agent of [server, client("c2"), client("c1")]) {
    await until("event listed", async () => {
      const events = (await (await fetch(`${agent.base}/v1/event/list?name=deploy`)).json()) as { ID: string; Payload: string }[];
      return events.some((e) => e.ID === ID && Buffer.from(e.Payload, "base64").toString() === "v2");
    });
  }
});

test("gossip agents - a SIGKILLed client is failed and its serfHealth critical in the server's catalog", async () => {
  await client("c2").kill("SIGKILL");
  await until("c2 failed", async () => (await statusOf(server, "c2")) === 4);
  await until("c2 serfHealth critical", async () => {
    const checks = (await (await fetch(`${server.base}/v1/health/node/c2`)).json()) as { CheckID: string; Status: string; Output: string }[];
    const serf = checks.find((c) => c.CheckID === "serfHealth");
    return serf?.Status === "critical" && serf.Output === "Agent not live or unreachable";
  });
});

test("gossip agents - consulate leave shows the client left and deregisters its node", async () => {
  const { stdout } = await run(process.execPath, [CONSULATE_BIN, "leave", `-http-addr=127.0.0.1:${client("c1").httpPort}`]);
  assert.match(stdout, /Graceful leave complete/);
  await until("c1 left", async () => (await statusOf(server, "c1")) === 3);
  await until("c1 deregistered", async () => (await fetch(`${server.base}/v1/catalog/node/c1`).then((r) => r.json())) === null);
  assert.equal(await client("c1").exited, 0);
});
