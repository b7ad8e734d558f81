import assert from "node:assert/strict";
import { X509Certificate, createHash, webcrypto } from "node:crypto";
import { describe, it } from "node:test";
import { createRootCert, CsrError, csrUri, signLeaf } from "../../../src/connect/ca-certs.ts";
import { generatePrivateKeyPem, importSigningKey } from "../../../src/connect/keys.ts";
import { createLeafKeyAndCsr } from "../../../src/connect/leaf-key.ts";
import { x509 } from "../../../src/connect/x509.ts";

// The leaf hot path encodes CSRs and leaves through the ASN.1 schemas and signs/verifies with
// node:crypto; these check the results with independent parsers (node:crypto's X509Certificate,
// @peculiar/x509's CSR object).

const CLUSTER = "11111111-2222-4333-8444-555555555555";
const TD = `${CLUSTER}.consul`;
const URI = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;

async function rootOf(type: "ec" | "rsa", bits: number) {
  const key = await importSigningKey(await generatePrivateKeyPem(type, bits));
  const pem = await createRootCert({ key, trustDomain: TD, clusterId: CLUSTER, serial: 1, nowMs: Date.now(), ttlMs: 86_400_000, uniqueId: "abcdefgh" });
  return { key, pem };
}

describe("leaf CSR and signing", () => {
  it("the agent's CSR carries the service's key and URI and verifies with @peculiar/x509", async () => {
    const { privateKeyPem, csrPem } = await createLeafKeyAndCsr(URI, "web");
    assert.match(privateKeyPem, /^-----BEGIN EC PRIVATE KEY-----/);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    assert.equal(await csr.verify(), true);
    assert.equal(csr.subject, "CN=web");
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.items.map((n) => n.value), [URI]);
    assert.equal(csrUri(csrPem).uri, URI);
  });

  it("refuses a CSR whose signature does not match its content", async () => {
    const { csrPem } = await createLeafKeyAndCsr(URI, "web");
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    const at = der.indexOf(Buffer.from("svc/web"));
    der[at + 4] = "x".charCodeAt(0);
    assert.throws(() => csrUri(x509.PemConverter.encode(der, "CERTIFICATE REQUEST")), (err: unknown) => err instanceof CsrError && err.message === "CSR signature is invalid");
    assert.throws(() => csrUri("not a csr"), CsrError);
  });

  it("accepts a CSR made elsewhere (RSA key, @peculiar/x509's generator)", async () => {
    const keys = await webcrypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=web",
      keys,
      signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: URI }])],
    });
    assert.equal(csrUri(csr.toString("pem")).uri, URI);
  });

  for (const [type, bits] of [["ec", 256], ["ec", 384], ["rsa", 2048]] as const) {
    it(`a ${type} ${bits} root signs a leaf that chains to it, with Consul's extensions`, async () => {
      const root = await rootOf(type, bits);
      const { csrPem } = await createLeafKeyAndCsr(URI, "web");
      const parsed = csrUri(csrPem);
      const now = Date.now();
      const signed = signLeaf({ csr: parsed, commonName: "web", caKey: root.key, caCertPem: root.pem, serial: 0x80_00, nowMs: now, ttlMs: 3_600_000 });
      const leaf = new X509Certificate(signed.pem);
      const ca = new X509Certificate(root.pem);
      assert.equal(leaf.verify(ca.publicKey), true);
      assert.equal(leaf.checkIssued(ca), true);
      assert.equal(leaf.ca, false);
      assert.equal(leaf.subject, "CN=web");
      assert.equal(leaf.subjectAltName, `URI:${URI}`);
      assert.equal(leaf.serialNumber.replace(/^0+/, ""), "8000");
      assert.deepEqual(leaf.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
      const peculiar = new x509.X509Certificate(signed.pem);
      const ski = peculiar.getExtension(x509.SubjectKeyIdentifierExtension);
      assert.equal(ski?.keyId, createHash("sha256").update(parsed.publicKeyDer).digest("hex"));
      assert.equal(peculiar.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, root.key.keyId.toString("hex"));
      assert.equal(signed.notBeforeMs, Math.floor((now - 60_000) / 1000) * 1000);
      assert.equal(new Date(leaf.validTo).getTime(), signed.notAfterMs);
    });
  }
});
