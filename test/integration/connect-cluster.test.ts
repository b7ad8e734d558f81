import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { rm } from "node:fs/promises";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { eventually, getJson } from "../support/eventually.ts";

// Connect across a real cluster: three servers with `connect { enabled = true }` and a client
// agent. The client's leaf is signed by the leader (client → server → leader over the
// ordinary forwarding path); after the leader is killed, a root rotation through the client
// reaches the new leader and the client's leaf renews under the new root.

interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: { ID: string; RootCert: string; Active: boolean }[];
}

interface Leaf {
  SerialNumber: string;
  CertPEM: string;
  ServiceURI: string;
  ModifyIndex: number;
}

test("connect cluster - a client agent's leaf is signed by the leader and renews after a leader kill and root rotation", async (t) => {
  const specs: ServerSpec[] = [];
  for (let i = 1; i <= 3; i++) specs.push(await serverSpec(`connect-s${i}`, `127.0.0.${10 + i}`));
  const running = new Map<string, AgentProcess>();
  const clientData = await serverSpec("connect-c1", "127.0.0.14");
  t.after(async () => {
    for (const p of running.values()) await p.kill();
    for (const s of [...specs, clientData]) await rm(s.dataDir, { recursive: true, force: true });
  });
  await Promise.all(
    specs.map(async (spec) => {
      const proc = await spawnAgent([...serverArgs(spec, 3, specs), "-hcl=connect { enabled = true }"], { httpPort: spec.httpPort, httpHost: "127.0.0.1", timeoutMs: 20_000 });
      running.set(spec.name, proc);
    }),
  );
  const servers = (): AgentProcess[] => specs.map((s) => running.get(s.name)).filter((p): p is AgentProcess => p !== undefined);
  let roots: Roots | undefined;
  await eventually("the leader to initialise the CA, seen by every server", async () => {
    const all = await Promise.all(servers().map((s) => getJson<Roots>(`${s.base}/v1/connect/ca/roots?stale`)));
    roots = all[0];
    return all.every((r) => r.Roots.length === 1 && r.ActiveRootID === all[0].ActiveRootID);
  }, 20_000);
  assert.ok(roots);

  const client = await spawnAgent(
    [
      `-node=${clientData.name}`,
      `-data-dir=${clientData.dataDir}`,
      `-bind=${clientData.bind}`,
      "-client=127.0.0.1",
      `-http-port=${clientData.httpPort}`,
      "-dns-port=-1",
      `-server-port=${await freePort()}`,
      `-serf-lan-port=${clientData.serfPort}`,
      "-serf-wan-port=-1",
      `-retry-join=${specs[0].bind}:${specs[0].serfPort}`,
    ],
    {
      httpPort: clientData.httpPort,
      httpHost: "127.0.0.1",
      timeoutMs: 20_000,
      ready: async (base) => (await (await fetch(`${base}/v1/catalog/node/${clientData.name}`)).json()) !== null,
    },
  );
  running.set(clientData.name, client);

  // The client agent serves the cluster's roots and a leaf the leader signed.
  const clientRoots = await getJson<Roots>(`${client.base}/v1/agent/connect/ca/roots`);
  assert.equal(clientRoots.ActiveRootID, roots.ActiveRootID);
  const leafRes = await fetch(`${client.base}/v1/agent/connect/ca/leaf/web`);
  assert.equal(leafRes.status, 200, await leafRes.clone().text());
  const leaf = (await leafRes.json()) as Leaf;
  assert.equal(leaf.ServiceURI, `spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/web`);
  assert.ok(new X509Certificate(leaf.CertPEM).verify(new X509Certificate(roots.Roots[0].RootCert).publicKey));

  // A follower asks the leader too.
  const leader = await getJson<string>(`${servers()[0].base}/v1/status/leader`);
  const leaderSpec = specs.find((s) => `${s.bind}:${s.serverPort}` === leader);
  assert.ok(leaderSpec, `leader ${leader} is one of the servers`);
  const follower = specs.find((s) => s !== leaderSpec);
  assert.ok(follower);
  const followerLeaf = await getJson<Leaf>(`${running.get(follower.name)?.base ?? ""}/v1/agent/connect/ca/leaf/api`);
  assert.ok(new X509Certificate(followerLeaf.CertPEM).verify(new X509Certificate(roots.Roots[0].RootCert).publicKey));

  // Kill the leader; a survivor takes over.
  await running.get(leaderSpec.name)?.kill("SIGKILL");
  running.delete(leaderSpec.name);
  await eventually("a new leader among the survivors", async () => {
    const l = await getJson<string>(`${servers()[0].base}/v1/status/leader`);
    return l !== "" && l !== leader;
  }, 20_000);

  // A blocked leaf read on the client wakes with a leaf signed by the new root.
  const waiting = fetch(`${client.base}/v1/agent/connect/ca/leaf/web?index=${leaf.ModifyIndex}&wait=60s`);
  const put = await fetch(`${client.base}/v1/connect/ca/configuration`, { method: "PUT", body: JSON.stringify({ Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 } }) });
  assert.equal(put.status, 200, await put.text());
  const renewed = (await (await waiting).json()) as Leaf;
  assert.notEqual(renewed.SerialNumber, leaf.SerialNumber);
  // The new leader reserved its own block of serial numbers, past every block the old one held.
  const serial = (l: Leaf): number => Number.parseInt(l.SerialNumber.replaceAll(":", ""), 16);
  assert.ok(serial(renewed) > Math.max(serial(leaf), serial(followerLeaf)), `${renewed.SerialNumber} after ${leaf.SerialNumber}, ${followerLeaf.SerialNumber}`);
  const after = await getJson<Roots>(`${client.base}/v1/agent/connect/ca/roots`);
  assert.notEqual(after.ActiveRootID, roots.ActiveRootID);
  const active = after.Roots.find((r) => r.Active);
  assert.ok(active);
  assert.ok(new X509Certificate(renewed.CertPEM).verify(new X509Certificate(active.RootCert).publicKey));
});
