import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort } from "../support/agent-process.ts";

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

interface ServerProcess {
  child: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<void>;
}

async function spawnServer(args: string[], httpPort: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CONSULATE_BIN, "agent", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const base = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${base}/v1/status/leader`);
      if (res.status === 200 && (await res.json()) !== "") return { child, base, output: () => out, exited };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not elect itself in time:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("server -bootstrap -data-dir keeps every acknowledged KV write across kill -9 and restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "consulate-raft-"));
  const httpPort = await freePort();
  const args = [
    "-server",
    "-bootstrap",
    `-data-dir=${dataDir}`,
    "-bind=127.0.0.1",
    "-client=127.0.0.1",
    "-node=raft-restart",
    `-http-port=${httpPort}`,
    "-dns-port=0",
    `-server-port=${await freePort()}`,
    `-serf-lan-port=${await freePort()}`,
    // No WAN pool: the default 8302 would race other test files for the port.
    "-serf-wan-port=-1",
  ];
  const first = await spawnServer(args, httpPort);
  const written = new Map<string, string>();
  for (let i = 0; i < 25; i++) {
    const key = `durable/${i}`;
    const value = `value-${i}-${"x".repeat(i * 10)}`;
    const res = await fetch(`${first.base}/v1/kv/${key}?flags=18446744073709551615`, { method: "PUT", body: value });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), true);
    written.set(key, value);
  }
  const nodeIdFile = join(dataDir, "node-id");
  assert.ok(existsSync(nodeIdFile), "the generated node id is kept in the data dir");
  const nodeId = readFileSync(nodeIdFile, "utf8");
  assert.ok(existsSync(join(dataDir, "raft")), "the Raft log lives under <data-dir>/raft");

  first.child.kill("SIGKILL");
  await first.exited;

  const second = await spawnServer(args, httpPort);
  const res = await fetch(`${second.base}/v1/kv/durable/?recurse&consistent`);
  assert.equal(res.status, 200);
  const entries = (await res.json()) as { Key: string; Value: string; Flags: number }[];
  assert.equal(entries.length, written.size);
  for (const e of entries) assert.equal(Buffer.from(e.Value, "base64").toString(), written.get(e.Key), e.Key);
  const raw = await (await fetch(`${second.base}/v1/kv/durable/3?raw`)).text();
  assert.equal(raw, written.get("durable/3"));
  assert.equal(readFileSync(nodeIdFile, "utf8"), nodeId, "the node keeps its id across restarts");
  const node = (await (await fetch(`${second.base}/v1/catalog/node/raft-restart`)).json()) as { Node: { ID: string } };
  assert.equal(node.Node.ID, nodeId);
  second.child.kill("SIGKILL");
  await second.exited;
});
