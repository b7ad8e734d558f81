import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN } from "../support/agent-process.ts";

// README's "Federating datacenters" block, run by bash as written, with its two addresses and
// the data directory changed in the first two lines (a random loopback /24, so parallel runs and
// the agents' default ports never collide).

test("README: the federation snippet works when pasted", async (t) => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const snippet = /## Federating datacenters[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet, "README has a federation snippet");
  const net = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const data = mkdtempSync(join(tmpdir(), "consulate-readme-wan-"));
  const lines = snippet.split("\n");
  assert.match(lines[0] ?? "", /^D1=\S+ D2=\S+$/);
  assert.match(lines[1] ?? "", /^DATA=/);
  lines[0] = `D1=${net}.11 D2=${net}.12`;
  lines[1] = `DATA=${data}`;
  const script = [`npx() { shift; node ${JSON.stringify(CONSULATE_BIN)} "$@"; }`, "set -e", ...lines, "echo SNIPPET-DONE"].join("\n");
  const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  t.after(() => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    rmSync(data, { recursive: true, force: true });
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const done = await new Promise<boolean>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      resolve(false);
    }, 60_000);
    const check = (): void => {
      if (timedOut) return;
      if (out.includes("SNIPPET-DONE")) {
        clearTimeout(timer);
        resolve(true);
      } else setTimeout(check, 200);
    };
    check();
  });
  assert.ok(done, out);
  const at = (n: number): string => `${net}.${n}`.replaceAll(".", "\\.");
  assert.match(out, new RegExp(`east\\.dc1\\s+${at(11)}:8302\\s+alive\\s+server`));
  assert.match(out, new RegExp(`west\\.dc2\\s+${at(12)}:8302\\s+alive\\s+server`));
  // The PUT through dc1 prints `true`; the read in dc2 and `kv get -datacenter dc2` in dc1 print `west`; dig the address.
  assert.match(out, /^true$/m);
  assert.equal(out.match(/^west$/gm)?.length, 2, out);
  assert.match(out, new RegExp(`^${at(12)}$`, "m"));
});
