// The CLI end to end: the real launcher (bin/consulate.js) against a real `agent -dev`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { CONSULATE_BIN, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  await agent.kill();
});

function cli(args: string[], stdin = ""): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], {
      env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.end(stdin);
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

void test("cli - kv put, get, export, import and delete round-trip through a dev agent", async () => {
  assert.deepEqual(await cli(["kv", "put", "app/name", "web"]), { code: 0, out: "Success! Data written to: app/name\n", err: "" });
  assert.deepEqual(await cli(["kv", "get", "app/name"]), { code: 0, out: "web\n", err: "" });
  const exported = await cli(["kv", "export", "app"]);
  assert.equal(exported.code, 0);
  const entries = JSON.parse(exported.out) as { key: string; value: string }[];
  assert.deepEqual(entries, [{ key: "app/name", flags: 0, value: Buffer.from("web").toString("base64") }]);
  const imported = await cli(["kv", "import", "-prefix=copy", "-"], exported.out);
  assert.deepEqual(imported, { code: 0, out: "Imported: copy/app/name\n", err: "" });
  assert.equal((await cli(["kv", "get", "copy/app/name"])).out, "web\n");
  assert.equal((await cli(["kv", "delete", "-recurse", "copy"])).out, "Success! Deleted keys with prefix: copy\n");
  const missing = await cli(["kv", "get", "copy/app/name"]);
  assert.deepEqual(missing, { code: 1, out: "", err: "Error! No key exists at: copy/app/name\n" });
});

void test("cli - kv put -cas with a stale index fails with consul's message", async () => {
  await cli(["kv", "put", "cas/key", "1"]);
  const r = await cli(["kv", "put", "-cas", "-modify-index=1", "cas/key", "2"]);
  assert.deepEqual(r, { code: 1, out: "", err: "Error! Did not write to cas/key: CAS failed\n" });
});

void test("cli - catalog datacenters and nodes list the dev agent", async () => {
  assert.deepEqual(await cli(["catalog", "datacenters"]), { code: 0, out: "dc1\n", err: "" });
  const nodes = await cli(["catalog", "nodes"]);
  assert.equal(nodes.code, 0);
  assert.match(nodes.out, /^Node +ID +Address +DC\n\S+ +[0-9a-f]{8} +127\.0\.0\.1 +dc1\n$/);
});
