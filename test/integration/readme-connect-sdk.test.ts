// README's Connect-native SDK example, run as written against a real dev agent: only the
// agent address, the server's port and the package import (the sources instead of the built
// bundle) are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));

function readmeSdkExample(): string {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const section = readme.indexOf("## Service mesh: sidecars and the Node SDK");
  assert.ok(section >= 0, "README has the service mesh section");
  const match = /```js\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(match, "the section has a js block");
  return match[1];
}

let agent: AgentProcess | undefined;
after(async () => {
  await agent?.kill();
});

test("the README's Connect-native SDK example prints the answer it promises", { timeout: 60_000 }, async () => {
  const original = readmeSdkExample();
  assert.match(original, /from "consulate"/);
  agent = await spawnDevAgent(["-dns-port=-1"]);
  const port = await freePort();
  const script = original
    .replace('from "consulate"', `from ${JSON.stringify(join(repo, "src", "mod.ts"))}`)
    .replace('"http://127.0.0.1:8500"', JSON.stringify(agent.base))
    .replaceAll("9443", String(port));
  const file = join(repo, "tmp", `readme-connect-sdk-${process.pid}.mts`);
  const { mkdirSync, rmSync } = await import("node:fs");
  mkdirSync(join(repo, "tmp"), { recursive: true });
  writeFileSync(file, script);
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", file], { cwd: repo, timeout: 45_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      });
    });
    assert.equal(out.trim(), "200 api saw /hello");
  } finally {
    rmSync(file, { force: true });
  }
});
