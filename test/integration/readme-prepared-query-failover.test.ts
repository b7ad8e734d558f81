// README's "Several datacenters and prepared-query failover" block, run as written by bash:
// three single-server datacenters on loopback, a NearestN query in dc1 answered by another
// datacenter over HTTP and DNS, and by dc3 once dc2's server is killed. Only the loopback
// addresses (a random 127.x.y.0/24, so parallel runs do not collide on the fixed ports) and the
// data directory are changed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { randomLoopbackNet, readmeShellBlock, ReadmeScript } from "../support/readme-script.ts";

const script = new ReadmeScript("consulate-readme-dcs-");
after(() => script.stop());

test("the README's prepared-query failover between datacenters works when pasted into a shell", { timeout: 90_000 }, async () => {
  const original = readmeShellBlock("### Several datacenters and prepared-query failover");
  const net = randomLoopbackNet();
  const body = original.replaceAll("127.0.0.1", net).replaceAll("/tmp/consulate-dcs", join(script.dir, "data"));
  const { code, out } = await script.run(body, { timeoutMs: 75_000 });
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
