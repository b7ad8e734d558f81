import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { colonHex, serialHex } from "./hex.ts";
import { keyIdOf, type SigningKey } from "./keys.ts";
import { signingUri } from "./spiffe.ts";
import * as asn1js from "asn1js";
import { asn1, asn1Csr, asn1Pkcs9, asn1X509, derOf, preEncoded, x509 } from "./x509.ts";

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

const COMMON_NAME_OID = "2.5.4.3";

/** What signing needs of a CSR: its public key (as parsed and as DER) and its single URI SAN. */
export interface ParsedCsr {
  publicKeyInfo: asn1X509.SubjectPublicKeyInfo;
  publicKeyDer: Buffer;
  uri: string;
  /** DNS and IP SANs it asks for (agent certificates: localhost, 127.0.0.1, auto_encrypt.dns_san…). */
  dnsNames: string[];
  ipAddresses: string[];
}

// node:crypto's digest name per CSR/certificate signature algorithm (what Go's x509 verifies).
const SIGNATURE_HASHES: Record<string, string> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};

/**
 * P-256's SubjectPublicKeyInfo algorithm identifier, taken once from a key node:crypto encoded
 * (never spelled out by hand): agents build their CSR's public key from it and the key's point,
 * and the leader recognises such keys by it.
 */
let p256Algorithm: { asn: asn1X509.AlgorithmIdentifier; encoded: asn1X509.AlgorithmIdentifier } | undefined;
function p256AlgorithmIdentifier(): { asn: asn1X509.AlgorithmIdentifier; encoded: asn1X509.AlgorithmIdentifier } {
  if (!p256Algorithm) {
    const spki = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });
    const asn = asn1.AsnConvert.parse(spki, asn1X509.SubjectPublicKeyInfo).algorithm;
    p256Algorithm = { asn, encoded: preEncoded<asn1X509.AlgorithmIdentifier>(derOf(asn)) };
  }
  return p256Algorithm;
}

/**
 * A P-256 public key as a CSR carries it, from the uncompressed point (0x04 ‖ X ‖ Y); the
 * algorithm identifier (two OIDs, the costly part to encode) is embedded as its DER.
 */
export function p256PublicKeyInfo(point: Uint8Array): asn1X509.SubjectPublicKeyInfo {
  return new asn1X509.SubjectPublicKeyInfo({ algorithm: p256AlgorithmIdentifier().encoded, subjectPublicKey: new Uint8Array(point).buffer });
}

/**
 * The CSR's key for verifying: a P-256 key through JWK (its coordinates), which node:crypto
 * imports at a fraction of the cost of OpenSSL 3's DER decoder; anything else from the DER.
 */
function isP256(algorithm: asn1X509.AlgorithmIdentifier): boolean {
  const p256 = p256AlgorithmIdentifier().asn;
  const params = algorithm.parameters;
  return algorithm.algorithm === p256.algorithm && params instanceof ArrayBuffer && p256.parameters instanceof ArrayBuffer && Buffer.from(params).equals(Buffer.from(p256.parameters));
}

