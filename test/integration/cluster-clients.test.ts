import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Consul from "consul";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

// The npm `consul` client, unchanged, against a 1-server + 2-client cluster of real processes
// started the way Consul users start them, each agent on its own loopback address:
//   server:  consulate agent -server -bootstrap-expect 1 -bind 127.0.0.1 …
//   clients: consulate agent -bind 127.0.0.{2,3} -retry-join 127.0.0.1:<serf port> …
// The clients answer the HTTP API themselves and reach the server over RPC.

interface AgentSpec {
  name: string;
  bind: string;
  httpPort: number;
  serfPort: number;
  dataDir: string;
}

const specs: AgentSpec[] = [];
const running = new Map<string, AgentProcess>();
const consuls = new Map<string, Consul>();

function consulOf(name: string): Consul {
  const c = consuls.get(name);
  assert.ok(c, `a client for ${name}`);
  return c;
}

before(async () => {
  for (const [name, bind] of [
    ["server-1", "127.0.0.1"],
    ["client-1", "127.0.0.2"],
    ["client-2", "127.0.0.3"],
  ] as const) {
    specs.push({ name, bind, httpPort: await freePort(), serfPort: await freePort(), dataDir: await mkdtemp(join(tmpdir(), `consulate-${name}-`)) });
  }
  const [server, ...clients] = specs;
  const common = (s: AgentSpec): string[] => [
    `-node=${s.name}`,
    `-data-dir=${s.dataDir}`,
    `-bind=${s.bind}`,
    `-client=${s.bind}`,
    `-http-port=${s.httpPort}`,
    "-dns-port=-1",
    `-serf-lan-port=${s.serfPort}`,
  ];
  const serverPort = await freePort();
  running.set(
    server.name,
    // No WAN pool (-serf-wan-port=-1): the default 8302 would race other test files for the port.
    await spawnAgent(["-server", "-bootstrap-expect=1", ...common(server), `-server-port=${serverPort}`, "-serf-wan-port=-1"], {
      httpPort: server.httpPort,
      httpHost: server.bind,
      timeoutMs: 20_000,
      // Ready once it leads: the clients' first requests then find a leader.
      ready: async (base) => (await (await fetch(`${base}/v1/status/leader`)).json()) !== "",
    }),
  );
  await Promise.all(
    clients.map(async (c) => {
      const proc = await spawnAgent([...common(c), `-server-port=${await freePort()}`, `-retry-join=${server.bind}:${server.serfPort}`], {
        httpPort: c.httpPort,
        httpHost: c.bind,
        timeoutMs: 20_000,
        // Answered by the server through the client: gossip found it and the RPC path is up.
        ready: async (base) => (await (await fetch(`${base}/v1/catalog/node/${c.name}`)).json()) !== null,
      });
      running.set(c.name, proc);
    }),
  );
  for (const s of specs) consuls.set(s.name, new Consul({ host: s.bind, port: s.httpPort }));
});

after(async () => {
  for (const c of consuls.values()) c.destroy();
  for (const p of running.values()) await p.kill();
  for (const s of specs) await rm(s.dataDir, { recursive: true, force: true });
});

test("cluster clients - agent.members on a client lists the server and both clients alive at their bind addresses", async () => {
  type Member = { Name: string; Addr: string; Status: number; Tags: Record<string, string> };
  let members: Member[] = [];
  await eventually("three alive members", async () => {
    members = (await consulOf("client-1").agent.members()) as Member[];
    return members.length === 3 && members.every((m) => m.Status === 1);
  });
  assert.deepEqual(
    members.map((m) => [m.Name, m.Addr, m.Tags.role ?? "node"]).sort(),
    [
      ["client-1", "127.0.0.2", "node"],
      ["client-2", "127.0.0.3", "node"],
      ["server-1", "127.0.0.1", "consul"],
    ],
  );
  const self = (await consulOf("client-2").agent.self()) as { Config: { NodeName: string; Server: boolean } };
  assert.equal(self.Config.NodeName, "client-2");
  assert.equal(self.Config.Server, false);
});

test("cluster clients - catalog and health: a service registered on a client reaches the server's catalog", async () => {
  const onClient = consulOf("client-1");
  await onClient.agent.service.register({ name: "web", id: "web-1", address: "127.0.0.2", port: 8080, tags: ["v1"], check: { ttl: "30s", name: "web ttl", timeout: "5s" } });
  const server = consulOf("server-1");
  type CatalogService = { Node: string; Address: string; ServiceID: string; ServicePort: number };
  let nodes: CatalogService[] = [];
  await eventually("web in the server's catalog", async () => {
    nodes = (await server.catalog.service.nodes("web")) as CatalogService[];
    return nodes.length === 1;
  });
  assert.equal(nodes[0].Node, "client-1");
  assert.equal(nodes[0].Address, "127.0.0.2");
  assert.equal(nodes[0].ServiceID, "web-1");
  assert.equal(nodes[0].ServicePort, 8080);
  const catalogNodes = (await consulOf("client-2").catalog.node.list()) as { Node: string }[];
  assert.deepEqual(catalogNodes.map((n) => n.Node).sort(), ["client-1", "client-2", "server-1"]);

  // The TTL check starts critical; the client's heartbeat reaches the server's health view.
  assert.equal(((await server.health.service({ service: "web", passing: true })) as unknown[]).length, 0);
  await onClient.agent.check.pass("service:web-1");
  await eventually("web passing on the server", async () => ((await server.health.service({ service: "web", passing: true })) as unknown[]).length === 1);
  const nodeChecks = (await consulOf("client-2").health.node("client-1")) as { CheckID: string; Status: string }[];
  assert.equal(nodeChecks.find((c) => c.CheckID === "serfHealth")?.Status, "passing");
});

