// README's "Several datacenters and prepared-query failover" block, run as written by bash:
// three single-server datacenters on loopback, a NearestN query in dc1 answered by another
// datacenter over HTTP and DNS, and by dc3 once dc2's server is killed. Only the loopback
// addresses (a random 127.x.y.0/24, so parallel runs do not collide on the fixed ports) and the
// data directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN } from "../support/agent-process.ts";

const README = new URL("../../README.md", import.meta.url);
const HEADING = "### Several datacenters and prepared-query failover";

function readmeScript(): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.indexOf(HEADING);
  assert.ok(section >= 0, `README has a '${HEADING}' section`);
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(match, "the section has a sh block");
  return match[1];
}

let script: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), "consulate-readme-dcs-"));

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

test("the README's prepared-query failover between datacenters works when pasted into a shell", { timeout: 90_000 }, async () => {
  const original = readmeScript();
  const net = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.`;
  const body = original.replaceAll("127.0.0.1", net).replaceAll("/tmp/consulate-dcs", join(dir, "data"));
  const binDir = join(dir, "bin");
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
  // Before the kill: another datacenter answered, counted as one failover.
  assert.match(out, /"Datacenter":"dc[23]","PeerName":"","Failovers":1/, out.slice(-4000));
  // After it: dc3, over HTTP and DNS.
  assert.match(out, /^"Datacenter":"dc3"$/m);
  const digs = out.split("\n").filter((l) => /^10\.0\.0\.\d$/.test(l));
  assert.equal(digs.length, 2, out.slice(-4000));
  assert.match(digs[0], /^10\.0\.0\.[23]$/);
  assert.equal(digs[1], "10.0.0.3");
});
