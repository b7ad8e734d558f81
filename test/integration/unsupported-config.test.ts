// Keys Consulate accepts in the schema but does not honour stop a real agent process (and
// `consulate validate`) before anything listens, naming the key and the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort } from "../support/agent-process.ts";

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

const dir = mkdtempSync(join(tmpdir(), "consulate-unsupported-"));

test("agent: an ACL key with no effect (acl.msp_disable_bootstrap) refuses to start, naming the key and the file; nothing listens", async () => {
  const file = join(dir, "acl.hcl");
  writeFileSync(file, 'acl {\n  enabled = true\n  default_policy = "deny"\n  msp_disable_bootstrap = true\n}\n');
  const httpPort = await freePort();
  const { code, out } = await run(["agent", "-dev", `-http-port=${httpPort}`, "-dns-port=-1", `-config-file=${file}`]);
  assert.equal(code, 1);
  assert.match(out, /acl\.msp_disable_bootstrap = true \(set in [^)]*acl\.hcl\) is not supported by Consulate yet: /);
  assert.doesNotMatch(out, /Consul agent running/);
  await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/v1/status/leader`));
});

test("agent: the legacy acl_datacenter key naming another datacenter (ACLs as a secondary) is refused, also from -hcl", async () => {
  const { code, out } = await run(["agent", "-dev", "-http-port=-1", "-dns-port=-1", "-hcl", 'acl_datacenter = "dc0"']);
  assert.equal(code, 1);
  assert.match(out, /acl\.enabled \(written as acl_datacenter\) = true \(set in flags-0\.hcl\) is not supported by Consulate yet: ACLs in a secondary datacenter/);
});

test("validate: reports the refused key and file and exits 1; acl.enabled = true is valid", async () => {
  const bad = join(dir, "acl.json");
  writeFileSync(bad, JSON.stringify({ data_dir: dir, bind_addr: "127.0.0.1", acl: { enabled: true, msp_disable_bootstrap: true } }));
  const refused = await run(["validate", bad]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.out.trim(),
    `Config validation failed: acl.msp_disable_bootstrap = true (set in ${bad}) is not supported by Consulate yet: managed service provider tokens are not implemented (an HCP feature)`,
  );
  const good = join(dir, "acl-on.json");
  writeFileSync(good, JSON.stringify({ data_dir: dir, bind_addr: "127.0.0.1", acl: { enabled: true, default_policy: "deny", tokens: { initial_management: "root" } } }));
  const accepted = await run(["validate", good]);
  assert.equal(accepted.code, 0, accepted.out);
  assert.match(accepted.out, /Configuration is valid!/);
});
