// Cached authorize decisions: one agent call per client identity for at most 1 s, dropped at
// once on invalidate() (an intentions change), shared by concurrent connections, and failing
// closed when the agent cannot answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AgentClient } from "../../../src/connect/mesh/agent-client.ts";
import { AuthorizeCache } from "../../../src/connect/mesh/authorize-cache.ts";
import type { Clock } from "../../../src/runtime/clock.ts";

let server: http.Server;
let base = "";
let calls = 0;
let allow = true;
const bodies: unknown[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      calls++;
      bodies.push(JSON.parse(body));
      if (req.headers["x-consul-token"] === "broken") {
        res.writeHead(500).end("boom");
        return;
      }
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ Authorized: allow, Reason: allow ? "Matched intention: web => db (allow)" : "Matched intention: web => db (deny)" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return { now: () => now, monotonicMs: () => now, setTimer: () => ({ cancel: () => undefined }), advance: (ms) => (now += ms) };
}

const WEB = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web";

test("a decision is reused for 1 s, shared by concurrent callers, then asked again", async () => {
  calls = 0;
  allow = true;
  const clock = fakeClock();
  const cache = new AuthorizeCache(new AgentClient(base, ""), "db", clock);
  const decisions = await Promise.all([cache.authorize(WEB, "0a"), cache.authorize(WEB, "0a"), cache.authorize(WEB, "0a")]);
  assert.deepEqual(decisions.map((d) => d.authorized), [true, true, true]);
  assert.equal(calls, 1);
  assert.deepEqual(bodies.at(-1), { Target: "db", ClientCertURI: WEB, ClientCertSerial: "0a" });
  clock.advance(999);
  await cache.authorize(WEB, "0a");
  assert.equal(calls, 1);
  allow = false;
  clock.advance(2);
  assert.equal((await cache.authorize(WEB, "0a")).authorized, false);
  assert.equal(calls, 2);
});

test("invalidate() drops cached decisions at once", async () => {
  calls = 0;
  allow = true;
  const cache = new AuthorizeCache(new AgentClient(base, ""), "db", fakeClock());
  assert.equal((await cache.authorize(WEB, "0a")).authorized, true);
  allow = false;
  cache.invalidate();
  assert.equal((await cache.authorize(WEB, "0a")).authorized, false);
  assert.equal(calls, 2);
});

test("an agent that cannot answer authorises nothing, and the failure is not cached", async () => {
  calls = 0;
  const cache = new AuthorizeCache(new AgentClient(base, "broken"), "db", fakeClock());
  const d = await cache.authorize(WEB, "0a");
  assert.equal(d.authorized, false);
  assert.match(d.reason, /authorize call failed/);
  await cache.authorize(WEB, "0a");
  assert.equal(calls, 2);
});
