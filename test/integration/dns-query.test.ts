import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { dnsSettings } from "../../src/dns/dns-settings.ts";
import { startTestAgent, type TestAgent } from "../support/test-agent.ts";
import { askTcp, askUdp, dataOf } from "./dns-support.ts";

// `<name>.query.consul` over real DNS packets: the agent's DNS server runs the prepared query
// through its own dispatcher (as Consul's DNS runs PreparedQuery.Execute on a server).

let agent: TestAgent;
let port: number;

async function ok(method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(agent.base + path, { method, body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

before(async () => {
  agent = await startTestAgent({}, { dns: { hosts: ["127.0.0.1"], port: 0, settings: dnsSettings({}) } });
  port = agent.running.dns[0].udpPort;
  for (const [i, status] of [[1, "passing"], [2, "passing"], [3, "critical"]] as const) {
    await ok("PUT", "/v1/catalog/register", {
      Node: `qn${i}`,
      Address: `10.9.0.${i}`,
      Service: { ID: `cache-${i}`, Service: "cache", Port: 6000 + i, Tags: i === 1 ? ["primary"] : [] },
      Check: { CheckID: `c${i}`, Name: "c", ServiceID: `cache-${i}`, Status: status },
    });
  }
  await ok("POST", "/v1/query", { Name: "cache-q", Service: { Service: "cache" }, DNS: { TTL: "42s" } });
  await ok("POST", "/v1/query", { Name: "cache-", Template: { Type: "name_prefix_match" }, Service: { Service: "cache", Tags: ["${name.suffix}"] } });
  await ok("POST", "/v1/query", { Name: "empty-q", Service: { Service: "nothing-here" } });
});

after(() => agent.stop());

test("dns .query - A answers the healthy instances with the query's TTL", async () => {
  const p = await askUdp(port, "cache-q.query.consul", "A");
  assert.equal(p.rcode, "NOERROR");
  assert.deepEqual(dataOf(p).map(String).sort(), ["10.9.0.1", "10.9.0.2"]);
  for (const a of p.answers!) assert.equal(a.type === "A" ? a.ttl : undefined, 42);
});

test("dns .query - SRV answers carry ports and node targets in this datacenter", async () => {
  const p = await askTcp(port, "cache-q.query.dc1.consul", "SRV");
  assert.equal(p.rcode, "NOERROR");
  const srv = p.answers!.map((a) => (a.type === "SRV" ? `${a.data.target}:${a.data.port}` : "")).sort();
  assert.deepEqual(srv, ["qn1.node.dc1.consul:6001", "qn2.node.dc1.consul:6002"]);
  const rfc = await askUdp(port, "_cache-q._tcp.query.consul", "SRV");
  assert.equal(rfc.answers!.length, 2);
});

test("dns .query - a template renders from the asked name", async () => {
  const p = await askUdp(port, "cache-primary.query.consul", "A");
  assert.deepEqual(dataOf(p).map(String), ["10.9.0.1"]);
});

test("dns .query - unknown queries and empty answers are NXDOMAIN", async () => {
  assert.equal((await askUdp(port, "nope.query.consul", "A")).rcode, "NXDOMAIN");
  assert.equal((await askUdp(port, "empty-q.query.consul", "A")).rcode, "NXDOMAIN");
});
