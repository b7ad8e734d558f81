import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startDevAgent, type DevAgent } from "../../../src/mod.ts";
import { eventually } from "../../support/eventually.ts";

const run = promisify(execFile);

interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: { ID: string; Name: string; SerialNumber: number; SigningKeyID: string; RootCert: string; IntermediateCerts: string[] | null; Active: boolean; PrivateKeyType: string; PrivateKeyBits: number; NotBefore: string; NotAfter: string; CreateIndex: number; ModifyIndex: number }[];
}

interface Leaf {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  Namespace: string;
  CreateIndex: number;
  ModifyIndex: number;
}

async function getJson<T>(url: string): Promise<{ body: T; index: number; status: number }> {
  const res = await fetch(url);
  const text = await res.text();
  return { body: (res.status === 200 ? JSON.parse(text) : text) as T, index: Number(res.headers.get("x-consul-index")), status: res.status };
}

/** `openssl verify` of the leaf (first PEM of CertPEM) against the roots, with any further PEMs as untrusted intermediates. */
async function opensslVerify(dir: string, rootsPem: string, certPem: string): Promise<string> {
  const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  await writeFile(join(dir, "roots.pem"), rootsPem);
  await writeFile(join(dir, "leaf.pem"), blocks[0] ?? "");
  const args = ["verify", "-CAfile", join(dir, "roots.pem")];
  if (blocks.length > 1) {
    await writeFile(join(dir, "chain.pem"), blocks.slice(1).join(""));
    args.push("-untrusted", join(dir, "chain.pem"));
  }
  args.push(join(dir, "leaf.pem"));
  const { stdout } = await run("openssl", args);
  return stdout;
}

