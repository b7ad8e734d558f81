// The client side of auto_encrypt against a real RPC listener that signs CSRs with a CA of its
// own (standing in for the Connect CA, with a 2-second leaf TTL): the first certificate comes
// over RPCTLSInsecure, becomes the agent's client certificate on the server port, and is
// renewed over mutual TLS before it expires — with a fresh key, and the server checking the
// current certificate against the roots it handed out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig } from "../../../src/config/load.ts";
import { createRootCert, csrUri, signLeaf } from "../../../src/connect/ca-certs.ts";
import { generatePrivateKeyPem, importSigningKey, type SigningKey } from "../../../src/connect/keys.ts";
import { AutoEncryptClient } from "../../../src/launch/auto-encrypt.ts";
import { serverPortTlsFromConfig } from "../../../src/launch/server-port-tls-config.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { AUTO_ENCRYPT_SIGN, type AutoEncryptSignArgs } from "../../../src/server/auto-encrypt-endpoint.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import type { RpcHandler } from "../../../src/transport/rpc.ts";
import { ServerPortTls } from "../../../src/transport/server-port-tls.ts";
import { eventually } from "../../support/eventually.ts";
import { makePki, type PkiFiles } from "../../support/tls-pki.ts";

const TRUST_DOMAIN = "11111111-2222-3333-4444-555555555555.consul";
let dir: string;
let serverFiles: PkiFiles;
let caKey: SigningKey;
let caPem: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-ae-renew-"));
  serverFiles = await (await makePki(dir, "manual")).issue("server", "server");
  caKey = await importSigningKey(await generatePrivateKeyPem("ec", 256));
  caPem = await createRootCert({ key: caKey, trustDomain: TRUST_DOMAIN, clusterId: TRUST_DOMAIN.slice(0, 36), serial: 1, nowMs: Date.now(), ttlMs: 86_400_000, uniqueId: "abcdefgh" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("auto_encrypt client - first certificate over RPCTLSInsecure, renewed over mutual TLS before it expires", async (t) => {
  const calls: { insecure: boolean; uri: string; dnsNames: string[]; ipAddresses: string[] }[] = [];
  let serial = 10;
  const sign =
    (insecure: boolean): RpcHandler =>
    async (raw) => {
      const args = raw as AutoEncryptSignArgs;
      const parsed = csrUri(args.CSR);
      calls.push({ insecure, uri: parsed.uri, dnsNames: parsed.dnsNames, ipAddresses: parsed.ipAddresses });
      const uri = parsed.uri.replace("spiffe://unknown.consul/", `spiffe://${TRUST_DOMAIN}/`);
      const leaf = signLeaf({ csr: parsed, uri, commonName: "c1", caKey, caCertPem: caPem, serial: serial++, nowMs: Date.now(), ttlMs: 2000, dnsNames: parsed.dnsNames, ipAddresses: parsed.ipAddresses });
      return {
        IssuedCert: { CertPEM: leaf.pem, ValidBefore: new Date(leaf.notAfterMs).toISOString(), Agent: "c1", AgentURI: uri },
        ConnectCARoots: { ActiveRootID: "r", TrustDomain: TRUST_DOMAIN, Roots: [{ ID: "r", RootCert: caPem, Active: true }] },
        ManualCARoots: [readFileSync(serverFiles.ca, "utf8")],
        VerifyServerHostname: false,
      };
    };
  const serverTls = new ServerPortTls({
    material: { ca: [readFileSync(serverFiles.ca, "utf8")], cert: readFileSync(serverFiles.cert, "utf8"), key: readFileSync(serverFiles.key, "utf8"), minVersion: "TLSv1.2" },
    verifyIncoming: true,
    verifyOutgoing: true,
    serverName: undefined,
  });
  serverTls.setConnectRoots([caPem]);
  const rpc: RunningRpcServer = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map<string, RpcHandler>([
      [AUTO_ENCRYPT_SIGN, sign(false)],
      ["Status.Ping", () => ({ ok: true })],
    ]),
    insecureHandlers: new Map([[AUTO_ENCRYPT_SIGN, sign(true)]]),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: 16,
    tls: serverTls,
  });
  const config = join(dir, "client.hcl");
  writeFileSync(
    config,
    `data_dir = "${dir}"\nbind_addr = "127.0.0.1"\nnode_name = "c1"\nretry_join = ["127.0.0.1"]\nports { server = ${rpc.address.port} }\n` +
      `tls {\n  defaults {\n    ca_file = "${serverFiles.ca}"\n    verify_outgoing = true\n  }\n}\nauto_encrypt {\n  tls = true\n  dns_san = ["c1.example"]\n}\n`,
  );
  const rc = await loadRuntimeConfig({ "config-file": [config] }, { hostname: () => "h", randomUUID: () => "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" });
  const tls = serverPortTlsFromConfig(rc);
  assert.ok(tls);
  const client = new AutoEncryptClient({ rc, tls, clock: systemClock, rng: seededRng(5), logger: silentLogger });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(6), defaultPort: rpc.address.port, dial: tls.dial });
  t.after(async () => {
    client.stop();
    pool.close();
    await rpc.close();
  });

  await client.fetchInitial();
  const first = client.certificate;
  assert.ok(first);
  assert.deepEqual(calls.map((c) => c.insecure), [true]);
  assert.equal(calls[0].uri, "spiffe://unknown.consul/agent/client/dc/dc1/id/c1");
  assert.deepEqual(calls[0].dnsNames, ["localhost", "c1.example"]);
  assert.deepEqual(calls[0].ipAddresses, ["127.0.0.1", "::1"]);
  // The issued certificate is now the agent's client certificate: the server accepts it.
  assert.deepEqual(await pool.call(`127.0.0.1:${rpc.address.port}`, "Status.Ping", {}, { timeoutMs: 5000 }), { ok: true });

  const renewed: string[] = [];
  client.onCertificate((c) => renewed.push(c.certPem));
  client.startRenewal(pool, () => [`127.0.0.1:${rpc.address.port}`]);
  await eventually("the certificate to be renewed", () => Promise.resolve(renewed.length >= 1), 10_000);
  const second = client.certificate;
  assert.ok(second && second.certPem !== first.certPem && second.keyPem !== first.keyPem);
  // Renewal went over the ordinary (mutual TLS) connection, asking with the learnt trust domain.
  assert.equal(calls[1].insecure, false);
  assert.equal(calls[1].uri, `spiffe://${TRUST_DOMAIN}/agent/client/dc/dc1/id/c1`);
  assert.ok(new X509Certificate(second.certPem).checkIssued(new X509Certificate(caPem)));
});
