import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { serviceFields } from "../unit/dns/catalog-fixture.ts";
import { startDnsTestAgent, type DnsTestAgent } from "./dns-support.ts";

// End to end with the real `dig` (Debian dnsutils): the contract as operators see it.
// dig runs as a child process, asynchronously, so the agent in this process keeps serving.

const run = promisify(execFile);
const digAvailable = spawnSync("dig", ["-v"], { stdio: "ignore" }).error === undefined;

let t: DnsTestAgent;

before(async () => {
  t = await startDnsTestAgent();
  for (let i = 1; i <= 3; i++) {
    await t.register({ node: `web-node-${i}`, nodeAddress: `10.1.0.${i}`, service: serviceFields(`web-${i}`, "web", { Port: 8000 + i }), serviceCheck: "passing" });
  }
});

after(async () => {
  await t.stop();
});

async function dig(...args: string[]): Promise<string> {
  assert.ok(digAvailable, "dig is not installed: install Debian's dnsutils (apt-get install -y dnsutils) to run the DNS end-to-end tests");
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(t.dns.udpPort), "+time=2", "+tries=1", ...args]);
  return stdout;
}

test("dig - dnsutils is installed", () => {
  assert.ok(digAvailable, "dig is not installed: install Debian's dnsutils (apt-get install -y dnsutils) to run the DNS end-to-end tests");
});

test("dig - web.service.consul A lists the registered instances; a failed check removes one", async () => {
  const before = (await dig("web.service.consul", "A", "+short")).trim().split("\n").sort();
  assert.deepEqual(before, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
  await t.register({ node: "web-node-2", nodeAddress: "10.1.0.2", service: serviceFields("web-2", "web", { Port: 8002 }), serviceCheck: "critical" });
  const afterFail = (await dig("web.service.consul", "A", "+short")).trim().split("\n").sort();
  assert.deepEqual(afterFail, ["10.1.0.1", "10.1.0.3"]);
  await t.register({ node: "web-node-2", nodeAddress: "10.1.0.2", service: serviceFields("web-2", "web", { Port: 8002 }), serviceCheck: "passing" });
});

test("dig - SRV answers have priority 1, weight 1, the port and a .node. target, flags qr aa", async () => {
  const out = await dig("web.service.consul", "SRV");
  assert.match(out, /flags: qr aa rd;/);
  assert.match(out, /status: NOERROR/);
  const srv = out.split("\n").filter((l) => /\sIN\s+SRV\s/.test(l));
  assert.equal(srv.length, 3);
  for (const line of srv) assert.match(line, /^web\.service\.consul\.\s+0\s+IN\s+SRV\s+1 1 800[1-3] web-node-[1-3]\.node\.dc1\.consul\.$/);
  assert.match(out, /web-node-1\.node\.dc1\.consul\.\s+0\s+IN\s+A\s+10\.1\.0\.1/);
});

test("dig - unknown service is NXDOMAIN with the SOA in authority", async () => {
  const out = await dig("nosuch.service.consul");
  assert.match(out, /status: NXDOMAIN/);
  assert.match(out, /^consul\.\s+0\s+IN\s+SOA\s+ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/m);
});

test("dig - TCP (+tcp) answers the same question", async () => {
  const out = (await dig("+tcp", "web.service.consul", "A", "+short")).trim().split("\n").sort();
  assert.deepEqual(out, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
});

test("dig - node lookup and reverse lookup", async () => {
  assert.equal((await dig("web-node-1.node.consul", "+short")).trim(), "10.1.0.1");
  assert.equal((await dig("-x", "10.1.0.3", "+short")).trim(), "web-node-3.node.dc1.consul.");
});
