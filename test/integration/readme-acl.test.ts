// README's "Securing an agent" block, run as written by bash: a -dev agent with ACLs on and
// default deny, `consulate acl bootstrap`, a policy made with curl and one with the CLI, a token
// linked to both, and that token allowed under app/ and refused elsewhere. Only the loopback
// address (a random 127.x.y.z, so the fixed ports never collide with other tests) and the
// directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN } from "../support/agent-process.ts";

const README = new URL("../../README.md", import.meta.url);

function readmeAclScript(): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.indexOf("## Securing an agent");
  assert.ok(section >= 0, "README has a '## Securing an agent' section");
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(match, "the Securing an agent section has a sh block");
  return match[1];
}

let script: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), "consulate-readme-acl-"));

after(() => {
  // The agent runs in the background of the script's process group: end the whole group.
  if (script?.pid !== undefined) {
    try {
      process.kill(-script.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test("the README's ACL walk-through works when pasted into a shell", { timeout: 60_000 }, async () => {
  const original = readmeAclScript();
  assert.match(original, /default_policy = "deny"/);
  assert.match(original, /consulate acl bootstrap/);
  assert.match(original, /consulate acl policy create/);
  assert.match(original, /consulate acl token create/);

  const addr = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
  const body = original.replaceAll("127.0.0.1", addr).replaceAll("/tmp/consulate-acl", join(dir, "acl"));
  const binDir = join(dir, "bin");
  mkdirSync(binDir);
  symlinkSync(CONSULATE_BIN, join(binDir, "consulate"));

  // The agent keeps running after the block; the script ends once its last command has answered.
  script = spawn("bash", ["-e", "-c", body], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}`, CONSUL_HTTP_TOKEN: "", CONSUL_HTTP_ADDR: "" },
  });
  let out = "";
  script.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  script.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const child = script;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 45_000);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, `script failed (${code}):\n${out.slice(-4000)}`);

  assert.match(out, /ACL Enabled: true/);
  // The CLI made the shared policy; the token's KV write under app/ succeeded.
  assert.match(out, /^Name:\s+shared$/m);
  assert.match(out, /^Success! Data written to: app\/config$/m);
  // curl: the write answered true, the read gave the value back (a log line may follow directly).
  assert.match(out, /^true$/m);
  assert.match(out, /^world/m);
  // Outside its policies the token is refused, and so is a request without a token.
  assert.match(out, /^Permission denied: token with AccessorID '[0-9a-f-]{36}' lacks permission 'key:write' on "secret"/m);
  assert.match(out, /^anonymous read: 403$/m);
});
