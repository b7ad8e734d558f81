import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

const started: AgentProcess[] = [];
after(async () => {
  for (const a of started) await a.kill();
});

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test("agent -dev prints consul's banner and 'Consul agent running!', then serves the API", async () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-"));
  const pidFile = join(dir, "agent.pid");
  const agent = await spawnDevAgent(["-node=banner-node", `-pid-file=${pidFile}`, "-node-meta=rack:r1"]);
  started.push(agent);
  const out = agent.output();
  assert.match(out, /==> Starting Consul agent\.\.\./);
  assert.match(out, / {12}Node name: 'banner-node'/);
  assert.match(out, / {11}Datacenter: 'dc1' \(Segment: '<all>'\)/);
  assert.match(out, / {15}Server: true \(Bootstrap: false\)/);
  assert.match(out, /Client Addr: \[127\.0\.0\.1\] \(HTTP: \d+,/);
  assert.match(out, /Cluster Addr: 127\.0\.0\.1 \(LAN: \d+, WAN: \d+\)/);
  // The HTTP API answers before start-up ends (the cluster and DNS listeners open after it, then
  // the pid file and this line, which goes out in a batch): waited for, not slept for.
  await eventually("the running line", () => Promise.resolve(/\[INFO\] {2}agent: Consul agent running!/.test(agent.output())), 10_000, 20);
  assert.equal(readFileSync(pidFile, "utf8"), String(agent.child.pid));

  assert.match((await (await fetch(`${agent.base}/v1/status/leader`)).json()) as string, /^127\.0\.0\.1:\d+$/);
  const nodes = (await (await fetch(`${agent.base}/v1/catalog/nodes`)).json()) as { Node: string; Meta: Record<string, string> }[];
  assert.equal(nodes[0]?.Node, "banner-node");
  assert.equal(nodes[0]?.Meta.rack, "r1");

  // A server skips leave on interrupt (cli.md §2 Signals): it shuts down and exits 1.
  const code = await agent.kill("SIGINT");
  assert.equal(code, 1);
  assert.equal(existsSync(pidFile), false);
});

test("agent: an unknown config key stops start-up naming the key and the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-"));
  const file = join(dir, "bad.json");
  writeFileSync(file, JSON.stringify({ datacenter: "dc1", not_a_key: true }));
  const { code, out } = await run(["agent", "-dev", `-config-file=${file}`]);
  assert.equal(code, 1);
  assert.match(out, /not_a_key/);
  assert.ok(out.includes(file), out);
});

test("agent: an HCL config file sets the node name and datacenter", async () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-"));
  const file = join(dir, "agent.hcl");
  writeFileSync(file, 'node_name = "from-hcl"\ndatacenter = "east"\n');
  const agent = await spawnDevAgent([`-config-file=${file}`]);
  started.push(agent);
  const nodes = (await (await fetch(`${agent.base}/v1/catalog/nodes`)).json()) as { Node: string; Datacenter: string }[];
  assert.equal(nodes[0]?.Node, "from-hcl");
  assert.equal(nodes[0]?.Datacenter, "east");
  await agent.kill();
});

test("agent: PUT /v1/agent/leave makes the agent exit 0 after a graceful leave", async () => {
  const agent = await spawnDevAgent();
  started.push(agent);
  const res = await fetch(`${agent.base}/v1/agent/leave`, { method: "PUT" });
  assert.equal(res.status, 200);
  assert.equal(await agent.exited, 0);
});
