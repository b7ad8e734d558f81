import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import Consul from "consul";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// The npm `consul` client (v2), unchanged, against a real `consulate agent -dev` process.

let agent: AgentProcess;
let consul: Consul;
before(async () => {
  agent = await spawnDevAgent();
  consul = new Consul({ host: "127.0.0.1", port: agent.httpPort });
});
after(async () => {
  consul?.destroy();
  await agent?.kill();
});

test("npm consul - kv set/get/keys/del round-trip", async () => {
  assert.equal(await consul.kv.set("app/db/url", "postgres://db"), true);
  assert.equal(await consul.kv.set({ key: "app/db/pool", value: "10", flags: 42 }), true);
  const item = await consul.kv.get("app/db/url");
  assert.equal(item?.Value, "postgres://db");
  assert.equal(item?.Key, "app/db/url");
  const pool = await consul.kv.get("app/db/pool");
  assert.equal(pool?.Flags, 42);
  assert.deepEqual(await consul.kv.keys("app/"), ["app/db/pool", "app/db/url"]);
  const listed = await consul.kv.get({ key: "app/", recurse: true });
  assert.ok(Array.isArray(listed));
  assert.equal(listed.length, 2);
  // The client maps a 404 to undefined.
  assert.equal(await consul.kv.get("app/missing"), undefined);
  assert.equal(await consul.kv.del({ key: "app/", recurse: true }), true);
  assert.equal(await consul.kv.get("app/db/url"), undefined);
});

test("npm consul - kv cas succeeds once per ModifyIndex", async () => {
  await consul.kv.set("cas/key", "1");
  const item = await consul.kv.get("cas/key");
  assert.ok(item);
  assert.equal(await consul.kv.set({ key: "cas/key", value: "2", cas: item.ModifyIndex }), true);
  // The body is JSON `false`; the client turns a falsy body into undefined.
  assert.notEqual(await consul.kv.set({ key: "cas/key", value: "3", cas: item.ModifyIndex }), true);
  assert.equal((await consul.kv.get("cas/key"))?.Value, "2");
});

test("npm consul - status.leader and status.peers", async () => {
  // The dev agent runs on free ports; its gossip tags carry the server RPC port it listens on.
  const self = (await (await fetch(`${agent.base}/v1/agent/self`)).json()) as { Member: { Addr: string; Tags: { port: string } } };
  const rpcAddr = `${self.Member.Addr}:${self.Member.Tags.port}`;
  assert.equal(await consul.status.leader(), rpcAddr);
  assert.deepEqual(await consul.status.peers(), [rpcAddr]);
});

test("npm consul - a watch on a key fires when the key changes", async () => {
  await consul.kv.set("watched/key", "v1");
  const watch = consul.watch({ method: consul.kv.get, options: { key: "watched/key" } });
  const seen: string[] = [];
  const changed = new Promise<void>((resolve, reject) => {
    watch.on("change", (data: { Value?: string } | null) => {
      seen.push(data?.Value ?? "");
      if (data?.Value === "v2") resolve();
    });
    watch.on("error", reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  await consul.kv.set("watched/key", "v2");
  await changed;
  watch.end();
  assert.deepEqual(seen.slice(-1), ["v2"]);
  assert.equal(seen[0], "v1");
});

test("npm consul - agent.service.register, catalog and health find it, deregister removes it", async () => {
  await consul.agent.service.register({
    name: "web",
    id: "web-1",
    address: "127.0.0.1",
    port: 8080,
    tags: ["v1", "primary"],
    meta: { version: "1" },
    check: { ttl: "30s", name: "web ttl", timeout: "5s" },
  });
  const services = (await consul.agent.service.list()) as Record<string, { Service: string; Port: number; Tags: string[] }>;
  assert.equal(services["web-1"]?.Service, "web");
  assert.deepEqual(services["web-1"]?.Tags, ["v1", "primary"]);

  const nodes = (await consul.catalog.service.nodes("web")) as { ServiceID: string; ServicePort: number; ServiceMeta: Record<string, string> }[];
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].ServiceID, "web-1");
  assert.equal(nodes[0].ServicePort, 8080);
  assert.equal(nodes[0].ServiceMeta.version, "1");

  // A TTL check starts critical: not passing until the application heartbeats.
  assert.equal(((await consul.health.service({ service: "web", passing: true })) as unknown[]).length, 0);
  await consul.agent.check.pass("service:web-1");
  const healthy = (await consul.health.service({ service: "web", passing: true })) as { Service: { ID: string }; Checks: { CheckID: string; Status: string }[] }[];
  assert.equal(healthy.length, 1);
  assert.equal(healthy[0].Service.ID, "web-1");
  assert.ok(healthy[0].Checks.some((c) => c.CheckID === "service:web-1" && c.Status === "passing"));

  const catalogServices = (await consul.catalog.service.list()) as Record<string, string[]>;
  assert.deepEqual(catalogServices.web?.sort(), ["primary", "v1"]);
  assert.ok("consul" in catalogServices);

  await consul.agent.service.deregister("web-1");
  assert.equal(((await consul.catalog.service.nodes("web")) as unknown[]).length, 0);
});

test("npm consul - agent.self, agent.members, catalog.datacenters, catalog.node.list", async () => {
  const self = (await consul.agent.self()) as { Config: { Datacenter: string; NodeName: string; Server: boolean } };
  assert.equal(self.Config.Datacenter, "dc1");
  assert.equal(self.Config.Server, true);
  const members = (await consul.agent.members()) as { Name: string; Status: number; Tags: Record<string, string> }[];
  assert.equal(members.length, 1);
  assert.equal(members[0].Name, self.Config.NodeName);
  assert.equal(members[0].Status, 1);
  assert.equal(members[0].Tags.role, "consul");
  assert.deepEqual(await consul.catalog.datacenters(), ["dc1"]);
  const nodes = (await consul.catalog.node.list()) as { Node: string }[];
  assert.deepEqual(nodes.map((n) => n.Node), [self.Config.NodeName]);
});
