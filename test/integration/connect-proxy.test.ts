// The built-in proxy as real processes (spec/connect.md §8): an app behind a sidecar reached
// through another sidecar's upstream, intentions deciding new connections within a second,
// untrusted clients refused at the handshake, and an upstream that keeps serving when one of
// two destination instances dies.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { makePki } from "../support/tls-pki.ts";
import { exchange, openConversation, passingConnect, putJson, registerWithSidecar, spawnProxy, startTagApp, type ProxyProcess } from "../support/connect-mesh.ts";

/** Remote ends ("addr:port", hex) of established TCP connections accepted on `port`, from /proc/net/tcp. */
function peersOf(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[1].endsWith(`:${hexPort}`) && f[3] === "01")
    .map((f) => f[2]);
}

describe("connect proxy", () => {
  let agent: AgentProcess;
  const proxies: ProxyProcess[] = [];
  const apps: { close(): Promise<void> }[] = [];
  let upstreamPort = 0;
  let queryUpstreamPort = 0;
  let dbSidecarPort = 0;
  const dir = mkdtempSync(join(tmpdir(), "consulate-mesh-"));

  before(async () => {
    agent = await spawnDevAgent(["-dns-port=-1"]);
    const db = await startTagApp("db");
    const web = await startTagApp("web");
    apps.push(db, web);
    dbSidecarPort = await freePort();
    upstreamPort = await freePort();
    queryUpstreamPort = await freePort();
    // db's sidecar advertises stream reuse, so web's sidecar carries connections to it over kept
    // mTLS connections: every test below runs through that path (the SDK tests cover plain mTLS).
    await registerWithSidecar(agent.base, { name: "db", appPort: db.port, sidecarPort: dbSidecarPort, streamReuse: true });
    await registerWithSidecar(agent.base, {
      name: "web",
      appPort: web.port,
      sidecarPort: await freePort(),
      upstreams: [
        { DestinationName: "db", LocalBindPort: upstreamPort },
        { DestinationType: "prepared_query", DestinationName: "db-query", LocalBindPort: queryUpstreamPort },
      ],
    });
    proxies.push(...(await Promise.all([spawnProxy(agent.base, ["-sidecar-for=db"]), spawnProxy(agent.base, ["-sidecar-for=web"])])));
  });

  after(async () => {
    await Promise.all(proxies.map((p) => p.kill()));
    await Promise.all(apps.map((a) => a.close()));
    await agent?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an app behind a sidecar answers through another sidecar's upstream, and the sidecar's check passes once it listens", async () => {
    await eventually("db's sidecar passing in health/connect", async () => (await passingConnect(agent.base, "db")) === 1);
    assert.equal(await exchange(upstreamPort, "ping"), "db:ping");
  });

  test("with stream reuse advertised, sequential connections share one kept mTLS connection", async () => {
    await eventually("db's sidecar passing in health/connect", async () => (await passingConnect(agent.base, "db")) === 1);
    // Each plain connection would reach db's sidecar from a new port; kept ones come back from the same few.
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const conversation = await openConversation(upstreamPort);
      assert.equal(await conversation.send(`s${i}`), `db:s${i}`);
      for (const peer of peersOf(dbSidecarPort)) seen.add(peer);
      conversation.close();
    }
    assert.ok(seen.size >= 1 && seen.size <= 3, `10 sequential connections reached db's sidecar from ${seen.size} connections`);
  });

  test("a prepared-query upstream finds the sidecar the query answers and checks it speaks for db", async () => {
    await eventually("db's sidecar passing in health/connect", async () => (await passingConnect(agent.base, "db")) === 1);
    // No such query yet: the connection is refused rather than sent anywhere.
    assert.equal(await exchange(queryUpstreamPort, "early"), null);
    const res = await fetch(`${agent.base}/v1/query`, { method: "POST", body: JSON.stringify({ Name: "db-query", Service: { Service: "db" } }) });
    assert.equal(res.status, 200, await res.text());
    await eventually("an answer through the query's instance", async () => (await exchange(queryUpstreamPort, "pq")) === "db:pq", 5000, 100);
  });

  test("a deny intention refuses new connections; allow restores them", async (t) => {
    assert.equal(await exchange(upstreamPort, "before"), "db:before");
    await putJson(agent.base, "/v1/connect/intentions/exact?source=web&destination=db", { Action: "deny" });
    const deniedAt = Date.now();
    // The deny must take effect, not within a wall-time budget a busy CI machine can overrun:
    // 10 s (ten decision lifetimes) only fails a proxy that never learns of the change.
    await eventually("a refused connection", async () => (await exchange(upstreamPort, "denied?")) === null, 10_000, 50);
    t.diagnostic(`refused after ${Date.now() - deniedAt} ms`);
    // Past the 1 s decision lifetime nothing may still be let through.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await exchange(upstreamPort, "still denied?"), null);

    await putJson(agent.base, "/v1/connect/intentions/exact?source=web&destination=db", { Action: "allow" });
    await eventually("an allowed connection", async () => (await exchange(upstreamPort, "again")) === "db:again", 10_000, 50);
  });

  test("a client without a certificate, or with one from another CA, is refused at the public listener", async () => {
    const roots = (await (await fetch(`${agent.base}/v1/agent/connect/ca/roots`)).json()) as { Roots: { RootCert: string }[] };
    const ca = roots.Roots.map((r) => r.RootCert);
    const attempt = (extra: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: dbSidecarPort, ca, checkServerIdentity: () => undefined, ...extra });
        s.on("secureConnect", () => s.write("hello"));
        s.on("data", (d) => {
          resolve(`answered ${d.toString()}`);
          s.destroy();
        });
        s.on("error", (e) => resolve(`refused: ${e.message}`));
        s.on("close", () => resolve("refused: closed"));
      });
    assert.match(await attempt({}), /^refused/);
    const foreign = await makePki(dir, "foreign");
    const files = await foreign.issue("client", "web");
    assert.match(await attempt({ cert: readFileSync(files.cert), key: readFileSync(files.key) }), /^refused/);
    // A leaf of this cluster gets through the same listener.
    const leaf = (await (await fetch(`${agent.base}/v1/agent/connect/ca/leaf/web`)).json()) as { CertPEM: string; PrivateKeyPEM: string };
    assert.equal(await attempt({ cert: leaf.CertPEM, key: leaf.PrivateKeyPEM }), "answered db:hello");
  });

  test("with one of two db instances killed, the upstream keeps serving", async () => {
    const db2 = await startTagApp("db2");
    apps.push(db2);
    const port2 = await freePort();
    await registerWithSidecar(agent.base, { id: "db2", name: "db", appPort: db2.port, sidecarPort: port2, streamReuse: true });
    const proxy2 = await spawnProxy(agent.base, ["-sidecar-for=db2"]);
    proxies.push(proxy2);
    await eventually("two passing db instances", async () => (await passingConnect(agent.base, "db")) === 2);
    const seen = new Set<string>();
    await eventually("both instances answering", async () => {
      const a = await exchange(upstreamPort, "x");
      if (a) seen.add(a);
      return seen.has("db:x") && seen.has("db2:x");
    }, 10_000, 10);
    await proxy2.kill("SIGKILL");
    // Health has not caught up yet: the dead instance is still listed, and the dial retries another.
    for (let i = 0; i < 20; i++) assert.equal(await exchange(upstreamPort, `n${i}`), `db:n${i}`);
  });

  test("the sidecar follows its registration: a moved upstream listener moves without a restart", async () => {
    const moved = await freePort();
    const webApp = await startTagApp("web2");
    apps.push(webApp);
    const sidecarPort = (((await (await fetch(`${agent.base}/v1/agent/service/web-sidecar-proxy`)).json()) as { Port: number }).Port);
    await registerWithSidecar(agent.base, { name: "web", appPort: webApp.port, sidecarPort, upstreams: [{ DestinationName: "db", LocalBindPort: moved }] });
    await eventually("the upstream on its new port", async () => (await exchange(moved, "moved")) === "db:moved", 10_000, 100);
    await eventually("the old upstream port closed", async () => (await exchange(upstreamPort, "old")) === null, 5000, 100);
  });

  test("SIGTERM stops the proxy with exit code 0 after draining", async () => {
    const p = proxies[0];
    p.child.kill("SIGTERM");
    assert.equal(await p.exited, 0);
    assert.match(p.output(), /draining connections/);
  });
});
