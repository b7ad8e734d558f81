// The agent's TLS settings (tls.md): the `tls { defaults, https, internal_rpc, grpc }` stanza
// with each interface inheriting what it omits from `defaults`, the pre-1.12 top-level keys
// mapped into it per source (as Consul's applyDeprecatedConfig does), Consul's validation
// wording, and the certificate files read and checked once at start (and on reload).

import { X509Certificate, createPrivateKey } from "node:crypto";
import { ConfigError } from "./config-error.ts";
import { isPlainObject, type RawConfig } from "./decode.ts";

export type TlsStanzaName = "defaults" | "https" | "internal_rpc" | "grpc";
export type NodeTlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

export interface TlsStanzaSettings {
  caFile: string;
  caPath: string;
  certFile: string;
  keyFile: string;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;
  /** Consul's name (TLSv1_2), for logs and the banner. */
  minVersion: string;
  /** Consul's suite names; empty = the TLS library's defaults. */
  cipherSuites: string[];
}

export interface TlsSettings {
  https: TlsStanzaSettings;
  internalRpc: TlsStanzaSettings & { verifyServerHostname: boolean };
  grpc: TlsStanzaSettings;
}

/** Certificate material for one listener, already read and checked. */
export interface TlsMaterial {
  /** CA certificates (PEM), from ca_file, else every file under ca_path. */
  ca: string[];
  /** Absent when only a CA is configured (enough to verify servers, not to serve). */
  cert?: string;
  key?: string;
  verifyIncoming: boolean;
  minVersion: NodeTlsVersion;
  /** OpenSSL cipher list (TLS 1.2 suites plus every TLS 1.3 suite), or undefined for defaults. */
  ciphers: string | undefined;
}

const TLS_VERSIONS: Record<string, NodeTlsVersion> = {
  TLS_AUTO: "TLSv1.2",
  TLSv1_0: "TLSv1",
  TLSv1_1: "TLSv1.1",
  TLSv1_2: "TLSv1.2",
  TLSv1_3: "TLSv1.3",
};
const DEPRECATED_TLS_VERSIONS: Record<string, string> = { tls10: "TLSv1_0", tls11: "TLSv1_1", tls12: "TLSv1_2", tls13: "TLSv1_3" };

/** Consul's ten TLS ≤ 1.2 suites and their OpenSSL names. */
const CIPHER_SUITES: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
};
/** Go never lets TLS 1.3 suites be chosen; naming TLS 1.2 suites to OpenSSL must not turn 1.3 off. */
const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

const LEGACY_TO_STANZA: ReadonlyArray<[legacy: string, stanza: TlsStanzaName, key: string]> = [
  ["ca_file", "defaults", "ca_file"],
  ["ca_path", "defaults", "ca_path"],
  ["cert_file", "defaults", "cert_file"],
  ["key_file", "defaults", "key_file"],
  ["tls_cipher_suites", "defaults", "tls_cipher_suites"],
  ["tls_min_version", "defaults", "tls_min_version"],
  ["verify_incoming", "defaults", "verify_incoming"],
  ["verify_incoming_https", "https", "verify_incoming"],
  ["verify_incoming_rpc", "internal_rpc", "verify_incoming"],
  ["verify_outgoing", "defaults", "verify_outgoing"],
  ["verify_server_hostname", "internal_rpc", "verify_server_hostname"],
];

export interface LegacyTranslation {
  warnings: string[];
  /** New key path → the deprecated name this source used, so errors can say what was written. */
  renamed: Map<string, string>;
}

/**
 * Moves one source's deprecated top-level TLS keys into its `tls` stanza (a new-style value the
 * same source sets wins) and returns Consul's deprecation warnings. Mutates `config`.
 */
