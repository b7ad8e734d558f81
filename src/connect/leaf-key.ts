import { generateKeyPair as generateKeyPairCb, sign } from "node:crypto";
import { promisify } from "node:util";
import { commonNameOf, p256PublicKeyInfo } from "./ca-certs.ts";
import { asn1, asn1Csr, asn1Pkcs9, asn1X509, derOf, preEncoded, x509 } from "./x509.ts";

// What an agent does before asking a server for a leaf: a fresh ECDSA P-256 key (kept on the
// agent, served as "EC PRIVATE KEY" PEM) and a CSR carrying the service's SPIFFE ID.
// Per leaf this is on the issuance hot path, so it avoids what costs milliseconds here:
// OpenSSL 3's PEM/DER decoders (createPrivateKey, WebCrypto importKey) and @peculiar/x509's
// generator, which re-parses everything it builds. The key comes from node:crypto's async
// generateKeyPair (made on the thread pool, off the event loop; a third of WebCrypto's CPU)
// and is exported without decoding; the CSR is encoded through the ASN.1 schemas once (the
// request embeds its signed part as the DER that was signed) and signed with node:crypto
// (DER ECDSA signature, as the CSR carries it).

const generateKeyPair = promisify(generateKeyPairCb);
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };
let signatureAlgorithm: asn1X509.AlgorithmIdentifier | undefined;

export async function createLeafKeyAndCsr(
  uri: string,
  commonName: string,
  extra: { dnsNames?: readonly string[]; ipAddresses?: readonly string[] } = {},
): Promise<{ privateKeyPem: string; csrPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair("ec", { namedCurve: "P-256" });
  const privateKeyPem = privateKey.export({ type: "sec1", format: "pem" }).toString();
  const { x, y } = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(x ?? "", "base64url"), Buffer.from(y ?? "", "base64url")]);
  // auto_encrypt's agent certificates also ask for DNS and IP names (localhost, 127.0.0.1, dns_san…).
  const names = [
    new asn1X509.GeneralName({ uniformResourceIdentifier: uri }),
    ...(extra.dnsNames ?? []).map((dNSName) => new asn1X509.GeneralName({ dNSName })),
    ...(extra.ipAddresses ?? []).map((iPAddress) => new asn1X509.GeneralName({ iPAddress })),
  ];
  const san = new asn1X509.Extension({
    extnID: asn1X509.id_ce_subjectAltName,
    critical: false,
    extnValue: new asn1.OctetString(asn1.AsnConvert.serialize(new asn1X509.SubjectAlternativeName(names))),
  });
  const info = new asn1Csr.CertificationRequestInfo({
    version: 0,
    subject: commonNameOf(commonName),
    subjectPKInfo: p256PublicKeyInfo(point),
    attributes: new asn1Csr.Attributes([
      new asn1X509.Attribute({ type: asn1Pkcs9.id_pkcs9_at_extensionRequest, values: [asn1.AsnConvert.serialize(new asn1Pkcs9.ExtensionRequest([san]))] }),
    ]),
  });
  const tbs = Buffer.from(asn1.AsnConvert.serialize(info));
  const signature = sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  signatureAlgorithm ??= preEncoded<asn1X509.AlgorithmIdentifier>(derOf(new x509.AlgorithmProvider().toAsnAlgorithm(ECDSA_SHA256)));
  const csr = new asn1Csr.CertificationRequest({
    certificationRequestInfo: preEncoded<asn1Csr.CertificationRequestInfo>(tbs),
    signatureAlgorithm,
    signature: new Uint8Array(signature).buffer,
  });
  return { privateKeyPem, csrPem: x509.PemConverter.encode(asn1.AsnConvert.serialize(csr), "CERTIFICATE REQUEST") };
}
