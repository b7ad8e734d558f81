import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

// A dev server and a client agent (no -server) as real processes: the client joins the
// server's gossip pool, learns its RPC address from the member tags, answers /v1/agent/*
// itself and passes everything else to the server over RPC on the server port.

async function spawnClientAgent(serverSerfPort: number, dataDir: string): Promise<AgentProcess> {
  const httpPort = await freePort();
  const args = [
    `-retry-join=127.0.0.1:${serverSerfPort}`,
    `-data-dir=${dataDir}`,
    "-bind=127.0.0.1",
    "-node=client-1",
    `-http-port=${httpPort}`,
    "-dns-port=-1",
    `-server-port=${await freePort()}`,
    `-serf-lan-port=${await freePort()}`,
  ];
  return spawnAgent(args, {
    httpPort,
    // Answered by the server through the client: the RPC path is up.
    ready: async (base) => {
      const res = await fetch(`${base}/v1/catalog/node/client-1`);
      return res.status === 200 && (await res.json()) !== null;
    },
  });
}

async function cluster(t: { after(fn: () => Promise<void>): void }): Promise<{ server: AgentProcess; client: AgentProcess }> {
  const serverRpcPort = await freePort();
  const serverSerfPort = await freePort();
  const server = await spawnDevAgent([`-server-port=${serverRpcPort}`, `-serf-lan-port=${serverSerfPort}`, "-node=server-1"]);
  const dataDir = await mkdtemp(join(tmpdir(), "consulate-client-"));
  t.after(async () => {
    await server.kill();
    await rm(dataDir, { recursive: true, force: true });
  });
  const client = await spawnClientAgent(serverSerfPort, dataDir);
  t.after(async () => {
    await client.kill();
  });
  return { server, client };
}

test("client agent - a service registered on the client appears in the server's catalog and leaves with deregistration", async (t) => {
  const { server, client } = await cluster(t);
  const reg = await fetch(`${client.base}/v1/agent/service/register`, {
    method: "PUT",
    body: JSON.stringify({ Name: "web", ID: "web-1", Port: 8080, Tags: ["v1"], Check: { TTL: "30s" } }),
  });
  assert.equal(reg.status, 200);

  // `consul info` on the client counts the pool it gossips in, not just itself.
  const self = (await (await fetch(`${client.base}/v1/agent/self`)).json()) as { Stats: Record<string, Record<string, string>> };
  assert.equal(self.Stats.consul?.known_servers, "1");
  assert.equal(self.Stats.serf_lan?.members, "2");

  // Agent endpoints are the client's own.
  const local = (await (await fetch(`${client.base}/v1/agent/services`)).json()) as Record<string, { Service: string }>;
  assert.equal(local["web-1"]?.Service, "web");

  type CatalogRow = { Node: string; ServiceID: string; ServicePort: number; ServiceTags: string[] };
  await eventually("web in the server's catalog", async () => {
    const rows = (await (await fetch(`${server.base}/v1/catalog/service/web`)).json()) as CatalogRow[];
    return rows.length === 1;
  });
  const rows = (await (await fetch(`${server.base}/v1/catalog/service/web`)).json()) as CatalogRow[];
  assert.equal(rows[0].Node, "client-1");
  assert.equal(rows[0].ServicePort, 8080);
  assert.deepEqual(rows[0].ServiceTags, ["v1"]);
  const checks = (await (await fetch(`${server.base}/v1/health/checks/web`)).json()) as { CheckID: string; Status: string }[];
  assert.deepEqual(
    checks.map((c) => [c.CheckID, c.Status]),
    [["service:web-1", "critical"]],
  );

  // The client's catalog reads are the server's.
  const viaClient = (await (await fetch(`${client.base}/v1/catalog/service/web`)).json()) as CatalogRow[];
  assert.deepEqual(viaClient, rows);

  const dereg = await fetch(`${client.base}/v1/agent/service/deregister/web-1`, { method: "PUT" });
  assert.equal(dereg.status, 200);
  await eventually("web gone from the server's catalog", async () => {
    const left = (await (await fetch(`${server.base}/v1/catalog/service/web`)).json()) as CatalogRow[];
    return left.length === 0;
  });
});

test("client agent - KV written through the client is read through the server, and the other way round", async (t) => {
  const { server, client } = await cluster(t);
  const put = await fetch(`${client.base}/v1/kv/app/config?flags=42`, { method: "PUT", body: "from-client" });
  assert.equal(put.status, 200);
  assert.equal((await put.text()).trim(), "true");
  const onServer = await fetch(`${server.base}/v1/kv/app/config`);
  assert.equal(onServer.status, 200);
  const [entry] = (await onServer.json()) as { Value: string; Flags: number; ModifyIndex: number }[];
  assert.equal(Buffer.from(entry.Value, "base64").toString(), "from-client");
  assert.equal(entry.Flags, 42);

  const serverPut = await fetch(`${server.base}/v1/kv/app/other`, { method: "PUT", body: "from-server" });
  assert.equal(serverPut.status, 200);
  const viaClient = await fetch(`${client.base}/v1/kv/app/other?raw`);
  assert.equal(viaClient.status, 200);
  assert.equal(await viaClient.text(), "from-server");
  assert.ok(Number(viaClient.headers.get("x-consul-index")) > entry.ModifyIndex);
  assert.equal(viaClient.headers.get("x-consul-knownleader"), "true");

  // cas through the client runs on the server: a stale index is refused.
  const cas = await fetch(`${client.base}/v1/kv/app/config?cas=1`, { method: "PUT", body: "nope" });
  assert.equal((await cas.text()).trim(), "false");

  // Errors come back as the server wrote them; a missing key is a bare 404.
  const missing = await fetch(`${client.base}/v1/kv/app/missing`);
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), "");

  const leader = await (await fetch(`${client.base}/v1/status/leader`)).json();
  assert.equal(leader, await (await fetch(`${server.base}/v1/status/leader`)).json());
});

test("client agent - a blocking query through the client wakes on a write through the server", async (t) => {
  const { server, client } = await cluster(t);
  await fetch(`${server.base}/v1/kv/watched`, { method: "PUT", body: "v1" });
  const first = await fetch(`${client.base}/v1/kv/watched`);
  const index = Number(first.headers.get("x-consul-index"));
  assert.ok(index > 0);
  await first.arrayBuffer();

  const started = Date.now();
  const blocked = fetch(`${client.base}/v1/kv/watched?index=${index}&wait=20s&raw`);
  await new Promise((r) => setTimeout(r, 300));
  await fetch(`${server.base}/v1/kv/watched`, { method: "PUT", body: "v2" });
  const woke = await blocked;
  assert.equal(await woke.text(), "v2");
  assert.ok(Number(woke.headers.get("x-consul-index")) > index);
  assert.ok(Date.now() - started < 10_000, "woke on the write, not on the wait timeout");

  // A client that gives up on a blocking query does not hurt the next one.
  const controller = new AbortController();
  const abandoned = fetch(`${client.base}/v1/kv/watched?index=${index + 1000}&wait=30s`, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 100));
  controller.abort();
  await assert.rejects(abandoned);
  const after = await fetch(`${client.base}/v1/kv/watched?raw`);
  assert.equal(await after.text(), "v2");
});
