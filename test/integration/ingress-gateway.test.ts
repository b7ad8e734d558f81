import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { askUdp, dataOf } from "./dns-support.ts";
import { callAgent, type Reply } from "../support/http-reply.ts";

// A real `consulate agent -dev` process: an ingress-gateway entry makes the gateway's
// instances answer `<svc>.ingress.consul` and /v1/health/ingress/<svc>.

let agent: AgentProcess;
let dnsPort: number;

before(async () => {
  const httpPort = await freePort();
  dnsPort = await freePort();
  const ports = [`-serf-lan-port=${await freePort()}`, `-serf-wan-port=${await freePort()}`, `-server-port=${await freePort()}`];
  agent = await spawnAgent(["-dev", `-http-port=${httpPort}`, `-dns-port=${dnsPort}`, ...ports], { httpPort });
});
after(async () => {
  await agent.kill();
});

const call = (method: string, path: string, body?: unknown): Promise<Reply> => callAgent(agent.base, method, path, body);

test("ingress gateway entry → health/ingress and .ingress DNS (agent process)", async () => {
  const gw = await call("PUT", "/v1/agent/service/register", { Kind: "ingress-gateway", Name: "edge", Port: 21001, Address: "127.0.0.9" });
  assert.equal(gw.status, 200, gw.text);
  assert.equal((await call("PUT", "/v1/agent/service/register", { Name: "billing", Port: 9090 })).status, 200);
  const entry = await call("PUT", "/v1/config", { Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "billing" }] }] });
  assert.equal(entry.status, 200, entry.text);

  await eventually("health/ingress lists the gateway", async () => {
    const r = await call("GET", "/v1/health/ingress/billing?passing=1");
    const entries = r.body as { Service: { Service: string; Port: number } }[];
    return entries.length === 1 && entries[0].Service.Service === "edge" && entries[0].Service.Port === 21001;
  });
  const a = await askUdp(dnsPort, "billing.ingress.consul", "A");
  assert.deepEqual([a.rcode, dataOf(a)], ["NOERROR", ["127.0.0.9"]]);
  const srv = await askUdp(dnsPort, "billing.ingress.consul", "SRV");
  assert.deepEqual((dataOf(srv) as { port: number }[]).map((d) => d.port), [21001]);
  assert.equal((await askUdp(dnsPort, "edge.ingress.consul", "A")).rcode, "NXDOMAIN");
  const gs = await call("GET", "/v1/catalog/gateway-services/edge");
  assert.deepEqual((gs.body as { Service: { Name: string }; Port: number }[]).map((g) => [g.Service.Name, g.Port]), [["billing", 8080]]);
});