function publicKeyOf(info: asn1X509.SubjectPublicKeyInfo, der: Buffer): KeyObject {
  const point = new Uint8Array(info.subjectPublicKey);
  if (point.length === 65 && point[0] === 4 && isP256(info.algorithm)) {
    const coordinate = (from: number): string => Buffer.from(point.subarray(from, from + 32)).toString("base64url");
    return createPublicKey({ key: { kty: "EC", crv: "P-256", x: coordinate(1), y: coordinate(33) }, format: "jwk" });
  }
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

/**
 * asn1js by default also tries to decode the content of every OCTET and BIT STRING as BER (the
 * SAN inside its extension, the key's point, the signature): a third of a CSR's decoding, and
 * none of it is read; the schemas take those strings as bytes and what is needed (the SAN) is
 * parsed with its own schema.
 */
const FLAT = { parseEmbedded: false };

/**
 * The DER of a CSR's subjectPublicKeyInfo as decoded: the third element of the request info
 * (version, subject, subjectPKInfo, attributes), a position the schema has just validated.
 */
function subjectPublicKeyDerOf(request: asn1js.AsnType): Buffer {
  const info = request instanceof asn1js.Sequence ? request.valueBlock.value[0] : undefined;
  const spki = info instanceof asn1js.Sequence ? info.valueBlock.value[2] : undefined;
  if (!(spki instanceof asn1js.Sequence)) throw new Error("CSR has no subject public key");
  return Buffer.from(spki.valueBeforeDecodeView);
}

/**
 * The single URI SAN of a CSR (Consul's CSRs carry exactly one), after checking its
 * self-signature. Decoded through the ASN.1 schemas and verified with node:crypto: this runs
 * once per leaf on the leader, and @peculiar/x509's CSR object costs several times as much.
 */
export function csrUri(csrPem: string): ParsedCsr {
  let req: asn1Csr.CertificationRequest;
  let publicKeyDer: Buffer;
  try {
    const der = x509.PemConverter.decodeFirst(csrPem);
    // Decoded once: the schema reads asn1js's tree, and the key's DER (hashed for the key ID,
    // embedded in the leaf) is the slice asn1js decoded it from, not an encoding of it again.
    const tree = asn1js.fromBER(der, FLAT);
    if (tree.offset === -1) throw new Error(tree.result.error);
    req = asn1.AsnParser.fromASN<asn1Csr.CertificationRequest>(tree.result, asn1Csr.CertificationRequest);
    publicKeyDer = subjectPublicKeyDerOf(tree.result);
  } catch (err) {
    throw new CsrError(`error parsing CSR: ${err instanceof Error ? err.message : String(err)}`);
  }
  const info = req.certificationRequestInfo;
  const hash = SIGNATURE_HASHES[req.signatureAlgorithm.algorithm];
  const signed = req.certificationRequestInfoRaw;
  let valid = false;
  if (hash !== undefined && signed !== undefined) {
    try {
      const key = publicKeyOf(info.subjectPKInfo, publicKeyDer);
      valid = verify(hash, Buffer.from(signed), { key, dsaEncoding: "der" }, Buffer.from(req.signature));
    } catch {
      valid = false;
    }
  }
  if (!valid) throw new CsrError("CSR signature is invalid");
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  let emails = 0;
  try {
    for (const attr of info.attributes ?? []) {
      if (attr.type !== asn1Pkcs9.id_pkcs9_at_extensionRequest) continue;
      for (const value of attr.values) {
        for (const ext of asn1.AsnConvert.parse(value, asn1Pkcs9.ExtensionRequest, { berOptions: FLAT })) {
          if (ext.extnID !== asn1X509.id_ce_subjectAltName) continue;
          for (const name of asn1.AsnConvert.parse(ext.extnValue, asn1X509.SubjectAlternativeName, { berOptions: FLAT })) {
            if (name.uniformResourceIdentifier !== undefined) uris.push(name.uniformResourceIdentifier);
            if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
            if (name.iPAddress !== undefined) ipAddresses.push(name.iPAddress);
            if (name.rfc822Name !== undefined) emails++;
          }
        }
      }
    }
  } catch (err) {
    throw new CsrError(`error parsing CSR: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (uris.length !== 1) throw new CsrError(`CSR SAN contains an invalid number of URIs: ${uris.length}`);
  if (emails > 0) throw new CsrError("CSR SAN does not allow specifying email addresses");
  return { publicKeyInfo: info.subjectPKInfo, publicKeyDer, uri: uris[0], dnsNames, ipAddresses };
}

// Parsing a certificate and encoding an extension are pure-JS ASN.1 work, so what every leaf
// shares is encoded once and embedded as DER (x509.ts preEncoded): the issuer's name per CA
// certificate, the CA key as a KeyObject with its signature algorithm and AKI, and the
// constant extensions.
const issuerNames = new Map<string, asn1X509.Name>();
interface CaSigner {
  key: KeyObject;
  hash: string;
  algorithm: asn1X509.AlgorithmIdentifier;
  authorityKeyId: asn1X509.Extension;
}
const caSigners = new Map<string, CaSigner>();
let leafConstantExtensions: asn1X509.Extension[] | undefined;

function issuerNameOf(caCertPem: string): asn1X509.Name {
  let name = issuerNames.get(caCertPem);
  if (!name) {
    if (issuerNames.size > 16) issuerNames.clear();
    const subject = asn1.AsnConvert.parse(x509.PemConverter.decodeFirst(caCertPem), asn1X509.Certificate).tbsCertificate.subject;
    name = preEncoded<asn1X509.Name>(derOf(subject));
    issuerNames.set(caCertPem, name);
  }
  return name;
}

function encodedExtension(ext: x509.Extension): asn1X509.Extension {
  return preEncoded<asn1X509.Extension>(ext.rawData);
}

function caSignerOf(key: SigningKey): CaSigner {
  let signer = caSigners.get(key.pem);
  if (!signer) {
    if (caSigners.size > 16) caSigners.clear();
    const hash = key.type === "ec" ? (key.bits === 384 ? "sha384" : key.bits === 521 ? "sha512" : "sha256") : "sha256";
    signer = {
      key: createPrivateKey(key.pem),
      hash,
      algorithm: preEncoded<asn1X509.AlgorithmIdentifier>(derOf(new x509.AlgorithmProvider().toAsnAlgorithm(key.algorithm))),
      authorityKeyId: encodedExtension(new x509.AuthorityKeyIdentifierExtension(hex(key.keyId))),
    };
    caSigners.set(key.pem, signer);
  }
  return signer;
}

function leafConstants(): asn1X509.Extension[] {
  leafConstantExtensions ??= [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.dataEncipherment | x509.KeyUsageFlags.keyAgreement,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
  ].map(encodedExtension);
  return leafConstantExtensions;
}

/**
 * A one-attribute name, `CN=<commonName>`, with the string type @peculiar/x509 would choose
 * (PrintableString when it can, else UTF8String), built as schema objects (no encode/parse).
 */
export function commonNameOf(commonName: string): asn1X509.Name {
  const attr = new asn1X509.AttributeTypeAndValue({ type: COMMON_NAME_OID });
  if (x509.Name.isPrintableString(commonName)) attr.value.printableString = commonName;
  else attr.value.utf8String = commonName;
  return new asn1X509.Name([new asn1X509.RelativeDistinguishedName([attr])]);
}

/** A serial number as a positive DER INTEGER's content octets. */
function serialOctets(serial: number): ArrayBuffer {
  const bytes = Buffer.from(serialHex(serial), "hex");
  return new Uint8Array(bytes[0] > 0x7f ? [0, ...bytes] : bytes).buffer;
}

export interface LeafSignParams {
  csr: ParsedCsr;
  /** The URI SAN to issue, when not the CSR's own (an agent's CSR names a placeholder trust domain). */
  uri?: string;
  commonName: string;
  caKey: SigningKey;
  caCertPem: string;
  serial: number;
  nowMs: number;
  ttlMs: number;
  /** DNS and IP SANs the CSR asked for (agent certificates: localhost, 127.0.0.1, auto_encrypt.dns_san…). */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** Signs a service leaf: not a CA, server + client auth, the CSR's URI SAN, valid now − 1 min … now + TTL. */
export function signLeaf(p: LeafSignParams): { pem: string; notBeforeMs: number; notAfterMs: number } {
  const notBeforeMs = p.nowMs - BACKDATE_MS;
  const notAfterMs = p.nowMs + p.ttlMs;
  const signer = caSignerOf(p.caKey);
  const leafKeyId = createHash("sha256").update(p.csr.publicKeyDer).digest();
  const extension = (extnID: string, value: unknown): asn1X509.Extension =>
    new asn1X509.Extension({ extnID, critical: false, extnValue: new asn1.OctetString(asn1.AsnConvert.serialize(value)) });
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: serialOctets(p.serial),
    signature: signer.algorithm,
    issuer: issuerNameOf(p.caCertPem),
    validity: new asn1X509.Validity({ notBefore: new Date(notBeforeMs), notAfter: new Date(notAfterMs) }),
    subject: commonNameOf(p.commonName),
    // The DER the CSR's key was hashed from (for the key ID) is the DER the certificate carries.
    subjectPublicKeyInfo: preEncoded<asn1X509.SubjectPublicKeyInfo>(p.csr.publicKeyDer),
    extensions: new asn1X509.Extensions([
      ...leafConstants(),
      extension(
        asn1X509.id_ce_subjectAltName,
        new asn1X509.SubjectAlternativeName([
          new asn1X509.GeneralName({ uniformResourceIdentifier: p.uri ?? p.csr.uri }),
          ...(p.dnsNames ?? []).map((dNSName) => new asn1X509.GeneralName({ dNSName })),
          ...(p.ipAddresses ?? []).map((iPAddress) => new asn1X509.GeneralName({ iPAddress })),
        ]),
      ),
      extension(asn1X509.id_ce_subjectKeyIdentifier, new asn1X509.SubjectKeyIdentifier(new Uint8Array(leafKeyId).buffer)),
      signer.authorityKeyId,
    ]),
  });
  const tbsDer = asn1.AsnConvert.serialize(tbs);
  const signature = sign(signer.hash, Buffer.from(tbsDer), { key: signer.key, dsaEncoding: "der" });
  // The certificate embeds the TBS as the DER just signed, not encoded again.
  const cert = new asn1X509.Certificate({
    tbsCertificate: preEncoded<asn1X509.TBSCertificate>(tbsDer),
    signatureAlgorithm: signer.algorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  const pem = x509.PemConverter.encode(asn1.AsnConvert.serialize(cert), "CERTIFICATE");
  // Whole seconds, as the Go side prints and parses them.
  return { pem: pem + "\n", notBeforeMs: Math.floor(notBeforeMs / 1000) * 1000, notAfterMs: Math.floor(notAfterMs / 1000) * 1000 };
}
