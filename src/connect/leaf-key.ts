import { generateKeyPair as generateKeyPairCb } from "node:crypto";
import { promisify } from "node:util";
import { importUncached } from "./keys.ts";
import { x509 } from "./x509.ts";

// What an agent does before asking a server for a leaf: a fresh ECDSA P-256 key (kept on the
// agent, served as "EC PRIVATE KEY" PEM) and a CSR carrying the service's SPIFFE ID.

const generateKeyPair = promisify(generateKeyPairCb);

export async function createLeafKeyAndCsr(uri: string, commonName: string): Promise<{ privateKeyPem: string; csrPem: string }> {
  const { privateKey } = await generateKeyPair("ec", { namedCurve: "P-256" });
  const privateKeyPem = privateKey.export({ type: "sec1", format: "pem" }).toString();
  const key = await importUncached(privateKeyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: key.algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }])],
  });
  return { privateKeyPem, csrPem: csr.toString("pem") };
}
