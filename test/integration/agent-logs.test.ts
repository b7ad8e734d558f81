// What an operator reads: debug lines at -log-level=debug, every check going critical at WARN
// with its ID and output (Consul's wording), syncs and a snapshot restore at INFO.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

const running: AgentProcess[] = [];
after(async () => {
  for (const a of running) await a.kill();
});

void test("agent logs: debug lines, check state changes at WARN with ID and output, syncs and snapshot restore", async () => {
  const logDir = mkdtempSync(join(tmpdir(), "consulate-logs-"));
  const agent = await spawnDevAgent(["-log-level=debug", `-log-file=${logDir}/`]);
  running.push(agent);
  const closed = await freePort();
  const put = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${agent.base}${path}`, { method: "PUT", body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.text());
  };
  await put("/v1/agent/check/register", { ID: "web-http", Name: "web-http", HTTP: `http://127.0.0.1:${closed}/health`, Interval: "1s" });
  await put("/v1/agent/check/register", { ID: "web-tcp", Name: "web-tcp", TCP: `127.0.0.1:${closed}`, Interval: "1s" });

  await eventually("both checks logged critical", () => Promise.resolve(/Check is now critical: check=web-http output=/.test(agent.output()) && /Check is now critical: check=web-tcp output=/.test(agent.output())), 10_000);
  const out = agent.output();
  assert.match(out, /\[WARN\] {2}agent: Check is now critical: check=web-tcp output="dial tcp 127\.0\.0\.1:\d+: connect: connection refused"/);
  assert.match(out, /\[INFO\] {2}agent: Synced check: check=web-http/);
  assert.match(out, /\[DEBUG\] agent\.http: Request finished: method=PUT url=\/v1\/agent\/check\/register from=127\.0\.0\.1:\d+ latency=\d+ms/);

  // A token in the query string is hidden from the debug line.
  await (await fetch(`${agent.base}/v1/kv/x?token=s3cr3t-token`)).arrayBuffer();
  await eventually("the kv request logged", () => Promise.resolve(agent.output().includes("url=/v1/kv/x?token=<hidden>")), 5_000);
  assert.doesNotMatch(agent.output(), /s3cr3t-token/);

  // Snapshot restore is logged.
  const snap = await fetch(`${agent.base}/v1/snapshot`);
  assert.equal(snap.status, 200);
  const archive = Buffer.from(await snap.arrayBuffer());
  const restored = await fetch(`${agent.base}/v1/snapshot`, { method: "PUT", body: archive });
  assert.equal(restored.status, 200, await restored.text());
  await eventually("restore logged", () => Promise.resolve(/\[INFO\] {2}raft: restored user snapshot: index=\d+ bytes=\d+/.test(agent.output())), 5_000);

  // -log-file gets the same lines (consul.log in a directory).
  const written = readFileSync(join(logDir, "consul.log"), "utf8");
  assert.match(written, /agent: Check is now critical: check=web-tcp/);
  assert.match(written, /raft: restored user snapshot/);
});