describe("Connect CA over HTTP (dev agent)", () => {
  let agent: DevAgent;
  let dir: string;

  before(async () => {
    agent = await startDevAgent({ dnsPort: -1 });
    dir = await mkdtemp(join(tmpdir(), "consulate-connect-"));
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("initialises an EC P-256 root with a SPIFFE trust domain and Consul's roots shape", async () => {
    await eventually("the CA to initialise", async () => (await getJson<Roots>(`${agent.httpAddress}/v1/connect/ca/roots`)).body.Roots.length === 1);
    const roots = await getJson<Roots>(`${agent.httpAddress}/v1/connect/ca/roots`);
    const { body } = roots;
    assert.match(body.TrustDomain, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.consul$/);
    const root = body.Roots[0];
    assert.equal(body.ActiveRootID, root.ID);
    assert.equal(root.Active, true);
    assert.equal(root.Name, "Consul CA Primary Cert");
    assert.equal(root.PrivateKeyType, "ec");
    assert.equal(root.PrivateKeyBits, 256);
    assert.equal(typeof root.SerialNumber, "number");
    assert.equal(root.IntermediateCerts, null);
    assert.ok(roots.index >= root.ModifyIndex);
    assert.equal(Object.hasOwn(root, "SigningKey"), false);
    const cert = new X509Certificate(root.RootCert);
    assert.equal(cert.ca, true);
    assert.equal(root.ID, cert.fingerprint.toLowerCase());
    assert.equal(root.SigningKeyID.split(":").length, 32);
    assert.equal(cert.subjectAltName, `URI:spiffe://${body.TrustDomain}`);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(cert.subject, new RegExp(`CN=pri-[a-z0-9]{8}\\.consul\\.ca\\.${body.TrustDomain.slice(0, 8)}\\.consul`));
    assert.equal(root.NotBefore, new Date(cert.validFrom).toISOString().replace(".000", ""));
    // ~10 years
    assert.ok(Date.parse(root.NotAfter) - Date.parse(root.NotBefore) > 87599 * 3_600_000);

    const pem = await fetch(`${agent.httpAddress}/v1/connect/ca/roots?pem=true`);
    assert.equal(pem.headers.get("content-type"), "application/pem-certificate-chain");
    assert.equal(await pem.text(), root.RootCert);

    const agentRoots = await getJson<Roots>(`${agent.httpAddress}/v1/agent/connect/ca/roots`);
    assert.deepEqual(agentRoots.body, body);
  });

  it("shows the configuration without secrets", async () => {
    const { body, status } = await getJson<Record<string, unknown>>(`${agent.httpAddress}/v1/connect/ca/configuration`);
    assert.equal(status, 200);
    assert.equal(body.Provider, "consul");
    assert.deepEqual(body.Config, { LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h", RotationPeriod: "2160h", PrivateKeyType: "ec", PrivateKeyBits: 256 });
    assert.match(String(body.ClusterID), /^[0-9a-f-]{36}$/);
    assert.equal(body.ForceWithoutCrossSigning, false);
  });

  it("issues a leaf that verifies against the active root, blocks and is cached", async () => {
    const roots = (await getJson<Roots>(`${agent.httpAddress}/v1/connect/ca/roots`)).body;
    const first = await getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web`);
    assert.equal(first.status, 200);
    const leaf = first.body;
    assert.equal(first.index, leaf.ModifyIndex);
    assert.equal(leaf.Service, "web");
    assert.equal(leaf.Namespace, "default");
    assert.equal(leaf.ServiceURI, `spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/web`);
    assert.match(leaf.SerialNumber, /^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
    assert.match(leaf.PrivateKeyPEM, /^-----BEGIN EC PRIVATE KEY-----/);
    const cert = new X509Certificate(leaf.CertPEM);
    assert.equal(cert.ca, false);
    assert.equal(cert.subjectAltName, `URI:${leaf.ServiceURI}`);
    assert.deepEqual(cert.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.equal(cert.serialNumber.toLowerCase().replace(/^0+/, ""), leaf.SerialNumber.replaceAll(":", "").replace(/^0+/, ""));
    assert.ok(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(leaf.PrivateKeyPEM)));
    assert.equal(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 72 * 3_600_000 + 60_000);
    assert.ok(cert.verify(new X509Certificate(roots.Roots[0].RootCert).publicKey));
    assert.match(await opensslVerify(dir, roots.Roots[0].RootCert, leaf.CertPEM), /leaf\.pem: OK/);

    // Cached: the same certificate again, and a blocking read at its index waits for the wait time.
    const again = await getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web`);
    assert.equal(again.body.CertPEM, leaf.CertPEM);
    const started = Date.now();
    const blocked = await getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web?index=${first.index}&wait=300ms`);
    assert.ok(Date.now() - started >= 250);
    assert.equal(blocked.body.SerialNumber, leaf.SerialNumber);

    // Another service's leaf: its own serial; leaves signed between two Raft writes share an index.
    const other = await getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/db`);
    assert.notEqual(other.body.SerialNumber, leaf.SerialNumber);
    assert.ok(other.body.ModifyIndex >= leaf.ModifyIndex);
  });

  it("rotates the root on a key change: the new root is cross-signed, both are trusted, leaves re-issue", async () => {
    const before = (await getJson<Roots>(`${agent.httpAddress}/v1/connect/ca/roots`)).body;
    const oldLeaf = await getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web`);
    // A blocked leaf reader wakes when the rotation re-issues the leaf.
    const waiting = getJson<Leaf>(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web?index=${oldLeaf.index}&wait=30s`);
    const put = await fetch(`${agent.httpAddress}/v1/connect/ca/configuration`, {
      method: "PUT",
      body: JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "24h", PrivateKeyType: "ec", PrivateKeyBits: 384 } }),
    });
    assert.equal(put.status, 200, await put.text());
    const after = (await getJson<Roots>(`${agent.httpAddress}/v1/connect/ca/roots`)).body;
    assert.equal(after.Roots.length, 2);
    assert.equal(after.TrustDomain, before.TrustDomain);
    const active = after.Roots.find((r) => r.Active);
    assert.ok(active);
    assert.notEqual(active.ID, before.ActiveRootID);
    assert.equal(after.ActiveRootID, active.ID);
    assert.equal(active.PrivateKeyBits, 384);
    assert.equal(after.Roots.find((r) => !r.Active)?.ID, before.ActiveRootID);
    assert.equal(active.IntermediateCerts?.length, 1);
    const cross = new X509Certificate(active.IntermediateCerts[0]);
    assert.ok(cross.verify(new X509Certificate(before.Roots[0].RootCert).publicKey));
    assert.equal(cross.subject, new X509Certificate(active.RootCert).subject);

    const renewed = await waiting;
    assert.notEqual(renewed.body.SerialNumber, oldLeaf.body.SerialNumber);
    assert.ok(renewed.index > oldLeaf.index);
    assert.equal(Date.parse(renewed.body.ValidBefore) - Date.parse(renewed.body.ValidAfter), 24 * 3_600_000 + 60_000);
    // The new leaf chains to the new root, and through the cross-signed certificate to the old one.
    assert.match(await opensslVerify(dir, active.RootCert, renewed.body.CertPEM), /OK/);
    assert.match(await opensslVerify(dir, before.Roots[0].RootCert, renewed.body.CertPEM), /OK/);

    const config = (await getJson<{ Config: Record<string, unknown> }>(`${agent.httpAddress}/v1/connect/ca/configuration`)).body;
    assert.equal(config.Config.LeafCertTTL, "24h");
    assert.equal(config.Config.PrivateKeyBits, 384);
  });

  it("refuses invalid CA configuration with Consul's messages and keeps the stored one", async () => {
    const bad = async (config: Record<string, unknown>): Promise<string> => {
      const res = await fetch(`${agent.httpAddress}/v1/connect/ca/configuration`, { method: "PUT", body: JSON.stringify({ Provider: "consul", Config: config }) });
      assert.notEqual(res.status, 200);
      return res.text();
    };
    assert.match(await bad({ LeafCertTTL: "30m" }), /leaf cert TTL must be greater or equal than 1h0m0s/);
    assert.match(await bad({ LeafCertTTL: "72h", IntermediateCertTTL: "100h" }), /Intermediate Cert TTL must be greater or equal than 3 \* LeafCertTTL/);
    assert.match(await bad({ PrivateKeyType: "dsa" }), /private key type must be either 'ec' or 'rsa'/);
    assert.match(await bad({ NoSuchKey: 1 }), /unknown CA config key "NoSuchKey"/);
    const config = (await getJson<{ Config: Record<string, unknown> }>(`${agent.httpAddress}/v1/connect/ca/configuration`)).body;
    assert.equal(config.Config.LeafCertTTL, "24h");
  });
});
