// The Connect-native SDK against the built-in proxy in both directions (spec/connect.md §9),
// intentions applied by SDK servers, and a CA rotation that keeps open connections while new
// ones get the new leaf.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { connect, type ConnectService } from "../../src/mod.ts";
import { ConnectService as ConnectServiceImpl } from "../../src/connect-native/service.ts";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { exchange, openConversation, passingConnect, putJson, registerWithSidecar, spawnProxy, startTagApp, type ProxyProcess } from "../support/connect-mesh.ts";

interface Roots {
  ActiveRootID: string;
  Roots: { ID: string; RootCert: string; Active: boolean }[];
}

describe("connect-native SDK", () => {
  let agent: AgentProcess;
  const proxies: ProxyProcess[] = [];
  const apps: { close(): Promise<void> }[] = [];
  const services: ConnectService[] = [];
  const servers: tls.Server[] = [];
  let dbSidecarPort = 0;
  let apiUpstream = 0;
  let dbUpstream = 0;

  const listen = async (server: tls.Server): Promise<number> => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return (server.address() as { port: number }).port;
  };

  before(async () => {
    agent = await spawnDevAgent(["-dns-port=-1"]);
    const db = await startTagApp("db");
    apps.push(db);
    dbSidecarPort = await freePort();
    apiUpstream = await freePort();
    dbUpstream = await freePort();
    await registerWithSidecar(agent.base, { name: "db", appPort: db.port, sidecarPort: dbSidecarPort });
    await registerWithSidecar(agent.base, {
      name: "web",
      appPort: await freePort(),
      sidecarPort: await freePort(),
      upstreams: [
        { DestinationName: "api", LocalBindPort: apiUpstream },
        { DestinationName: "db", LocalBindPort: dbUpstream },
      ],
    });
    proxies.push(...(await Promise.all([spawnProxy(agent.base, ["-sidecar-for=db"]), spawnProxy(agent.base, ["-sidecar-for=web"])])));
  });

  after(async () => {
    for (const s of services) s.close();
    for (const s of servers) s.close();
    await Promise.all(proxies.map((p) => p.kill()));
    await Promise.all(apps.map((a) => a.close()));
    await agent?.kill();
  });

  test("SDK server ← proxy client: a sidecar's upstream reaches a Connect-native service", async () => {
    const api = await connect.service("api", { agent: agent.base });
    services.push(api);
    const server = api.serve(tls.createServer(api.tlsServerOptions(), (s) => s.on("data", (d) => s.write(`api:${d.toString()}`))));
    const port = await listen(server);
    await putJson(agent.base, "/v1/agent/service/register", { Name: "api", Port: port, Address: "127.0.0.1", Connect: { Native: true } });
    await eventually("api in health/connect", async () => (await passingConnect(agent.base, "api")) === 1);
    assert.equal(await exchange(apiUpstream, "hi"), "api:hi");

    // serve() holds connections behind intentions.
    await putJson(agent.base, "/v1/connect/intentions/exact?source=web&destination=api", { Action: "deny" });
    await eventually("the SDK server refusing web", async () => (await exchange(apiUpstream, "denied?")) === null, 5000, 50);
    await putJson(agent.base, "/v1/connect/intentions/exact?source=web&destination=api", { Action: "allow" });
    await eventually("the SDK server admitting web again", async () => (await exchange(apiUpstream, "ok")) === "api:ok", 5000, 50);
  });

  test("proxy server ← SDK client: dial() reaches an app behind a sidecar with the SPIFFE ID checked", async () => {
    const cli = await connect.service("cli", { agent: agent.base });
    services.push(cli);
    await eventually("db in health/connect", async () => (await passingConnect(agent.base, "db")) === 1);
    const socket = await cli.dial("db");
    assert.ok(socket.authorized);
    assert.match(socket.getPeerX509Certificate()?.subjectAltName ?? "", /\/svc\/db$/);
    const answer = await new Promise<string>((resolve) => {
      socket.once("data", (d) => resolve(d.toString()));
      socket.write("q");
    });
    socket.destroy();
    assert.equal(answer, "db:q");
    await assert.rejects(cli.dial("nothing-here"), { name: "ConnectError", code: "NoHealthyInstances" });
  });

  test("with resumeTlsSessions (the proxy's setting) a second dial resumes, and intentions still decide each resumed connection", async () => {
    const cli = await ConnectServiceImpl.create("cli3", { agent: agent.base }, { resumeTlsSessions: true });
    services.push(cli);
    await eventually("db in health/connect", async () => (await passingConnect(agent.base, "db")) === 1);
    const ask = async (): Promise<{ reused: boolean; answer: string | null }> => {
      const socket = await cli.dial("db");
      const answer = await new Promise<string | null>((resolve) => {
        socket.once("data", (d) => resolve(d.toString()));
        // dial() sockets allow half-open: a refused connection shows as the server's FIN.
        socket.once("end", () => resolve(null));
        socket.once("close", () => resolve(null));
        socket.once("error", () => resolve(null));
        socket.setTimeout(3000, () => resolve(null));
        socket.write("r");
      });
      const reused = socket.isSessionReused();
      // A resumed session's server was identified when the session was made (same destination).
      if (!reused) assert.match(socket.getPeerX509Certificate()?.subjectAltName ?? "", /\/svc\/db$/);
      socket.destroy();
      return { reused, answer };
    };
    assert.deepEqual(await ask(), { reused: false, answer: "db:r" });
    // The ticket of the first connection arrives after its handshake; the next dial uses it.
    await eventually("a resumed connection", async () => {
      const r = await ask();
      return r.reused && r.answer === "db:r";
    });
    await putJson(agent.base, "/v1/connect/intentions/exact?source=cli3&destination=db", { Action: "deny" });
    await eventually("a resumed connection refused by a deny", async () => {
      const r = await ask();
      return r.reused && r.answer === null;
    }, 5000, 50);
    await putJson(agent.base, "/v1/connect/intentions/exact?source=cli3&destination=db", { Action: "allow" });
    await eventually("admitted again", async () => (await ask()).answer === "db:r", 5000, 50);
  });

  test("fetch() and httpsAgent() speak HTTPS to a Connect-native service", async () => {
    const files = await connect.service("files", { agent: agent.base });
    services.push(files);
    const server = files.serve(https.createServer(files.tlsServerOptions(), (req, res) => res.end(`files ${req.method} ${req.url}`)));
    const port = await listen(server);
    await putJson(agent.base, "/v1/agent/service/register", { Name: "files", Port: port, Address: "127.0.0.1", Connect: { Native: true } });
    await eventually("files in health/connect", async () => (await passingConnect(agent.base, "files")) === 1);
    const cli = await connect.service("cli2", { agent: agent.base });
    services.push(cli);
    const res = await cli.fetch("https://files.service.consul/a?b=1");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "files GET /a?b=1");
    const viaAgent = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: "files.service.consul", path: "/x", agent: cli.httpsAgent("files") }, (r) => {
          let body = "";
          r.on("data", (d: Buffer) => (body += d.toString()));
          r.on("end", () => resolve(body));
        })
        .on("error", reject);
    });
    assert.equal(viaAgent, "files GET /x");
  });

  test("a CA rotation keeps a long-lived connection open while new connections use the new leaf", async () => {
    const before = (await (await fetch(`${agent.base}/v1/agent/connect/ca/roots`)).json()) as Roots;
    const conversation = await openConversation(dbUpstream);
    assert.equal(await conversation.send("one"), "db:one");

    await putJson(agent.base, "/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 } });
    let roots: Roots = before;
    await eventually("a new active root", async () => {
      roots = (await (await fetch(`${agent.base}/v1/agent/connect/ca/roots`)).json()) as Roots;
      return roots.ActiveRootID !== before.ActiveRootID;
    });
    const newRoot = new X509Certificate(roots.Roots.find((r) => r.Active)?.RootCert ?? "");
    const leaf = (await (await fetch(`${agent.base}/v1/agent/connect/ca/leaf/web`)).json()) as { CertPEM: string; PrivateKeyPEM: string };
    // The db sidecar's public listener presents a leaf signed by the new root to new clients.
    await eventually("db's sidecar presenting the new leaf", async () => {
      const presented = await new Promise<X509Certificate | undefined>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: dbSidecarPort, ca: roots.Roots.map((r) => r.RootCert), cert: leaf.CertPEM, key: leaf.PrivateKeyPEM, checkServerIdentity: () => undefined });
        s.on("secureConnect", () => {
          resolve(s.getPeerX509Certificate());
          s.destroy();
        });
        s.on("error", () => resolve(undefined));
      });
      return presented !== undefined && presented.checkIssued(newRoot);
    });
    // New connections through both sidecars work with the new material…
    await eventually("a new connection after rotation", async () => (await exchange(dbUpstream, "two")) === "db:two");
    // …and the connection made before the rotation is still open.
    assert.equal(await conversation.send("three"), "db:three");
    conversation.close();
  });
});
