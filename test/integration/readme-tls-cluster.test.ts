// README's "A cluster / With TLS" block, run as written by bash: `consulate tls` makes the CA and
// certificates, three servers and a client agent start with internal_rpc verify_incoming /
// verify_outgoing / verify_server_hostname and HTTPS only, and the CLI writes and reads a key
// over HTTPS with a -cli certificate. Only the loopback addresses (a random 127.x.y.0/24, so
// parallel runs and other tests on 127.0.0.x do not collide on the fixed ports) and the
// directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { randomLoopbackNet, readmeShellBlock, ReadmeScript } from "../support/readme-script.ts";

const script = new ReadmeScript("consulate-readme-tls-");
after(() => script.stop());

test("the README's TLS cluster works when pasted into a shell", { timeout: 90_000 }, async () => {
  const original = readmeShellBlock("### With TLS");
  assert.match(original, /consulate tls ca create/);
  assert.match(original, /verify_server_hostname = true/);
  assert.match(original, /CONSUL_HTTP_ADDR=https:\/\//);

  const net = randomLoopbackNet();
  const body = original.replaceAll("127.0.0.", net).replaceAll("/tmp/consulate-tls-cluster", join(script.dir, "tls"));

  const { code, out } = await script.run(body, { timeoutMs: 75_000 });
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
