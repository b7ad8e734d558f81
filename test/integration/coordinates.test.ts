import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONSULATE_BIN, freePort, spawnAgent, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

// Network coordinates end to end, as processes on loopback: gossip probes move each agent's
// Vivaldi coordinate, agents send theirs to the server (batched through Raft), and the
// coordinate endpoints, ?near and `consulate rtt` read them.

const run = promisify(execFile);
const FAST_SYNC = '-hcl=sync_coordinate_interval_min = "500ms"';

let server: AgentProcess;
let client: AgentProcess;
let dataDir: string;

interface Entry {
  Node: string;
  Segment: string;
  Coord: { Vec: number[]; Error: number; Adjustment: number; Height: number };
}

async function getJson<T>(agent: AgentProcess, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(agent.base + path);
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
}

before(async () => {
  const serfPort = await freePort();
  server = await spawnDevAgent(["-node=srv", `-serf-lan-port=${serfPort}`, FAST_SYNC]);
  const httpPort = await freePort();
  dataDir = await mkdtemp(join(tmpdir(), "consulate-coord-"));
  client = await spawnAgent(
    ["-node=cli1", `-data-dir=${dataDir}`, "-bind=127.0.0.1", "-client=127.0.0.1", `-http-port=${httpPort}`, "-dns-port=-1", `-serf-lan-port=${await freePort()}`, `-retry-join=127.0.0.1:${serfPort}`, FAST_SYNC],
    { httpPort, timeoutMs: 20_000, ready: async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200 },
  );
});

after(async () => {
  await client?.kill();
  await server?.kill();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test("coordinates - both agents' LAN coordinates reach the catalog, moved off the origin by probes", { timeout: 30_000 }, async () => {
  await eventually(
    "coordinates of srv and cli1 in /v1/coordinate/nodes",
    async () => {
      const { body } = await getJson<Entry[]>(server, "/v1/coordinate/nodes");
      return body.length === 2 && body.every((e) => e.Coord.Error < 1.5);
    },
    20_000,
  );
  const { body: nodes } = await getJson<Entry[]>(client, "/v1/coordinate/nodes");
  assert.deepEqual(nodes.map((e) => e.Node), ["cli1", "srv"]);
  assert.deepEqual(Object.keys(nodes[0]), ["Node", "Segment", "Coord"]);
  assert.equal(nodes[0].Coord.Vec.length, 8);
  const one = await getJson<Entry[]>(client, "/v1/coordinate/node/cli1");
  assert.equal(one.status, 200);
  assert.equal(one.body[0].Node, "cli1");
  const none = await fetch(`${client.base}/v1/coordinate/node/nobody`);
  assert.equal(none.status, 404);
  assert.equal(await none.text(), "");
  assert.ok(Number(none.headers.get("x-consul-index")) > 0);
});

test("coordinates - consulate rtt prints the estimate", { timeout: 30_000 }, async () => {
  const { stdout } = await run(process.execPath, [CONSULATE_BIN, "rtt", `-http-addr=${client.base}`, "srv"]);
  assert.match(stdout, /^Estimated srv <-> cli1 rtt: \d+\.\d{3} ms \(using LAN coordinates\)\n$/);
});

test("coordinates - ?near=<node> puts that node first; ?near=_agent names the agent that took the request, also when a client agent forwards it", { timeout: 30_000 }, async () => {
  // The client answers catalog reads through the server (HTTP.Forward); Consul's client agent
  // resolves _agent to its own node before the RPC, so the server must sort from cli1, not srv.
  // Sorting by the probed coordinates does not always put a node first from itself (a distance
  // adds both heights and adjustments: a full run once saw cli1 ahead of srv from srv), so the
  // two coordinates are set far apart here. The agents' own syncs overwrite them now and then:
  // an attempt counts only when they are still in place after the reads.
  const far = (x: number) => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 });
  const placed = async (): Promise<boolean> => {
    const { body } = await getJson<Entry[]>(server, "/v1/coordinate/nodes");
    const x = new Map(body.map((e) => [e.Node, e.Coord.Vec[0]]));
    return x.get("srv") === 0 && x.get("cli1") === 1;
  };
  const firstNode = async (agent: AgentProcess, near: string): Promise<string> => (await getJson<{ Node: string }[]>(agent, `/v1/catalog/nodes?near=${near}`)).body[0].Node;
  let seen: { cli1AtServer: string; agentAtClient: string; agentAtServer: string } | undefined;
  await eventually(
    "_agent sorted with the set coordinates in place",
    async () => {
      for (const [node, x] of [["srv", 0], ["cli1", 1]] as const) {
        const res = await fetch(`${server.base}/v1/coordinate/update`, { method: "PUT", body: JSON.stringify({ Node: node, Coord: far(x) }) });
        assert.equal(res.status, 200, await res.text());
      }
      const deadline = Date.now() + 2000;
      while (!(await placed())) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      const attempt = { cli1AtServer: await firstNode(server, "cli1"), agentAtClient: await firstNode(client, "_agent"), agentAtServer: await firstNode(server, "_agent") };
      if (!(await placed())) return false;
      seen = attempt;
      return true;
    },
    25_000,
    0,
  );
  assert.deepEqual(seen, { cli1AtServer: "cli1", agentAtClient: "cli1", agentAtServer: "srv" });
});

test("coordinates - the server's WAN coordinate is listed per datacenter", async () => {
  await eventually("own WAN coordinate listed", async () => (await getJson<{ Coordinates: Entry[] }[]>(server, "/v1/coordinate/datacenters")).body.length === 1, 10_000);
  const { body } = await getJson<{ Datacenter: string; AreaID: string; Coordinates: Entry[] }[]>(server, "/v1/coordinate/datacenters");
  assert.equal(body[0].Datacenter, "dc1");
  assert.equal(body[0].AreaID, "wan");
  assert.deepEqual(body[0].Coordinates.map((c) => c.Node), ["srv"]);
});

test("coordinates - PUT /v1/coordinate/update refuses what Consul refuses", async () => {
  const put = async (body: string): Promise<[number, string]> => {
    const res = await fetch(`${client.base}/v1/coordinate/update`, { method: "PUT", body });
    return [res.status, await res.text()];
  };
  assert.deepEqual(await put(JSON.stringify({ Node: "cli1", Coord: { Vec: [0, 0], Error: 1, Adjustment: 0, Height: 0.001 } })), [500, "incompatible coordinate"]);
  const [status, text] = await put("{");
  assert.equal(status, 400);
  assert.match(text, /^Request decode failed: /);
  const fine = await put(JSON.stringify({ Node: "cli1", Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1, Adjustment: 0, Height: 0.001 } }));
  assert.deepEqual(fine, [200, ""]);
});
