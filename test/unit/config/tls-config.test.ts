// The tls stanza, the legacy top-level keys and the certificate checks at start (tls.md §2–3).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/config/config-error.ts";
import { makePki, type PkiFiles } from "../../support/tls-pki.ts";

let dir: string;
let good: PkiFiles;
let other: PkiFiles;
let expired: PkiFiles;
/** A path as a regular expression matching it literally: TMPDIR may hold `+`, `(` or `.`. */
const re = (path: string): string => path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const io: LoadOptions = { hostname: () => "h", randomUUID: () => "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-tlscfg-"));
  const pki = await makePki(dir, "one");
  good = await pki.issue("server", "server");
  expired = await pki.issue("server", "old", { days: 1, now: new Date(Date.now() - 3 * 86_400_000) });
  other = await (await makePki(dir, "two")).issue("client", "client");
});
after(() => rmSync(dir, { recursive: true, force: true }));

function hclFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function load(hcl: string): Promise<ReturnType<typeof loadRuntimeConfig>> {
  return loadRuntimeConfig({ dev: true, "config-file": [hclFile("tls.hcl", hcl)] }, io);
}

async function refused(hcl: string, pattern: RegExp): Promise<void> {
  await assert.rejects(load(hcl), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

const defaults = (f: PkiFiles) => `ca_file = "${f.ca}"\n    cert_file = "${f.cert}"\n    key_file = "${f.key}"`;

void test("tls config - https inherits tls.defaults; files are read and the material is ready for the listener", async () => {
  const rt = await load(`ports { https = 8501 }\ntls {\n  defaults {\n    ${defaults(good)}\n  }\n  https { verify_incoming = true }\n}\n`);
  assert.equal(rt.ports.https, 8501);
  assert.equal(rt.tls.https.certFile, good.cert);
  assert.equal(rt.tls.https.verifyIncoming, true);
  assert.equal(rt.tls.internalRpc.verifyIncoming, false);
  assert.ok(rt.httpsTls);
  assert.equal(rt.httpsTls.verifyIncoming, true);
  assert.equal(rt.httpsTls.minVersion, "TLSv1.2");
  assert.match(rt.httpsTls.cert ?? "", /BEGIN CERTIFICATE/);
  assert.equal(rt.httpsTls.ca.length, 1);
});

void test("tls config - -https-port and limits.https_handshake_timeout reach the HTTPS listener's options", async () => {
  const rt = await loadRuntimeConfig(
    { dev: true, "https-port": 9501, hcl: [`tls {\n  https {\n    cert_file = "${good.cert}"\n    key_file = "${good.key}"\n  }\n}\nlimits { https_handshake_timeout = "2s" }`] },
    io,
  );
  assert.equal(rt.ports.https, 9501);
  const { httpsServerOptions } = await import("../../../src/launch/https-options.ts");
  const options = httpsServerOptions(rt.httpsTls!, rt.httpsHandshakeTimeoutMs);
  assert.equal(options.handshakeTimeout, 2000);
  assert.equal(options.requestCert, false);
});

void test("tls config - legacy top-level keys map into tls.* with Consul's deprecation warnings", async () => {
  const rt = await load(
    `ports { https = 8501 }\nca_file = "${good.ca}"\ncert_file = "${good.cert}"\nkey_file = "${good.key}"\nverify_incoming_https = true\ntls_min_version = "tls13"\ntls_prefer_server_cipher_suites = true\n`,
  );
  assert.equal(rt.tls.https.caFile, good.ca);
  assert.equal(rt.tls.https.verifyIncoming, true);
  assert.equal(rt.tls.https.minVersion, "TLSv1_3");
  assert.equal(rt.httpsTls?.minVersion, "TLSv1.3");
  assert.ok(rt.warnings.includes("The 'ca_file' field is deprecated. Use the 'tls.defaults.ca_file' field instead."));
  assert.ok(rt.warnings.includes("The 'verify_incoming_https' field is deprecated. Use the 'tls.https.verify_incoming' field instead."));
  assert.ok(rt.warnings.includes("'tls_min_version' value 'tls13' is deprecated, please specify 'TLSv1_3' instead"));
  assert.ok(rt.warnings.includes("The 'tls_prefer_server_cipher_suites' field is deprecated and will be ignored."));
});

void test("tls config - cipher suites and min version are checked with Consul's wording", async () => {
  const rt = await load(`tls {\n  defaults {\n    ${defaults(good)}\n    tls_cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"\n  }\n}\n`);
  assert.equal(rt.httpsTls?.ciphers?.split(":").slice(0, 2).join(":"), "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
  await refused(
    `tls {\n  https { tls_min_version = "TLSv1_4" }\n}\n`,
    /^tls\.https\.tls_min_version: invalid TLS version: no matching TLS version found for TLSv1_4, please specify one of \[TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3\]$/,
  );
  await refused(`tls {\n  https { tls_cipher_suites = "TLS_RSA_WITH_RC4_128_SHA" }\n}\n`, /^tls\.https\.tls_cipher_suites: invalid TLS cipher suites: no matching Consul Agent TLS cipher suite found for TLS_RSA_WITH_RC4_128_SHA$/);
  await refused(
    `tls {\n  https {\n    tls_min_version = "TLSv1_3"\n    tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"\n  }\n}\n`,
    /^tls\.https\.tls_cipher_suites: TLS 1\.3 cipher suites are not configurable$/,
  );
  await refused(`tls {\n  grpc { verify_outgoing = true }\n}\n`, /^verify_outgoing is not valid in the tls\.grpc stanza$/);
});

void test("tls config - bad files stop start-up naming the file: missing, unreadable, not PEM, expired, key of another cert", async () => {
  const missing = join(dir, "nope.pem");
  await refused(`tls {\n  https {\n    cert_file = "${missing}"\n    key_file = "${good.key}"\n  }\n}\n`, new RegExp(`^Failed to load cert/key pair: open ${re(missing)}: no such file or directory$`));
  await refused(`tls {\n  defaults { ca_file = "${missing}" }\n}\n`, new RegExp(`open ${re(missing)}: no such file or directory`));
  const unreadable = join(dir, "unreadable.pem");
  writeFileSync(unreadable, "x");
  chmodSync(unreadable, 0o000);
  if (process.getuid?.() !== 0) {
    await refused(`tls {\n  https {\n    cert_file = "${unreadable}"\n    key_file = "${good.key}"\n  }\n}\n`, new RegExp(`open ${re(unreadable)}: permission denied`));
  }
  const notPem = join(dir, "not-pem.pem");
  writeFileSync(notPem, "hello");
  await refused(`tls {\n  https {\n    cert_file = "${notPem}"\n    key_file = "${good.key}"\n  }\n}\n`, new RegExp(`failed to find any PEM data in certificate input \\(${re(notPem)}\\)`));
  await refused(`tls {\n  https {\n    cert_file = "${expired.cert}"\n    key_file = "${expired.key}"\n  }\n}\n`, new RegExp(`^Failed to load certificate ${re(expired.cert)}: x509: certificate has expired`));
  await refused(
    `tls {\n  https {\n    cert_file = "${good.cert}"\n    key_file = "${other.key}"\n  }\n}\n`,
    new RegExp(`^Failed to load cert/key pair: tls: private key does not match public key \\(key_file ${re(other.key)}, cert_file ${re(good.cert)}\\)$`),
  );
  const emptyDir = join(dir, "empty-ca-dir");
  mkdirSync(emptyDir, { recursive: true });
  await refused(`tls {\n  https { ca_path = "${emptyDir}" }\n}\n`, /^Error loading from CAPath: no CAs found$/);
});

void test("tls config - verify_incoming needs a CA and a cert; ports.https needs a cert", async () => {
  await refused(`tls {\n  https {\n    verify_incoming = true\n    cert_file = "${good.cert}"\n    key_file = "${good.key}"\n  }\n}\n`, /^VerifyIncoming set but no CA certificates were provided$/);
  await refused(`tls {\n  https {\n    verify_incoming = true\n    ca_file = "${good.ca}"\n  }\n}\n`, /^VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt\/auto_config be enabled$/);
  await refused(`ports { https = 8501 }\n`, /^ports\.https is set but no cert_file and key_file are configured for HTTPS/);
});

void test("tls config - internal RPC: legacy keys map, verify_server_hostname implies verify_outgoing, a CA is required to verify", async () => {
  const rt = await load(`ca_file = "${good.ca}"\ncert_file = "${good.cert}"\nkey_file = "${good.key}"\nverify_incoming_rpc = true\nverify_server_hostname = true\n`);
  assert.equal(rt.tls.internalRpc.verifyIncoming, true);
  assert.equal(rt.tls.internalRpc.verifyServerHostname, true);
  assert.equal(rt.tls.internalRpc.verifyOutgoing, true);
  assert.equal(rt.tls.https.verifyIncoming, false);
  assert.ok(rt.internalRpcTls?.cert);
  assert.ok(rt.warnings.includes("The 'verify_server_hostname' field is deprecated. Use the 'tls.internal_rpc.verify_server_hostname' field instead."));
  await refused(`tls {\n  internal_rpc { verify_outgoing = true }\n}\n`, /^VerifyOutgoing set but no CA certificates were provided$/);
  // A client agent may verify servers with only the CA.
  const caOnly = await load(`tls {\n  defaults {\n    ca_file = "${good.ca}"\n    verify_outgoing = true\n  }\n}\n`);
  assert.equal(caOnly.internalRpcTls?.cert, undefined);
  assert.equal(caOnly.internalRpcTls?.ca.length, 1);
  await refused(`tls {\n  grpc { verify_incoming = true }\n}\n`, /^tls\.grpc\.verify_incoming = true \(set in .*tls\.hcl\) is not supported by Consulate yet: there is no gRPC server/);
});
