import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { RawApiRequest, RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { remoteQueryExecutor } from "../../../src/launch/prepared-query-remote.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// Prepared-query failover through the cross-DC seam (RemoteQueryExecutor), three single-server
// "datacenters" in one process: the executor carries ExecuteRemote over HTTP to the other
// agent, as the WAN forwarding does between real datacenters.

const agents = new Map<string, TestAgent>();
const down = new Set<string>();
/** Nearest first, as the WAN coordinates would order them. */
let nearest = ["dc2", "dc3"];

async function send(dc: string, req: RawApiRequest): Promise<RawApiResponse> {
  const target = agents.get(dc);
  if (!target || down.has(dc)) throw new Error(`rpc error: no path to datacenter ${dc}`);
  const res = await fetch(`${target.base}${req.path}`, { method: req.method, body: req.body ? new Uint8Array(req.body) : undefined, headers: req.headers as Record<string, string> });
  return { status: res.status, headers: {}, body: await res.text() };
}

async function ok(agent: TestAgent, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(agent.base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

async function web(agent: TestAgent, node: string, status: string): Promise<void> {
  await ok(agent, "PUT", "/v1/catalog/register", {
    Node: node,
    Address: "127.0.0.9",
    Service: { ID: "web", Service: "web", Port: 80 },
    Check: { CheckID: "web-check", Name: "w", ServiceID: "web", Status: status },
  });
}

interface Execute {
  Nodes: { Node: { Node: string; Datacenter: string } }[];
  Datacenter: string;
  Failovers: number;
}

before(async () => {
  for (const dc of ["dc1", "dc2", "dc3"]) {
    const remote = dc === "dc1" ? remoteQueryExecutor(send, () => nearest) : undefined;
    agents.set(dc, await startTestAgent({ datacenter: dc, nodeName: `srv-${dc}` }, { identity: { nodeName: `srv-${dc}` }, preparedQueryRemote: remote }));
  }
  const dc1 = agents.get("dc1")!;
  await web(dc1, "n1", "critical");
  await web(agents.get("dc2")!, "n2", "passing");
  await web(agents.get("dc3")!, "n3", "passing");
  await ok(dc1, "POST", "/v1/query", { Name: "web-nearest", Service: { Service: "web", Failover: { NearestN: 2 } } });
  await ok(dc1, "POST", "/v1/query", { Name: "web-listed", Service: { Service: "web", Failover: { Datacenters: ["dc9", "dc3", "dc2"] } } });
  await ok(dc1, "POST", "/v1/query", { Name: "web-local", Service: { Service: "web" } });
});

after(async () => {
  for (const a of agents.values()) await a.stop();
});

test("failover - NearestN goes to the nearest datacenter with healthy instances", async () => {
  const r = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-nearest/execute")) as Execute;
  assert.equal(r.Datacenter, "dc2");
  assert.equal(r.Failovers, 1);
  assert.deepEqual(r.Nodes.map((n) => n.Node.Node), ["n2"]);
});

test("failover - Datacenters are tried in order, unknown ones skipped without counting", async () => {
  const r = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-listed/execute")) as Execute;
  assert.equal(r.Datacenter, "dc3");
  assert.equal(r.Failovers, 1);
});

test("failover - no failover policy: empty local answer", async () => {
  const r = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-local/execute")) as Execute;
  assert.deepEqual(r.Nodes, []);
  assert.equal(r.Datacenter, "dc1");
  assert.equal(r.Failovers, 0);
});

test("failover - with dc2's server gone NearestN answers from dc3, counting the failed attempt", async () => {
  down.add("dc2");
  try {
    const r = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-nearest/execute")) as Execute;
    assert.equal(r.Datacenter, "dc3");
    assert.equal(r.Failovers, 2);
    assert.deepEqual(r.Nodes.map((n) => n.Node.Node), ["n3"]);
    down.add("dc3");
    const none = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-nearest/execute")) as Execute;
    assert.deepEqual(none.Nodes, []);
    assert.equal(none.Failovers, 2);
    assert.equal(none.Datacenter, "dc1");
  } finally {
    down.clear();
  }
});

test("failover - the nearest order decides which datacenter answers", async () => {
  nearest = ["dc3", "dc2"];
  try {
    const r = (await ok(agents.get("dc1")!, "GET", "/v1/query/web-nearest/execute")) as Execute;
    assert.equal(r.Datacenter, "dc3");
  } finally {
    nearest = ["dc2", "dc3"];
  }
});
