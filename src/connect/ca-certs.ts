import { createHash, X509Certificate, createPublicKey } from "node:crypto";
import { colonHex, serialHex } from "./hex.ts";
import { keyIdOf, type SigningKey } from "./keys.ts";
import { signingUri } from "./spiffe.ts";
import { x509 } from "./x509.ts";

// Certificates of the built-in CA: the self-signed root, the cross-signature a new root gets
// from the old one on rotation, and leaf certificates signed from an agent's CSR. All through
// @peculiar/x509; nothing here builds ASN.1 by hand.

/** Clock-skew backdate of every certificate the CA issues (as Consul). */
export const BACKDATE_MS = 60_000;
/** How long a cross-signed root stays valid (Consul: 7 days; only needed while old leaves live). */
export const CROSS_SIGN_TTL_MS = 7 * 24 * 3_600_000;

function hex(buf: Buffer): string {
  return buf.toString("hex");
}

export interface RootCertParams {
  key: SigningKey;
  trustDomain: string;
  clusterId: string;
  serial: number;
  nowMs: number;
  ttlMs: number;
  /** 8 random [a-z0-9] characters: the `pri-<id>` of the common name. */
  uniqueId: string;
}

export function rootCommonName(uniqueId: string, clusterId: string): string {
  return `pri-${uniqueId}.consul.ca.${clusterId.slice(0, 8)}.consul`;
}

function caExtensions(subjectKey: SigningKey | Buffer, authorityKeyId: Buffer, trustDomain: string): x509.Extension[] {
  const ski = Buffer.isBuffer(subjectKey) ? subjectKey : subjectKey.keyId;
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectAlternativeNameExtension([{ type: "url", value: signingUri(trustDomain) }]),
    new x509.SubjectKeyIdentifierExtension(hex(ski)),
    new x509.AuthorityKeyIdentifierExtension(hex(authorityKeyId)),
  ];
}

/** A self-signed root for the trust domain, valid from now − 1 min for ttlMs. */
export async function createRootCert(p: RootCertParams): Promise<string> {
  const name = `CN=${rootCommonName(p.uniqueId, p.clusterId)}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(p.serial),
    subject: name,
    issuer: name,
    notBefore: new Date(p.nowMs - BACKDATE_MS),
    notAfter: new Date(p.nowMs + p.ttlMs),
    publicKey: p.key.publicKey,
    signingKey: p.key.privateKey,
    signingAlgorithm: p.key.algorithm,
    extensions: caExtensions(p.key, p.key.keyId, p.trustDomain),
  });
  return cert.toString("pem") + "\n";
}

/**
 * The new root's certificate re-signed by the old root's key: same subject, public key and
 * extensions, issued by the old root. Leaves of the new root then chain to the old root too,
 * so peers that still trust only the old root accept them during rotation.
 */
export async function crossSignRoot(newRootPem: string, oldRootPem: string, oldKey: SigningKey, serial: number, nowMs: number, trustDomain: string): Promise<string> {
  const newRoot = new x509.X509Certificate(newRootPem);
  const oldRoot = new x509.X509Certificate(oldRootPem);
  const newKeyId = keyIdOf(createPublicKey(newRootPem));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(serial),
    subject: newRoot.subjectName,
    issuer: oldRoot.subjectName,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + CROSS_SIGN_TTL_MS),
    publicKey: newRoot.publicKey,
    signingKey: oldKey.privateKey,
    signingAlgorithm: oldKey.algorithm,
    extensions: caExtensions(newKeyId, oldKey.keyId, trustDomain),
  });
  return cert.toString("pem") + "\n";
}

/** What the roots endpoint shows of a root certificate. */
export interface RootCertInfo {
  /** Colon hex SHA-1 of the DER. */
  id: string;
  /** Colon hex of the subject key ID. */
  signingKeyId: string;
  serial: number;
  notBeforeMs: number;
  notAfterMs: number;
}

export function rootCertInfo(pem: string): RootCertInfo {
  const cert = new X509Certificate(pem);
  const id = colonHex(createHash("sha1").update(cert.raw).digest());
  const parsed = new x509.X509Certificate(pem);
  const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski ? Buffer.from(ski.keyId, "hex") : keyIdOf(cert.publicKey);
  return {
    id,
    signingKeyId: colonHex(keyId),
    serial: Number.parseInt(cert.serialNumber, 16),
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
  };
}

export class CsrError extends Error {}

/** The single URI SAN of a CSR (Consul's CSRs carry exactly one), after checking its self-signature. */
export async function csrUri(csrPem: string): Promise<{ csr: x509.Pkcs10CertificateRequest; uri: string }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CsrError(`error parsing CSR: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!(await csr.verify())) throw new CsrError("CSR signature is invalid");
  const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  const uris = san?.names.items.filter((n) => n.type === "url").map((n) => n.value) ?? [];
  if (uris.length !== 1) throw new CsrError("CSR SAN contains an invalid number of URIs");
  return { csr, uri: uris[0] };
}

