// README's "Securing an agent" block, run as written by bash: a -dev agent with ACLs on and
// default deny, `consulate acl bootstrap`, a policy made with curl and one with the CLI, a token
// linked to both, and that token allowed under app/ and refused elsewhere. Only the loopback
// address (a random 127.x.y.z, so the fixed ports never collide with other tests) and the
// directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { randomLoopbackNet, readmeShellBlock, ReadmeScript } from "../support/readme-script.ts";

const script = new ReadmeScript("consulate-readme-acl-");
after(() => script.stop());

test("the README's ACL walk-through works when pasted into a shell", { timeout: 60_000 }, async () => {
  const original = readmeShellBlock("## Securing an agent");
  assert.match(original, /default_policy = "deny"/);
  assert.match(original, /consulate acl bootstrap/);
  assert.match(original, /consulate acl policy create/);
  assert.match(original, /consulate acl token create/);

  const addr = `${randomLoopbackNet()}${2 + Math.floor(Math.random() * 250)}`;
  const body = original.replaceAll("127.0.0.1", addr).replaceAll("/tmp/consulate-acl", join(script.dir, "acl"));

  const { code, out } = await script.run(body, { timeoutMs: 45_000, env: { CONSUL_HTTP_TOKEN: "", CONSUL_HTTP_ADDR: "" } });
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
