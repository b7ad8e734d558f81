// README's "A cluster / With TLS" block, run as written by bash: `consulate tls` makes the CA and
// certificates, three servers and a client agent start with internal_rpc verify_incoming /
// verify_outgoing / verify_server_hostname and HTTPS only, and the CLI writes and reads a key
// over HTTPS with a -cli certificate. Only the loopback addresses (a random 127.x.y.0/24, so
// parallel runs and other tests on 127.0.0.x do not collide on the fixed ports) and the
// directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN } from "../support/agent-process.ts";

const README = new URL("../../README.md", import.meta.url);

function readmeTlsClusterScript(): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.indexOf("### With TLS");
  assert.ok(section >= 0, "README has a '### With TLS' section");
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(match, "the With TLS section has a sh block");
  return match[1];
}

let script: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), "consulate-readme-tls-"));

after(() => {
  // The agents run in the background of the script's process group: end the whole group.
  if (script?.pid !== undefined) {
    try {
      process.kill(-script.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test("the README's TLS cluster works when pasted into a shell", { timeout: 90_000 }, async () => {
  const original = readmeTlsClusterScript();
  assert.match(original, /consulate tls ca create/);
  assert.match(original, /verify_server_hostname = true/);
  assert.match(original, /CONSUL_HTTP_ADDR=https:\/\//);

  const net = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.`;
  const body = original.replaceAll("127.0.0.", net).replaceAll("/tmp/consulate-tls-cluster", join(dir, "tls"));
  const binDir = join(dir, "bin");
  // `consulate` on PATH, as the README asks.
  mkdirSync(binDir);
  symlinkSync(CONSULATE_BIN, join(binDir, "consulate"));

  script = spawn("bash", ["-e", "-c", body], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` },
  });
  let out = "";
  script.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  script.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const child = script;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 75_000);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, `script failed (${code}):\n${out.slice(-4000)}`);

  // `consulate members` over HTTPS lists the three servers and the client, all alive.
  for (const [node, type] of [["s1", "server"], ["s2", "server"], ["s3", "server"], ["c1", "client"]]) {
    assert.match(out, new RegExp(`^${node}\\s+${net.replaceAll(".", "\\.")}\\d:8301\\s+alive\\s+${type}\\s`, "m"), out.slice(-4000));
  }
  // The key written through the client agent is read back from another server over HTTPS.
  assert.match(out, /^Success! Data written to: hello$/m);
  assert.match(out, /^world$/m);
  // Agents dialled each other over TLS: a server refuses plaintext RPC with verify_incoming, so
  // the write could not have reached the leader otherwise; and no handshake failed.
  assert.doesNotMatch(out, /handshake failed|certificate verify failed|bad certificate/i);
});