test("cluster clients - kv written through one client is read through the other and the server", async () => {
  assert.equal(await consulOf("client-1").kv.set("app/config", "blue"), true);
  assert.equal((await consulOf("client-2").kv.get("app/config"))?.Value, "blue");
  assert.equal((await consulOf("server-1").kv.get("app/config"))?.Value, "blue");
  assert.deepEqual(await consulOf("client-2").kv.keys("app/"), ["app/config"]);
  assert.equal(await consulOf("client-2").kv.del("app/config"), true);
  assert.equal(await consulOf("client-1").kv.get("app/config"), undefined);
});

test("cluster clients - a session created on a client holds a kv lock the other client cannot take", async () => {
  const one = consulOf("client-1");
  const two = consulOf("client-2");
  const { ID: session } = await one.session.create({ name: "leader-election", ttl: "30s" });
  assert.match(session, /^[0-9a-f-]{36}$/);
  const info = await two.session.info(session);
  assert.equal((info as unknown as { Node: string }[] | undefined)?.[0]?.Node ?? (info as { Node?: string } | undefined)?.Node, "client-1");
  assert.equal(await one.kv.set({ key: "service/leader", value: "client-1", acquire: session }), true);
  const { ID: rival } = await two.session.create({ name: "rival" });
  assert.notEqual(await two.kv.set({ key: "service/leader", value: "client-2", acquire: rival }), true);
  const held = (await two.kv.get("service/leader")) as { Session?: string; Value: string } | undefined;
  assert.equal(held?.Session, session);
  assert.equal(held?.Value, "client-1");
  await one.session.destroy(session);
  await two.session.destroy(rival);
  assert.equal(((await two.kv.get("service/leader")) as { Session?: string } | undefined)?.Session, undefined);
});

test("cluster clients - a txn through a client applies every operation atomically", async () => {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  // Consul's own operation layout; the client sends the array as the body.
  const operations = [
    { KV: { Verb: "set", Key: "txn/a", Value: b64("1") } },
    { KV: { Verb: "set", Key: "txn/b", Value: b64("2") } },
    { KV: { Verb: "get", Key: "txn/a" } },
  ] as unknown as Parameters<Consul["transaction"]["create"]>[1]["operations"];
  const result = await consulOf("client-2").transaction.create(operations, { operations });
  const results = (result as { Results?: { KV: { Key: string; Value: string | null } }[] }).Results ?? [];
  assert.deepEqual(
    results.map((r) => r.KV.Key),
    ["txn/a", "txn/b", "txn/a"],
  );
  assert.equal(results[2].KV.Value, b64("1"));
  assert.equal((await consulOf("client-1").kv.get("txn/b"))?.Value, "2");
});

test("cluster clients - an event fired on one client is listed on the other", async () => {
  const fired = await consulOf("client-1").event.fire("deploy", "v42");
  assert.equal(fired.Name, "deploy");
  await eventually("the event on client-2", async () => (await consulOf("client-2").event.list("deploy")).some((e) => e.ID === fired.ID));
  const seen = (await consulOf("client-2").event.list("deploy")).find((e) => e.ID === fired.ID);
  assert.equal(String(seen?.Payload), "v42");
});

test("cluster clients - a killed client's serfHealth goes critical, and after force-leave its node and services are deregistered", async () => {
  const server = consulOf("server-1");
  await consulOf("client-2").agent.service.register({ name: "api", id: "api-1", port: 9090 });
  await eventually("api in the server's catalog", async () => ((await server.catalog.service.nodes("api")) as unknown[]).length === 1);

  await running.get("client-2")?.kill("SIGKILL");
  running.delete("client-2");
  await eventually(
    "client-2 serfHealth critical",
    async () => ((await server.health.node("client-2")) as { CheckID: string; Status: string }[]).some((c) => c.CheckID === "serfHealth" && c.Status === "critical"),
    20_000,
  );
  assert.equal(((await server.health.service({ service: "api", passing: true })) as unknown[]).length, 0);

  await server.agent.forceLeave("client-2");
  await eventually("client-2 deregistered", async () => !((await server.catalog.node.list()) as { Node: string }[]).some((n) => n.Node === "client-2"));
  assert.equal(((await server.catalog.service.nodes("api")) as unknown[]).length, 0);
  // The other client's gossip view converges too: client-2 is no longer alive there.
  await eventually("client-1 no longer sees client-2 alive", async () => {
    const members = (await consulOf("client-1").agent.members()) as { Name: string; Status: number }[];
    return members.find((m) => m.Name === "client-2")?.Status !== 1;
  });
});
