// `consulate connect proxy` without a registration (spec/connect.md §8): -service with
// -listen/-service-addr/-register and -upstream, and the flags refused with -sidecar-for.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { CONSULATE_BIN, freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { exchange, passingConnect, spawnProxy, startTagApp, type ProxyProcess } from "../support/connect-mesh.ts";

describe("connect proxy from flags", () => {
  let agent: AgentProcess;
  const proxies: ProxyProcess[] = [];
  const apps: { close(): Promise<void> }[] = [];

  before(async () => {
    agent = await spawnDevAgent(["-dns-port=-1"]);
  });

  after(async () => {
    await Promise.all(proxies.map((p) => p.kill()));
    await Promise.all(apps.map((a) => a.close()));
    await agent?.kill();
  });

  test("flag mode: -service/-listen/-register registers the proxy, -upstream reaches it, SIGTERM deregisters", async () => {
    const app = await startTagApp("solo");
    apps.push(app);
    const listen = await freePort();
    const upstream = await freePort();
    const server = await spawnProxy(agent.base, ["-service=solo", `-listen=127.0.0.1:${listen}`, `-service-addr=127.0.0.1:${app.port}`, "-register"]);
    proxies.push(server);
    const reg = (await (await fetch(`${agent.base}/v1/agent/service/solo-proxy`)).json()) as { Kind: string; Port: number; Proxy: { DestinationServiceName: string } };
    assert.equal(reg.Kind, "connect-proxy");
    assert.equal(reg.Port, listen);
    assert.equal(reg.Proxy.DestinationServiceName, "solo");
    await eventually("solo-proxy passing", async () => (await passingConnect(agent.base, "solo")) === 1);
    const client = await spawnProxy(agent.base, ["-service=caller", `-upstream=solo:${upstream}`]);
    proxies.push(client);
    assert.equal(await exchange(upstream, "hey"), "solo:hey");

    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    const gone = await fetch(`${agent.base}/v1/agent/service/solo-proxy`);
    await gone.text();
    assert.equal(gone.status, 404);
  });

  test("flags that the registration would override are refused with -sidecar-for", async () => {
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(process.execPath, [CONSULATE_BIN, "connect", "proxy", `-http-addr=${agent.base}`, "-sidecar-for=web", "-upstream=db:1234"], { timeout: 15_000 }, (err, stdout, stderr) => {
        resolve({ code: err && typeof err.code === "number" ? err.code : 0, text: stdout + stderr });
      });
    });
    assert.equal(out.code, 1);
    assert.match(out.text, /-upstream cannot be combined with -sidecar-for/);
  });
});
