import { test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { decode } from "dns-packet";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { dcAgentSpec, dcClientArgs, dcServerArgs, runCli, type DcAgentSpec } from "../support/wan-cluster.ts";
import { queryPacket, udpExchange } from "./dns-support.ts";

// Three single-server datacenters on loopback, federated with one WAN join each (dc2 joins dc1,
// dc3 joins dc2), plus a client agent in dc1. Everything a user does with `?dc=` goes
// client → its server → WAN → a server of the named datacenter, and answers as if asked there.

interface Member {
  Name: string;
  Status: number;
}

function decodedAnswers(reply: Buffer): { rcode: string | undefined; data: string[] } {
  const p = decode(reply);
  return { rcode: p.rcode, data: (p.answers ?? []).map((a) => ("data" in a ? String(a.data) : "")) };
}

test("wan forwarding - three datacenters: members -wan, ?dc= reads and writes, blocking queries, DNS and CLI across the WAN, unknown dc", async (t) => {
  const s1 = await dcAgentSpec("s1", "dc1", "127.0.0.41");
  const c1 = await dcAgentSpec("c1", "dc1", "127.0.0.42");
  const s2 = await dcAgentSpec("s2", "dc2", "127.0.0.43");
  const s3 = await dcAgentSpec("s3", "dc3", "127.0.0.44");
  const procs: AgentProcess[] = [];
  t.after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await Promise.all([s1, c1, s2, s3].map((s) => rm(s.dataDir, { recursive: true, force: true })));
  });
  const start = async (s: DcAgentSpec, args: string[]): Promise<AgentProcess> => {
    const p = await spawnAgent(args, { httpPort: s.httpPort, timeoutMs: 40_000 });
    procs.push(p);
    return p;
  };
  const [p1, pc, p2, p3] = await Promise.all([
    start(s1, dcServerArgs(s1, 1, [], [])),
    start(c1, dcClientArgs(c1, [s1])),
    start(s2, dcServerArgs(s2, 1, [], [s1])),
    start(s3, dcServerArgs(s3, 1, [], [s2])),
  ]);

  // Every server sees every other in the WAN pool (dc3 never joined dc1 directly).
  const expected = ["s1.dc1", "s2.dc2", "s3.dc3"];
  for (const p of [p1, p2, p3]) {
    await eventually(
      `${p.base} lists all WAN members alive`,
      async () => {
        const members = await getJson<Member[]>(`${p.base}/v1/agent/members?wan=1`);
        return expected.every((n) => members.some((m) => m.Name === n && m.Status === 1));
      },
      20_000,
    );
  }
  // The client agent learns the datacenters from its server (local one first).
  await eventually("c1 lists three datacenters", async () => (await getJson<string[]>(`${pc.base}/v1/catalog/datacenters`)).length === 3, 15_000);
  // Own datacenter first, the others by estimated WAN RTT (their order depends on coordinates).
  const fromClient = await getJson<string[]>(`${pc.base}/v1/catalog/datacenters`);
  assert.equal(fromClient[0], "dc1");
  assert.deepEqual([...fromClient].sort(), ["dc1", "dc2", "dc3"]);
  const fromDc3 = await getJson<string[]>(`${p3.base}/v1/catalog/datacenters`);
  assert.equal(fromDc3[0], "dc3");
  assert.deepEqual([...fromDc3].sort(), ["dc1", "dc2", "dc3"]);
  const dcs = await runCli(c1.httpPort, ["catalog", "datacenters"]);
  // The asked server's own datacenter first, the others by estimated WAN RTT (coordinates).
  assert.equal(dcs.code, 0, dcs.err);
  const listed = dcs.out.trim().split("\n");
  assert.equal(listed[0], "dc1");
  assert.deepEqual([...listed].sort(), ["dc1", "dc2", "dc3"]);
  // Each server must have a leader before writes land there.
  for (const p of [p1, p2, p3]) await eventually(`${p.base} has a leader`, async () => (await getJson<string>(`${p.base}/v1/status/leader`)) !== "", 15_000);

  // A write from dc1's client into dc2 lands in dc2 only.
  const put = await fetch(`${pc.base}/v1/kv/app/color?dc=dc2`, { method: "PUT", body: "blue" });
  assert.equal(put.status, 200, await put.text());
  assert.equal((await fetch(`${p2.base}/v1/kv/app/color?raw`)).status, 200);
  assert.equal(await (await fetch(`${p2.base}/v1/kv/app/color?raw`)).text(), "blue");
  assert.equal((await fetch(`${p1.base}/v1/kv/app/color`)).status, 404);
  // The remote read answers with dc2's index and leader headers, as if asked in dc2.
  const local = await fetch(`${p2.base}/v1/kv/app/color`);
  const remote = await fetch(`${pc.base}/v1/kv/app/color?dc=dc2`);
  assert.equal(remote.status, 200);
  assert.equal(remote.headers.get("x-consul-index"), local.headers.get("x-consul-index"));
  assert.equal(remote.headers.get("x-consul-knownleader"), "true");
  assert.deepEqual(await remote.json(), await local.json());
  // ?stale and ?consistent travel with it; the local datacenter's own name stays local.
  assert.equal((await fetch(`${p1.base}/v1/kv/app/color?dc=dc2&stale`)).status, 200);
  assert.equal((await fetch(`${p1.base}/v1/kv/app/color?dc=dc2&consistent`)).status, 200);
  assert.equal((await fetch(`${pc.base}/v1/kv/app/color?dc=dc1`)).status, 404);
  // CLI -datacenter is ?dc=.
  assert.deepEqual(await runCli(c1.httpPort, ["kv", "get", "-datacenter=dc2", "app/color"]), { code: 0, out: "blue\n", err: "" });
  assert.equal((await runCli(c1.httpPort, ["kv", "put", "-datacenter=dc3", "app/size", "xl"])).code, 0);
  assert.equal(await (await fetch(`${p3.base}/v1/kv/app/size?raw`)).text(), "xl");

  // Unknown datacenter: 500 "No path to datacenter", from a client and from a server.
  for (const base of [pc.base, p1.base]) {
    const res = await fetch(`${base}/v1/kv/app/color?dc=nowhere`);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "No path to datacenter");
  }
  const badWrite = await fetch(`${pc.base}/v1/kv/x?dc=nowhere`, { method: "PUT", body: "1" });
  assert.equal(badWrite.status, 500);
  assert.equal(await badWrite.text(), "No path to datacenter");

  // A blocking query across the WAN waits in dc3 and wakes on dc3's write.
  const first = await fetch(`${pc.base}/v1/kv/app/size?dc=dc3`);
  const index = Number(first.headers.get("x-consul-index"));
  assert.ok(index > 0);
  const startedAt = Date.now();
  const blocked = fetch(`${pc.base}/v1/kv/app/size?dc=dc3&index=${index}&wait=20s`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await fetch(`${p3.base}/v1/kv/app/size`, { method: "PUT", body: "xxl" })).status, 200);
  const woke = await blocked;
  const elapsed = Date.now() - startedAt;
  assert.equal(woke.status, 200);
  assert.ok(Number(woke.headers.get("x-consul-index")) > index);
  assert.ok(elapsed >= 400 && elapsed < 10_000, `blocking query answered after ${elapsed} ms`);
  const [entry] = (await woke.json()) as { Value: string }[];
  assert.equal(Buffer.from(entry.Value, "base64").toString(), "xxl");

  // Catalog writes name their datacenter in the body; reads of it then come back through health.
  const reg = await fetch(`${pc.base}/v1/catalog/register`, {
    method: "PUT",
    body: JSON.stringify({ Datacenter: "dc2", Node: "web-node", Address: "10.9.8.7", Service: { Service: "web", Port: 8080 } }),
  });
  assert.equal(reg.status, 200, await reg.text());
  const health = await getJson<{ Node: { Node: string; Datacenter: string } }[]>(`${pc.base}/v1/health/service/web?dc=dc2`);
  assert.deepEqual(
    health.map((h) => [h.Node.Node, h.Node.Datacenter]),
    [["web-node", "dc2"]],
  );
  assert.deepEqual(await getJson<unknown[]>(`${p1.base}/v1/health/service/web`), []);

  // DNS of another datacenter, asked of dc1's server and of its client agent.
  for (const s of [s1, c1]) {
    const svc = decodedAnswers(await udpExchange(s.dnsPort, queryPacket("web.service.dc2.consul", "A")));
    assert.deepEqual(svc, { rcode: "NOERROR", data: ["10.9.8.7"] });
    const node = decodedAnswers(await udpExchange(s.dnsPort, queryPacket("web-node.node.dc2.consul", "A")));
    assert.deepEqual(node, { rcode: "NOERROR", data: ["10.9.8.7"] });
    const srv = decode(await udpExchange(s.dnsPort, queryPacket("web.service.dc2.consul", "SRV")));
    assert.deepEqual(
      (srv.answers ?? []).map((a) => (a.type === "SRV" ? [a.data.port, a.data.target] : [])),
      [[8080, "web-node.node.dc2.consul"]],
    );
    assert.equal(decodedAnswers(await udpExchange(s.dnsPort, queryPacket("web.service.nowhere.consul", "A"))).rcode, "NXDOMAIN");
    assert.equal(decodedAnswers(await udpExchange(s.dnsPort, queryPacket("nothing.service.dc2.consul", "A"))).rcode, "NXDOMAIN");
  }

  // A user event fired into dc3 from dc1's client is delivered there.
  const fired = await fetch(`${pc.base}/v1/event/fire/deploy?dc=dc3`, { method: "PUT", body: "v2" });
  assert.equal(fired.status, 200, await fired.text());
  await eventually("dc3 received the event", async () => (await getJson<{ Name: string }[]>(`${p3.base}/v1/event/list?name=deploy`)).length === 1, 10_000);
  assert.deepEqual(await getJson<unknown[]>(`${p1.base}/v1/event/list?name=deploy`), []);

  // members -wan from the CLI on dc2's server lists the three servers.
  const wan = await runCli(s2.httpPort, ["members", "-wan"]);
  assert.equal(wan.code, 0, wan.err);
  assert.deepEqual(
    wan.out
      .trim()
      .split("\n")
      .slice(1)
      .map((r) => r.split(/\s+/)[0]),
    expected,
  );
});