// Parsing a certificate and encoding an extension are pure-JS ASN.1 work (~2 ms each on this
// machine), so what every leaf shares is built once: the issuer's name per CA certificate, and
// the constant extensions (plus the AKI per CA key).
const issuerNames = new Map<string, x509.Name>();
const authorityKeyIds = new Map<string, x509.AuthorityKeyIdentifierExtension>();
let leafConstantExtensions: x509.Extension[] | undefined;

function issuerNameOf(caCertPem: string): x509.Name {
  let name = issuerNames.get(caCertPem);
  if (!name) {
    if (issuerNames.size > 16) issuerNames.clear();
    name = new x509.X509Certificate(caCertPem).subjectName;
    issuerNames.set(caCertPem, name);
  }
  return name;
}

function authorityKeyIdOf(key: SigningKey): x509.AuthorityKeyIdentifierExtension {
  const id = key.keyId.toString("hex");
  let ext = authorityKeyIds.get(id);
  if (!ext) {
    if (authorityKeyIds.size > 16) authorityKeyIds.clear();
    ext = new x509.AuthorityKeyIdentifierExtension(id);
    authorityKeyIds.set(id, ext);
  }
  return ext;
}

function leafConstants(): x509.Extension[] {
  leafConstantExtensions ??= [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.dataEncipherment | x509.KeyUsageFlags.keyAgreement,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
  ];
  return leafConstantExtensions;
}

export interface LeafSignParams {
  csr: x509.Pkcs10CertificateRequest;
  uri: string;
  commonName: string;
  caKey: SigningKey;
  caCertPem: string;
  serial: number;
  nowMs: number;
  ttlMs: number;
}

/** Signs a service leaf: not a CA, server + client auth, the CSR's URI SAN, valid now − 1 min … now + TTL. */
export async function signLeaf(p: LeafSignParams): Promise<{ pem: string; notBeforeMs: number; notAfterMs: number }> {
  const notBeforeMs = p.nowMs - BACKDATE_MS;
  const notAfterMs = p.nowMs + p.ttlMs;
  const leafKeyId = keyIdOf(createPublicKey({ key: Buffer.from(p.csr.publicKey.rawData), format: "der", type: "spki" }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(p.serial),
    subject: `CN=${p.commonName}`,
    issuer: issuerNameOf(p.caCertPem),
    notBefore: new Date(notBeforeMs),
    notAfter: new Date(notAfterMs),
    publicKey: p.csr.publicKey,
    signingKey: p.caKey.privateKey,
    signingAlgorithm: p.caKey.algorithm,
    extensions: [
      ...leafConstants(),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: p.uri }]),
      new x509.SubjectKeyIdentifierExtension(leafKeyId.toString("hex")),
      authorityKeyIdOf(p.caKey),
    ],
  });
  // Whole seconds, as the Go side prints and parses them.
  return { pem: cert.toString("pem") + "\n", notBeforeMs: Math.floor(notBeforeMs / 1000) * 1000, notAfterMs: Math.floor(notAfterMs / 1000) * 1000 };
}
