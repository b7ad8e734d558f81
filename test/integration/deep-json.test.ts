import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_JSON_NESTING_DEPTH } from "../../src/model/json-depth.ts";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

// Issue 12 item 3: a body nested deeper than we can encode is refused with 400 before anything
// is stored, on every decoding endpoint; the agent keeps working and what it acknowledged
// survives a restart.

const spawned = new Set<AgentProcess>();
after(async () => {
  for (const p of spawned) await p.kill();
});

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** A service registration whose Proxy.Config holds `depth` more levels (the body is 3 deeper). */
function proxyService(id: string, depth: number): string {
  return JSON.stringify({ ID: id, Name: id, Port: 8080, Kind: "connect-proxy", Proxy: { DestinationServiceName: "web", Config: { deep: "@" } } }).replace(
    '"@"',
    nested(depth),
  );
}

async function put(base: string, path: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, { method: "PUT", body });
  return { status: res.status, text: await res.text() };
}

test("deep JSON bodies get 400 everywhere; the agent still works and persists", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "consulate-deep-json-"));
  const httpPort = await freePort();
  const args = [
    "-server",
    "-bootstrap",
    `-data-dir=${dataDir}`,
    "-bind=127.0.0.1",
    "-client=127.0.0.1",
    "-node=deep-json",
    `-http-port=${httpPort}`,
    "-dns-port=-1",
    `-server-port=${await freePort()}`,
    `-serf-lan-port=${await freePort()}`,
    "-serf-wan-port=-1",
  ];
  const start = async (): Promise<AgentProcess> => {
    const p = await spawnAgent(args, {
      httpPort,
      timeoutMs: 20_000,
      ready: async (base) => (await fetch(`${base}/v1/status/leader`).then((r) => r.json())) !== "",
    });
    spawned.add(p);
    return p;
  };
  const first = await start();
  const base = first.base;

  for (const depth of [5_000, 100_000]) {
    const agentReg = await put(base, "/v1/agent/service/register", proxyService(`deep-${depth}`, depth));
    assert.equal(agentReg.status, 400, `agent register at ${depth}: ${agentReg.text}`);
    assert.match(agentReg.text, /^Request decode failed: invalid character '\[' exceeded max depth/);
    const catalogReg = await put(base, "/v1/catalog/register", `{"Node":"deep","Address":"10.0.0.1","Service":{"Service":"s","Meta":{},"Proxy":{"Config":{"x":${nested(depth)}}}}}`);
    assert.equal(catalogReg.status, 400, `catalog register at ${depth}`);
    const txn = await put(base, "/v1/txn", `[{"KV":{"Verb":"set","Key":"k","Value":"","X":${nested(depth)}}}]`);
    assert.equal(txn.status, 400, `txn at ${depth}`);
    const check = await put(base, "/v1/agent/check/register", `{"Name":"c","TTL":"10s","Extra":${nested(depth)}}`);
    assert.equal(check.status, 400, `check register at ${depth}`);
    const session = await put(base, "/v1/session/create", `{"Name":${nested(depth)}}`);
    assert.equal(session.status, 400, `session create at ${depth}`);
  }

  // As deep as the limit allows is accepted, read back and kept.
  const deepest = MAX_JSON_NESTING_DEPTH - 3;
  const ok = await put(base, "/v1/agent/service/register", proxyService("deepest", deepest));
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await put(base, "/v1/agent/service/register", proxyService("plain", 1))).status, 200);
  const services = await fetch(`${base}/v1/agent/services`);
  assert.equal(services.status, 200);
  const listed = (await services.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(listed).sort(), ["deepest", "plain"]);
  // Anti-entropy puts it in the catalog too (and can encode it there).
  await eventually("deepest in the catalog", async () => ((await fetch(`${base}/v1/catalog/service/deepest`).then((r) => r.json())) as unknown[]).length === 1);

  await first.kill("SIGTERM");
  const second = await start();
  const again = (await fetch(`${second.base}/v1/agent/services`).then((r) => r.json())) as Record<string, unknown>;
  assert.deepEqual(Object.keys(again).sort(), ["deepest", "plain"]);
  const leftovers = readdirSync(join(dataDir, "services")).filter((f) => f.endsWith(".tmp"));
  assert.deepEqual(leftovers, []);
  await second.kill("SIGTERM");
});