export function translateLegacyTlsKeys(config: RawConfig): LegacyTranslation {
  const warnings: string[] = [];
  const renamed = new Map<string, string>();
  const tls: Record<string, unknown> = isPlainObject(config.tls) ? { ...config.tls } : {};
  const stanza = (name: TlsStanzaName): Record<string, unknown> => {
    const current = tls[name];
    const copy: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
    tls[name] = copy;
    return copy;
  };
  let touched = false;
  for (const [legacy, name, key] of LEGACY_TO_STANZA) {
    let value = config[legacy];
    if (value === undefined) continue;
    touched = true;
    delete config[legacy];
    const target = stanza(name);
    if (legacy === "tls_min_version" && typeof value === "string" && DEPRECATED_TLS_VERSIONS[value] !== undefined) {
      warnings.push(`'tls_min_version' value '${value}' is deprecated, please specify '${DEPRECATED_TLS_VERSIONS[value]}' instead`);
      value = DEPRECATED_TLS_VERSIONS[value];
    }
    if (target[key] === undefined) {
      target[key] = value;
      renamed.set(`tls.${name}.${key}`, legacy);
    }
    // Before 1.12 the gRPC port never checked client certificates; the old key must not start to.
    if (legacy === "verify_incoming") {
      const grpc = stanza("grpc");
      if (grpc.verify_incoming === undefined) grpc.verify_incoming = false;
    }
    warnings.push(`The '${legacy}' field is deprecated. Use the 'tls.${name}.${key}' field instead.`);
  }
  if (config.tls_prefer_server_cipher_suites !== undefined) {
    delete config.tls_prefer_server_cipher_suites;
    warnings.push("The 'tls_prefer_server_cipher_suites' field is deprecated and will be ignored.");
  }
  if (touched) {
    for (const name of Object.keys(tls)) if (isPlainObject(tls[name]) && Object.keys(tls[name]).length === 0) delete tls[name];
    config.tls = tls;
  }
  return { warnings, renamed };
}

function stanzaValue(merged: RawConfig, stanza: TlsStanzaName, key: string): unknown {
  const tls = merged.tls;
  if (!isPlainObject(tls)) return undefined;
  const own = isPlainObject(tls[stanza]) ? tls[stanza][key] : undefined;
  if (own !== undefined || stanza === "defaults") return own;
  return isPlainObject(tls.defaults) ? tls.defaults[key] : undefined;
}

function ownValue(merged: RawConfig, stanza: TlsStanzaName, key: string): unknown {
  const tls = merged.tls;
  return isPlainObject(tls) && isPlainObject(tls[stanza]) ? tls[stanza][key] : undefined;
}

function resolveStanza(merged: RawConfig, stanza: TlsStanzaName): TlsStanzaSettings {
  const str = (key: string): string => {
    const v = stanzaValue(merged, stanza, key);
    return typeof v === "string" ? v : "";
  };
  const bool = (key: string): boolean => stanzaValue(merged, stanza, key) === true;
  const minVersion = str("tls_min_version") || "TLSv1_2";
  if (TLS_VERSIONS[minVersion] === undefined) {
    throw new ConfigError(
      `tls.${stanza}.tls_min_version: invalid TLS version: no matching TLS version found for ${minVersion}, please specify one of [${Object.keys(TLS_VERSIONS).join(", ")}]`,
      { key: `tls.${stanza}.tls_min_version` },
    );
  }
  let cipherSuites = str("tls_cipher_suites")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const suite of cipherSuites) {
    if (CIPHER_SUITES[suite] === undefined) {
      throw new ConfigError(`tls.${stanza}.tls_cipher_suites: invalid TLS cipher suites: no matching Consul Agent TLS cipher suite found for ${suite}`, {
        key: `tls.${stanza}.tls_cipher_suites`,
      });
    }
  }
  if (minVersion === "TLSv1_3" && cipherSuites.length > 0) {
    const own = ownValue(merged, stanza, "tls_cipher_suites");
    if (typeof own === "string" && own.trim() !== "") {
      throw new ConfigError(`tls.${stanza}.tls_cipher_suites: TLS 1.3 cipher suites are not configurable`, { key: `tls.${stanza}.tls_cipher_suites` });
    }
    cipherSuites = []; // inherited from defaults: silently dropped, as Consul does
  }
  return {
    caFile: str("ca_file"),
    caPath: str("ca_path"),
    certFile: str("cert_file"),
    keyFile: str("key_file"),
    verifyIncoming: bool("verify_incoming"),
    verifyOutgoing: bool("verify_outgoing"),
    minVersion,
    cipherSuites,
  };
}

