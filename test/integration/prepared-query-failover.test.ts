import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { askUdp, dataOf } from "./dns-support.ts";

// Prepared-query failover between real datacenters: three single-server datacenters on
// loopback, federated by one WAN join each. dc1 has no healthy `web`; dc2 and dc3 do. A
// NearestN query in dc1 answers from another datacenter; with dc2's server killed it answers
// from dc3, over HTTP and DNS.

const FAST_WAN = 'retry_interval_wan = "500ms"\ngossip_wan {\n  probe_interval = "200ms"\n  probe_timeout = "100ms"\n  gossip_interval = "50ms"\n}';

interface Server {
  dc: string;
  httpPort: number;
  dnsPort: number;
  wanPort: number;
  dataDir: string;
  proc?: AgentProcess;
}

const servers = new Map<string, Server>();

async function startServer(dc: string, wanJoin: string | undefined): Promise<Server> {
  const s: Server = { dc, httpPort: await freePort(), dnsPort: await freePort(), wanPort: await freePort(), dataDir: await mkdtemp(join(tmpdir(), `consulate-pq-${dc}-`)) };
  const args = [
    "-server",
    "-bootstrap",
    `-node=srv-${dc}`,
    `-datacenter=${dc}`,
    `-data-dir=${s.dataDir}`,
    "-bind=127.0.0.1",
    "-client=127.0.0.1",
    `-http-port=${s.httpPort}`,
    `-dns-port=${s.dnsPort}`,
    `-server-port=${await freePort()}`,
    `-serf-lan-port=${await freePort()}`,
    `-serf-wan-port=${s.wanPort}`,
    `-hcl=${FAST_WAN}`,
    ...(wanJoin ? [`-retry-join-wan=${wanJoin}`] : []),
  ];
  s.proc = await spawnAgent(args, { httpPort: s.httpPort, timeoutMs: 20_000 });
  servers.set(dc, s);
  return s;
}

function base(dc: string): string {
  return `http://127.0.0.1:${servers.get(dc)!.httpPort}`;
}

async function send(dc: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(base(dc) + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, `${dc} ${method} ${path}: ${text}`);
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

async function registerWeb(dc: string, address: string, status: string): Promise<void> {
  await send(dc, "PUT", "/v1/catalog/register", {
    Node: `web-${dc}`,
    Address: address,
    Service: { ID: "web", Service: "web", Port: 80 },
    Check: { CheckID: "web-alive", Name: "web", ServiceID: "web", Status: status },
  });
}

interface Execute {
  Nodes: { Node: { Node: string } }[];
  Datacenter: string;
  Failovers: number;
}

before(async () => {
  const dc1 = await startServer("dc1", undefined);
  const join = `127.0.0.1:${dc1.wanPort}`;
  await Promise.all([startServer("dc2", join), startServer("dc3", join)]);
  for (const dc of ["dc1", "dc2", "dc3"]) {
    await eventually(`${dc} knows all three datacenters`, async () => (await getJson<string[]>(`${base(dc)}/v1/catalog/datacenters`)).length === 3, 20_000);
  }
  await registerWeb("dc1", "10.1.0.1", "critical");
  await registerWeb("dc2", "10.2.0.1", "passing");
  await registerWeb("dc3", "10.3.0.1", "passing");
  await send("dc1", "POST", "/v1/query", { Name: "web", Service: { Service: "web", Failover: { NearestN: 2 } } });
});

after(async () => {
  for (const s of servers.values()) {
    await s.proc?.kill();
    await rm(s.dataDir, { recursive: true, force: true });
  }
});

test("failover - dc1 has no healthy web: the nearest other datacenter answers", { timeout: 30_000 }, async () => {
  const r = (await send("dc1", "GET", "/v1/query/web/execute")) as Execute;
  assert.ok(r.Datacenter === "dc2" || r.Datacenter === "dc3", r.Datacenter);
  assert.equal(r.Failovers, 1);
  assert.deepEqual(r.Nodes.map((n) => n.Node.Node), [`web-${r.Datacenter}`]);
});

test("failover - with dc2's server killed, NearestN answers from dc3 (HTTP and DNS)", { timeout: 60_000 }, async () => {
  await servers.get("dc2")!.proc!.kill();
  const r = (await send("dc1", "GET", "/v1/query/web/execute")) as Execute;
  assert.equal(r.Datacenter, "dc3");
  assert.deepEqual(r.Nodes.map((n) => n.Node.Node), ["web-dc3"]);
  assert.ok(r.Failovers >= 1 && r.Failovers <= 2, String(r.Failovers));
  const p = await askUdp(servers.get("dc1")!.dnsPort, "web.query.consul", "A");
  assert.equal(p.rcode, "NOERROR");
  assert.deepEqual(dataOf(p).map(String), ["10.3.0.1"]);
  const srv = await askUdp(servers.get("dc1")!.dnsPort, "web.query.consul", "SRV");
  assert.equal(srv.answers![0].type === "SRV" ? srv.answers![0].data.target : "", "web-dc3.node.dc3.consul");
});
