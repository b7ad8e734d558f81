import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { runCli } from "../support/wan-cluster.ts";
import { eventually, getJson } from "../support/eventually.ts";

// Two datacenters federated over the WAN pool, started the way Consul users start them:
// dc1 has two servers (LAN retry-join, bootstrap-expect 2), dc2 one (-bootstrap). s2 finds
// s1's WAN pool with -retry-join-wan, s3 with -join-wan, all of it encrypted with one key.
// members -wan lists `<node>.<dc>` for all three, catalog/datacenters lists both (the
// asked server's own first), a killed server turns failed in the WAN list, and force-leave
// ?wan turns it left so its datacenter drops out.

const GOSSIP_KEY = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
// Fast WAN failure detection so a kill shows up in a few seconds, not Consul's WAN minutes;
// the servers start together, so a WAN join that comes too early is retried within a second.
const FAST_WAN = 'retry_interval_wan = "500ms"\ngossip_wan {\n  probe_interval = "200ms"\n  probe_timeout = "100ms"\n  gossip_interval = "50ms"\n  suspicion_mult = 2\n}';

interface ServerSpec {
  name: string;
  dc: string;
  bind: string;
  httpPort: number;
  serverPort: number;
  lanPort: number;
  wanPort: number;
  dataDir: string;
}

interface WanMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
}

async function spec(name: string, dc: string, bind: string): Promise<ServerSpec> {
  return {
    name,
    dc,
    bind,
    httpPort: await freePort(),
    serverPort: await freePort(),
    lanPort: await freePort(),
    wanPort: await freePort(),
    dataDir: await mkdtemp(join(tmpdir(), `consulate-wan-${name}-`)),
  };
}

function serverArgs(s: ServerSpec, extra: string[]): string[] {
  return [
    "-server",
    `-node=${s.name}`,
    `-datacenter=${s.dc}`,
    `-data-dir=${s.dataDir}`,
    `-bind=${s.bind}`,
    "-client=127.0.0.1",
    `-http-port=${s.httpPort}`,
    "-dns-port=-1",
    `-server-port=${s.serverPort}`,
    `-serf-lan-port=${s.lanPort}`,
    `-serf-wan-port=${s.wanPort}`,
    `-encrypt=${GOSSIP_KEY}`,
    `-hcl=${FAST_WAN}`,
    ...extra,
  ];
}

const wanMembers = (p: AgentProcess): Promise<WanMember[]> => getJson<WanMember[]>(`${p.base}/v1/agent/members?wan=1`);

function statusOf(members: readonly WanMember[], name: string): number | undefined {
  return members.find((m) => m.Name === name)?.Status;
}

test("wan - servers of dc1 and dc2 federate over the WAN pool: members -wan, catalog/datacenters, a killed server is failed, force-leave -wan makes it left", async (t) => {
  const s1 = await spec("s1", "dc1", "127.0.0.1");
  const s2 = await spec("s2", "dc1", "127.0.0.2");
  const s3 = await spec("s3", "dc2", "127.0.0.3");
  const procs: AgentProcess[] = [];
  t.after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await Promise.all([s1, s2, s3].map((s) => rm(s.dataDir, { recursive: true, force: true })));
  });
  const start = async (s: ServerSpec, extra: string[]): Promise<AgentProcess> => {
    const p = await spawnAgent(serverArgs(s, extra), { httpPort: s.httpPort, timeoutMs: 20_000 });
    procs.push(p);
    return p;
  };

  const lanJoin = (s: ServerSpec): string => `-retry-join=${s.bind}:${s.lanPort}`;
  const s1WanAddr = `${s1.bind}:${s1.wanPort}`;
  const [p1, p2, p3] = await Promise.all([
    start(s1, ["-bootstrap-expect=2", lanJoin(s2)]),
    start(s2, ["-bootstrap-expect=2", lanJoin(s1), `-retry-join-wan=${s1WanAddr}`]),
    start(s3, ["-bootstrap", `-join-wan=${s1WanAddr}`]),
  ]);

  const expected = ["s1.dc1", "s2.dc1", "s3.dc2"];
  for (const p of [p1, p2, p3]) {
    await eventually(
      `${p.base} sees all three WAN members alive`,
      async () => {
        const members = await wanMembers(p);
        return expected.every((name) => statusOf(members, name) === 1);
      },
      15_000,
    );
  }
  const seen = await wanMembers(p1);
  assert.deepEqual(seen.map((m) => m.Name).sort(), expected);
  const s3Member = seen.find((m) => m.Name === "s3.dc2");
  assert.equal(s3Member?.Addr, s3.bind);
  assert.equal(s3Member?.Port, s3.wanPort);
  assert.equal(s3Member?.Tags.dc, "dc2");
  assert.equal(s3Member?.Tags.role, "consul");
  assert.equal(s3Member?.Tags.port, String(s3.serverPort));
  // The LAN pool stays per datacenter: s1 sees its dc1 peer, never s3.
  const lan = await getJson<WanMember[]>(`${p1.base}/v1/agent/members`);
  assert.deepEqual(lan.map((m) => m.Name).sort(), ["s1", "s2"]);

  const listed = await runCli(s1.httpPort, ["members", "-wan"]);
  assert.equal(listed.code, 0, listed.err);
  const rows = listed.out.trim().split("\n").slice(1);
  assert.deepEqual(
    rows.map((r) => r.split(/\s+/).slice(0, 4)),
    [
      ["s1.dc1", `${s1.bind}:${s1.wanPort}`, "alive", "server"],
      ["s2.dc1", `${s2.bind}:${s2.wanPort}`, "alive", "server"],
      ["s3.dc2", `${s3.bind}:${s3.wanPort}`, "alive", "server"],
    ],
  );
  // Joining an address already in the pool is fine (`consulate join -wan` → ?wan=1).
  assert.deepEqual(await runCli(s3.httpPort, ["join", "-wan", s1WanAddr]), { code: 0, out: "Successfully joined cluster by contacting 1 nodes.\n", err: "" });

  // Local datacenter first (distance 0), then the others (no coordinates: by name).
  assert.deepEqual(await getJson<string[]>(`${p1.base}/v1/catalog/datacenters`), ["dc1", "dc2"]);
  assert.deepEqual(await getJson<string[]>(`${p3.base}/v1/catalog/datacenters`), ["dc2", "dc1"]);

  await p3.kill("SIGKILL");
  await eventually("s3.dc2 failed in s1's and s2's WAN lists", async () => (await Promise.all([p1, p2].map(wanMembers))).every((m) => statusOf(m, "s3.dc2") === 4), 15_000);
  const failed = await runCli(s1.httpPort, ["members", "-wan", "-status=failed"]);
  assert.equal(failed.code, 0, failed.err);
  assert.match(failed.out, /^s3\.dc2\s+127\.0\.0\.3:\d+\s+failed\s+server\s/m);
  // A failed server still counts for its datacenter (only left ones are skipped).
  assert.deepEqual(await getJson<string[]>(`${p1.base}/v1/catalog/datacenters`), ["dc1", "dc2"]);

  const forced = await fetch(`${p1.base}/v1/agent/force-leave/s3.dc2?wan`, { method: "PUT" });
  assert.equal(forced.status, 200, await forced.text());
  assert.equal(statusOf(await wanMembers(p1), "s3.dc2"), 3);
  assert.deepEqual(await getJson<string[]>(`${p1.base}/v1/catalog/datacenters`), ["dc1"]);
});