/** Effective settings per interface, with Consul's stanza-placement and min-version checks. */
export function resolveTlsSettings(merged: RawConfig): TlsSettings {
  // verify_server_hostname outside internal_rpc is already an unknown key to the schema.
  if (ownValue(merged, "grpc", "verify_outgoing") !== undefined) {
    throw new ConfigError("verify_outgoing is not valid in the tls.grpc stanza", { key: "tls.grpc.verify_outgoing" });
  }
  resolveStanza(merged, "defaults");
  const internal = resolveStanza(merged, "internal_rpc");
  const verifyServerHostname = ownValue(merged, "internal_rpc", "verify_server_hostname") === true;
  return {
    https: resolveStanza(merged, "https"),
    // verify_server_hostname implies verify_outgoing (CVE-2018-19653).
    internalRpc: { ...internal, verifyOutgoing: internal.verifyOutgoing || verifyServerHostname, verifyServerHostname },
    grpc: resolveStanza(merged, "grpc"),
  };
}

export interface TlsFileIo {
  readFile: (path: string) => Promise<string>;
  /** Every non-directory file under `dir`, recursively (Consul's ca_path walk). */
  listFilesRecursive: (dir: string) => Promise<string[]>;
  now: () => Date;
}

function goOpenError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `open ${path}: no such file or directory`;
  if (code === "EACCES") return `open ${path}: permission denied`;
  if (code === "EISDIR") return `read ${path}: is a directory`;
  return `open ${path}: ${err instanceof Error ? err.message : String(err)}`;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificatesIn(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new X509Certificate(block));
}

async function readNamed(io: TlsFileIo, path: string, key: string, prefix: string): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (err) {
    throw new ConfigError(`${prefix}: ${goOpenError(path, err)}`, { key });
  }
}

/**
 * Reads and checks one interface's files: a missing or unreadable file, a certificate that does
 * not parse or has expired, or a key that does not match it stops start-up naming the file.
 * `stanza` is the config path prefix used in errors (tls.https).
 */
