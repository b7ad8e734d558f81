import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { runCli } from "../unit/cli/run-cli.ts";

// `kv export` → `kv import` against a real agent reproduces the tree exactly: folder keys
// (trailing "/", empty value), empty values, binary values and the 64-bit flags that
// `consulate lock` and Go's api.Lock/api.Semaphore write.

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  await agent?.kill();
});

async function put(key: string, body: Blob | string, flags?: string): Promise<void> {
  const res = await fetch(`${agent.base}/v1/kv/${key}${flags === undefined ? "" : `?flags=${flags}`}`, { method: "PUT", body });
  assert.equal(res.status, 200);
}

void test("kv export/import - round trip keeps folder keys, empty and binary values, uint64 flags", async () => {
  const address = `127.0.0.1:${agent.httpPort}`;
  await put("app/", "");
  await put("app/dir/", "");
  await put("app/dir/empty", "");
  await put("app/bin", new Blob([new Uint8Array([0, 255, 10, 13, 60])]));
  await put("app/.lock", '{"Limit":2,"Holders":{}}', "16210313421097356768");
  await put("app/mutex/.lock", "", "3304740253564472344");
  await put("app/plain", "v", "42");

  const exported = await runCli(["kv", "export", "app"], { address });
  assert.equal(exported.code, 0, exported.err);
  assert.match(exported.out, /"flags": 16210313421097356768,/);
  assert.match(exported.out, /"flags": 3304740253564472344,/);
  assert.match(exported.out, /"key": "app\/dir\/",\n\t\t"flags": 0,\n\t\t"value": ""/);

  const wiped = await fetch(`${agent.base}/v1/kv/app?recurse`, { method: "DELETE" });
  assert.equal(wiped.status, 200);
  const imported = await runCli(["kv", "import", "-"], { address, stdin: exported.out });
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /^Imported: app\/\n/);
  assert.match(imported.out, /\nImported: app\/dir\/\n/);

  const again = await runCli(["kv", "export", "app"], { address });
  assert.equal(again.out, exported.out);

  const folder = await fetch(`${agent.base}/v1/kv/app/dir/`);
  assert.equal(folder.status, 200);
  const raw = await (await fetch(`${agent.base}/v1/kv/app/mutex/.lock`)).text();
  assert.match(raw, /"Flags":\s*3304740253564472344\b/);
});

void test("kv import - -prefix keeps the trailing slash of folder keys", async () => {
  const address = `127.0.0.1:${agent.httpPort}`;
  // Written as text: a JS number literal could not hold this flag value.
  const data = '[{"key":"f/","flags":0,"value":""},{"key":"f/x","flags":16210313421097356768,"value":"eA=="}]';
  const imported = await runCli(["kv", "import", "-prefix=moved", data], { address });
  assert.equal(imported.code, 0, imported.err);
  assert.equal(imported.out, "Imported: moved/f/\nImported: moved/f/x\n");
  const raw = await (await fetch(`${agent.base}/v1/kv/moved/f/x`)).text();
  assert.match(raw, /"Flags":\s*16210313421097356768\b/);
  assert.equal((await fetch(`${agent.base}/v1/kv/moved/f/`)).status, 200);
});
