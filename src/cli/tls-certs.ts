// Certificates as `consul tls ca create` / `tls cert create` make them (tlsutil/generate.go):
// EC P-256 keys in SEC1 PEM ("EC PRIVATE KEY"), random 128-bit serials, SHA-256 ECDSA
// signatures, SKI = SHA-256 of the public key. X.509 encoding is @peculiar/x509's; keys go
// through node:crypto so the key file is the SEC1 PEM Consul writes.

// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { createHash, createPrivateKey, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface GeneratedPair {
  certPem: string;
  keyPem: string;
}

/** Go's AddDate(0, 0, days): the same wall-clock time `days` days later. */
function daysAfter(now: Date, days: number): Date {
  return new Date(now.getTime() + days * DAY_MS);
}

/** A random serial below 2^128, as tlsutil.GenerateSerialNumber (hex; the encoder keeps it positive). */
function serialHex(): string {
  return randomBytes(16).toString("hex");
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
}

function sec1Pem(key: CryptoKey): string {
  return KeyObject.from(key).export({ type: "sec1", format: "pem" }).toString();
}

/** SHA-256 over the DER SubjectPublicKeyInfo, hex: Consul's key identifier for SKI and AKI. */
async function keyId(publicKey: CryptoKey): Promise<string> {
  const spki = Buffer.from(await webcrypto.subtle.exportKey("spki", publicKey));
  return createHash("sha256").update(spki).digest("hex");
}

export interface CaOptions {
  days: number;
  now: Date;
  /** Default `Consul Agent CA <serial>` (serial in decimal, as Go prints a big.Int). */
  commonName?: string;
}

/** `consul tls ca create`: a self-signed CA certificate and its key. */
export async function generateCa(options: CaOptions): Promise<GeneratedPair> {
  const keys = await newKeyPair();
  const serial = serialHex();
  const id = await keyId(keys.publicKey);
  const name: x509.JsonName = [
    { "2.5.4.6": ["US"] },
    { "2.5.4.10": ["HashiCorp Inc."] },
    { "2.5.4.7": ["San Francisco"] },
    { "2.5.4.8": ["CA"] },
    { "2.5.4.9": ["101 Second Street"] },
    { "2.5.4.17": ["94105"] },
    { "2.5.4.3": [options.commonName ?? `Consul Agent CA ${BigInt(`0x${serial}`).toString(10)}`] },
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: name,
    issuer: name,
    notBefore: options.now,
    notAfter: daysAfter(options.now, options.days),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectKeyIdentifierExtension(id),
      new x509.AuthorityKeyIdentifierExtension(id),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: sec1Pem(keys.privateKey) };
}

export type CertKind = "server" | "client" | "cli";

export interface CertOptions {
  kind: CertKind;
  caPem: string;
  caKeyPem: string;
  datacenter: string;
  domain: string;
  days: number;
  now: Date;
  node?: string;
  additionalDnsNames: string[];
  additionalIps: string[];
}

export class CertificateError extends Error {}

/** The CA key file: Consul reads only "EC PRIVATE KEY" blocks (tlsutil.ParseSigner). */
async function importCaKey(pem: string): Promise<CryptoKey> {
  const type = /-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1];
  if (type === undefined) throw new CertificateError("no PEM-encoded data found");
  if (type !== "EC PRIVATE KEY") throw new CertificateError(`unknown PEM block type for signing key: ${type}`);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new CertificateError(err instanceof Error ? err.message : String(err));
  }
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  return webcrypto.subtle.importKey("pkcs8", pkcs8, EC_P256, false, ["sign"]);
}

function parseCa(pem: string): x509.X509Certificate {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new CertificateError("no PEM-encoded data found");
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new CertificateError(err instanceof Error ? err.message : String(err));
  }
}

/** The certificate's common name and SANs for each kind (command/tls/cert/create). */
export function certIdentity(o: Pick<CertOptions, "kind" | "datacenter" | "domain" | "node" | "additionalDnsNames" | "additionalIps">): {
  commonName: string;
  dnsNames: string[];
  ips: string[];
  extKeyUsages: string[];
  filePrefix: string;
} {
  const commonName = `${o.kind}.${o.datacenter}.${o.domain}`;
  const filePrefix = `${o.datacenter}-${o.kind}-${o.domain}`;
  const extraDns = o.additionalDnsNames.map((d) => d.trim()).filter((d) => d !== "");
  const extraIps = o.additionalIps.map((i) => i.trim()).filter((i) => i !== "");
  if (o.kind === "cli") return { commonName, dnsNames: [commonName, "localhost"], ips: [], extKeyUsages: [], filePrefix };
  const dnsNames = [...extraDns];
  if (o.kind === "server" && o.node) dnsNames.push(`${o.node}.server.${o.datacenter}.${o.domain}`);
  dnsNames.push(commonName, "localhost");
  const extKeyUsages =
    o.kind === "server" ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth];
  return { commonName, dnsNames, ips: [...extraIps, "127.0.0.1"], extKeyUsages, filePrefix };
}

/** `consul tls cert create`: a leaf certificate signed by the CA, with a new key. */
export async function generateCert(o: CertOptions): Promise<GeneratedPair> {
  const ca = parseCa(o.caPem);
  const caKey = await importCaKey(o.caKeyPem);
  const { commonName, dnsNames, ips, extKeyUsages } = certIdentity(o);
  for (const ip of ips) if (isIP(ip) === 0) throw new CertificateError(`invalid IP address: ${ip}`);
  const keys = await newKeyPair();
  const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.SubjectKeyIdentifierExtension(await keyId(keys.publicKey)),
  ];
  if (extKeyUsages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extKeyUsages));
  if (caSki !== undefined) extensions.push(new x509.AuthorityKeyIdentifierExtension(caSki));
  extensions.push(
    new x509.SubjectAlternativeNameExtension([...dnsNames.map((value) => ({ type: "dns" as const, value })), ...ips.map((value) => ({ type: "ip" as const, value }))]),
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: [{ "2.5.4.3": [commonName] }],
    issuer: ca.subjectName,
    notBefore: o.now,
    notAfter: daysAfter(o.now, o.days),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  // tlsutil.Verify: the new certificate must chain to the CA that was named.
  if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) {
    throw new CertificateError("x509: certificate signed by unknown authority");
  }
  return { certPem: cert.toString("pem") + "\n", keyPem: sec1Pem(keys.privateKey) };
}