export async function loadTlsMaterial(settings: TlsStanzaSettings, stanza: string, io: TlsFileIo, autoCert = false): Promise<TlsMaterial | undefined> {
  const now = io.now();
  const ca: string[] = [];
  if (settings.caFile !== "") {
    const text = await readNamed(io, settings.caFile, `${stanza}.ca_file`, "Failed to load CA file");
    let certs: X509Certificate[];
    try {
      certs = certificatesIn(text);
    } catch (err) {
      throw new ConfigError(`Failed to parse CA file ${settings.caFile}: ${err instanceof Error ? err.message : String(err)}`, { key: `${stanza}.ca_file` });
    }
    if (certs.length === 0) throw new ConfigError(`Failed to parse any CA certificates from ${settings.caFile}`, { key: `${stanza}.ca_file` });
    for (const c of certs) checkValidity(c, settings.caFile, `${stanza}.ca_file`, now);
    ca.push(text);
  } else if (settings.caPath !== "") {
    let files: string[];
    try {
      files = await io.listFilesRecursive(settings.caPath);
    } catch (err) {
      throw new ConfigError(`Error loading from CAPath: ${goOpenError(settings.caPath, err)}`, { key: `${stanza}.ca_path` });
    }
    for (const file of files.sort()) {
      const text = await readNamed(io, file, `${stanza}.ca_path`, "Error loading from CAPath");
      let certs: X509Certificate[];
      try {
        certs = certificatesIn(text);
      } catch (err) {
        throw new ConfigError(`Error loading from CAPath: ${file}: ${err instanceof Error ? err.message : String(err)}`, { key: `${stanza}.ca_path` });
      }
      if (certs.length === 0) throw new ConfigError(`Error loading from CAPath: failed to parse any CA certificates from ${file}`, { key: `${stanza}.ca_path` });
      for (const c of certs) checkValidity(c, file, `${stanza}.ca_path`, now);
      ca.push(text);
    }
    if (ca.length === 0) throw new ConfigError("Error loading from CAPath: no CAs found", { key: `${stanza}.ca_path` });
  }

  if ((settings.certFile === "") !== (settings.keyFile === "")) {
    const missing = settings.certFile === "" ? "cert_file" : "key_file";
    throw new ConfigError(`${stanza}.${missing} is not set: cert_file and key_file are used only as a pair`, { key: `${stanza}.${missing}` });
  }
  if (settings.verifyIncoming && ca.length === 0) {
    throw new ConfigError("VerifyIncoming set but no CA certificates were provided", { key: `${stanza}.verify_incoming` });
  }
  // With auto_encrypt.tls the certificate comes from the servers at start (launch/auto-encrypt.ts).
  if (settings.verifyIncoming && settings.certFile === "" && !autoCert) {
    throw new ConfigError("VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled", {
      key: `${stanza}.verify_incoming`,
    });
  }
  const minVersion = TLS_VERSIONS[settings.minVersion];
  const ciphers = settings.cipherSuites.length === 0 ? undefined : [...settings.cipherSuites.map((s) => CIPHER_SUITES[s]), TLS13_SUITES].join(":");
  if (settings.verifyOutgoing && ca.length === 0) {
    throw new ConfigError("VerifyOutgoing set but no CA certificates were provided", { key: `${stanza}.verify_outgoing` });
  }
  if (settings.certFile === "") return ca.length > 0 ? { ca, verifyIncoming: settings.verifyIncoming, minVersion, ciphers } : undefined;

  const cert = await readNamed(io, settings.certFile, `${stanza}.cert_file`, "Failed to load cert/key pair");
  const key = await readNamed(io, settings.keyFile, `${stanza}.key_file`, "Failed to load cert/key pair");
  let leaf: X509Certificate | undefined;
  try {
    leaf = certificatesIn(cert)[0];
  } catch (err) {
    throw new ConfigError(`Failed to load cert/key pair: ${settings.certFile}: ${err instanceof Error ? err.message : String(err)}`, { key: `${stanza}.cert_file` });
  }
  if (leaf === undefined) {
    throw new ConfigError(`Failed to load cert/key pair: tls: failed to find any PEM data in certificate input (${settings.certFile})`, { key: `${stanza}.cert_file` });
  }
  checkValidity(leaf, settings.certFile, `${stanza}.cert_file`, now);
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new ConfigError(`Failed to load cert/key pair: ${settings.keyFile}: ${err instanceof Error ? err.message : String(err)}`, { key: `${stanza}.key_file` });
  }
  if (!matches) {
    throw new ConfigError(`Failed to load cert/key pair: tls: private key does not match public key (key_file ${settings.keyFile}, cert_file ${settings.certFile})`, {
      key: `${stanza}.key_file`,
    });
  }
  return { ca, cert, key, verifyIncoming: settings.verifyIncoming, minVersion, ciphers };
}

function checkValidity(cert: X509Certificate, file: string, key: string, now: Date): void {
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now.getTime()) {
    throw new ConfigError(`Failed to load certificate ${file}: x509: certificate has expired (valid until ${notAfter.toISOString()})`, { key });
  }
  const notBefore = new Date(cert.validFrom);
  // A minute of grace: certificates made a moment ago on a clock slightly ahead still load.
  if (notBefore.getTime() > now.getTime() + 60_000) {
    throw new ConfigError(`Failed to load certificate ${file}: x509: certificate is not yet valid (valid from ${notBefore.toISOString()})`, { key });
  }
}
