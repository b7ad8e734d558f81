// Real certificates for TLS tests, made by the same code as `consulate tls cert create`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCa, generateCert, type CertKind, type GeneratedPair } from "../../src/cli/tls-certs.ts";

export interface PkiFiles {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
}

export interface Pki {
  caPem: string;
  caKeyPem: string;
  /** Writes the CA to dir and issues one certificate of `kind`, returning the four paths. */
  issue(kind: CertKind, name: string, options?: { days?: number; now?: Date; dnsNames?: string[]; datacenter?: string }): Promise<PkiFiles>;
}

export async function makePki(dir: string, label: string, options: { caDays?: number } = {}): Promise<Pki> {
  const ca: GeneratedPair = await generateCa({ days: options.caDays ?? 30, now: new Date() });
  const caPath = join(dir, `${label}-ca.pem`);
  const caKeyPath = join(dir, `${label}-ca-key.pem`);
  writeFileSync(caPath, ca.certPem);
  writeFileSync(caKeyPath, ca.keyPem, { mode: 0o600 });
  return {
    caPem: ca.certPem,
    caKeyPem: ca.keyPem,
    async issue(kind, name, opts = {}) {
      const pair = await generateCert({
        kind,
        caPem: ca.certPem,
        caKeyPem: ca.keyPem,
        datacenter: opts.datacenter ?? "dc1",
        domain: "consul",
        days: opts.days ?? 30,
        now: opts.now ?? new Date(),
        additionalDnsNames: opts.dnsNames ?? [],
        additionalIps: [],
      });
      const cert = join(dir, `${label}-${name}.pem`);
      const key = join(dir, `${label}-${name}-key.pem`);
      writeFileSync(cert, pair.certPem);
      writeFileSync(key, pair.keyPem, { mode: 0o600 });
      return { ca: caPath, caKey: caKeyPath, cert, key };
    },
  };
}
