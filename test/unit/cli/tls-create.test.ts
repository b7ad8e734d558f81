// `consulate tls ca create` / `tls cert create`: Consul's file names, messages and certificate contents.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCaCreate, makeCertCreate } from "../../../src/cli/tls.ts";
import { captureIO } from "./fake-consul.ts";

let dir: string;
const NOW = new Date("2026-01-15T12:00:00Z");
const env = { cwd: () => dir, now: () => NOW };

async function run(command: "ca" | "cert", args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO({}, "");
  const code = await (command === "ca" ? makeCaCreate(env) : makeCertCreate(env))(args, io);
  return { code, out: io.out(), err: io.err() };
}

function cert(name: string): X509Certificate {
  return new X509Certificate(readFileSync(join(dir, name)));
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "consulate-tls-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

void test("tls ca create - writes consul-agent-ca.pem and its key, refuses to overwrite", async () => {
  const r = await run("ca", []);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n");
  const ca = cert("consul-agent-ca.pem");
  assert.equal(ca.ca, true);
  assert.match(ca.subject, /^C=US\nO=HashiCorp Inc\.\nL=San Francisco\nST=CA\nstreet=101 Second Street\npostalCode=94105\nCN=Consul Agent CA \d+$/);
  assert.equal(ca.subject, ca.issuer);
  assert.equal(new Date(ca.validFrom).getTime(), Math.floor(NOW.getTime() / 1000) * 1000);
  assert.equal(new Date(ca.validTo).getTime() - new Date(ca.validFrom).getTime(), 1825 * 86_400_000);
  assert.ok(ca.serialNumber.length <= 34, ca.serialNumber); // < 2^128, maybe with a sign byte
  const key = createPrivateKey(readFileSync(join(dir, "consul-agent-ca-key.pem")));
  assert.equal(key.asymmetricKeyType, "ec");
  assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.match(readFileSync(join(dir, "consul-agent-ca-key.pem"), "utf8"), /^-----BEGIN EC PRIVATE KEY-----\n/);
  assert.equal(statSync(join(dir, "consul-agent-ca-key.pem")).mode & 0o777, 0o600);
  assert.ok(ca.checkPrivateKey(key));

  const again = await run("ca", []);
  assert.equal(again.code, 1);
  assert.equal(again.err, "consul-agent-ca.pem already exists.\n");
});

void test("tls cert create -server - SANs, EKUs, file names numbered from 0, the server warning", async () => {
  const r = await run("cert", ["-server", "-additional-dnsname=consul.example.com", "-additional-ipaddress=10.1.2.3", "-node=web1"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    `==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys.
==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
==> Saved dc1-server-consul-0.pem
==> Saved dc1-server-consul-0-key.pem
`,
  );
  const c = cert("dc1-server-consul-0.pem");
  assert.equal(c.subject, "CN=server.dc1.consul");
  assert.equal(c.subjectAltName, "DNS:consul.example.com, DNS:web1.server.dc1.consul, DNS:server.dc1.consul, DNS:localhost, IP Address:10.1.2.3, IP Address:127.0.0.1");
  assert.deepEqual(c.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  assert.equal(c.ca, false);
  assert.ok(c.checkIssued(cert("consul-agent-ca.pem")));
  assert.ok(c.verify(cert("consul-agent-ca.pem").publicKey));
  assert.equal(new Date(c.validTo).getTime() - new Date(c.validFrom).getTime(), 365 * 86_400_000);
  assert.ok(c.checkPrivateKey(createPrivateKey(readFileSync(join(dir, "dc1-server-consul-0-key.pem")))));
  assert.equal(statSync(join(dir, "dc1-server-consul-0-key.pem")).mode & 0o777, 0o600);

  const second = await run("cert", ["-server", "-days=10"]);
  assert.match(second.out, /==> Saved dc1-server-consul-1\.pem\n==> Saved dc1-server-consul-1-key\.pem\n$/);
  assert.equal(cert("dc1-server-consul-1.pem").subjectAltName, "DNS:server.dc1.consul, DNS:localhost, IP Address:127.0.0.1");
});

void test("tls cert create -client / -cli, -dc and -domain shape names and files", async () => {
  const client = await run("cert", ["-client", "-dc=east", "-additional-dnsname=extra.example"]);
  assert.equal(client.code, 0, client.err);
  assert.equal(client.out, "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem\n==> Saved east-client-consul-0.pem\n==> Saved east-client-consul-0-key.pem\n");
  const c = cert("east-client-consul-0.pem");
  assert.equal(c.subject, "CN=client.east.consul");
  assert.equal(c.subjectAltName, "DNS:extra.example, DNS:client.east.consul, DNS:localhost, IP Address:127.0.0.1");
  assert.deepEqual(c.keyUsage, ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]);

  const cli = await run("cert", ["-cli", "-additional-dnsname=dropped.example"]);
  assert.equal(cli.code, 0, cli.err);
  const k = cert("dc1-cli-consul-0.pem");
  assert.equal(k.subject, "CN=cli.dc1.consul");
  assert.equal(k.subjectAltName, "DNS:cli.dc1.consul, DNS:localhost");

  const otherDomain = await run("cert", ["-server", "-domain=example"]);
  assert.equal(otherDomain.code, 1);
  assert.equal(otherDomain.err, "Error reading CA: open example-agent-ca.pem: no such file or directory\n");
  const explicit = await run("cert", ["-server", "-domain=example", "-ca=consul-agent-ca.pem", "-key=consul-agent-ca-key.pem"]);
  assert.equal(explicit.code, 0, explicit.err);
  assert.equal(cert("dc1-server-example-0.pem").subject, "CN=server.dc1.example");
});

void test("tls cert create - usage errors read as Consul's", async () => {
  assert.deepEqual(await run("cert", []), { code: 1, out: "", err: "Please provide either -server, -client, or -cli\n" });
  assert.deepEqual(await run("cert", ["-server", "-client"]), { code: 1, out: "", err: "Please provide either -server, -client, or -cli\n" });
  assert.deepEqual(await run("cert", ["-client", "-node=n1"]), { code: 1, out: "", err: "-node requires -server\n" });
  const badKey = await run("cert", ["-client", "-key=consul-agent-ca.pem"]);
  assert.equal(badKey.code, 1);
  assert.match(badKey.err, /unknown PEM block type for signing key: CERTIFICATE/);
});
