// Real processes: a server with TLS on its RPC port (verify_incoming), Connect and
// auto_encrypt.allow_tls, and two client agents that hold only the CA file. The one with
// auto_encrypt.tls asks the server for a certificate over TLS without a client certificate,
// then uses it for RPC (its catalog registration reaches the server) and for its HTTPS port;
// the one without auto_encrypt has no certificate and is refused by the server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { makePki, type PkiFiles } from "../support/tls-pki.ts";

let dir: string;
const procs: AgentProcess[] = [];
let spec: ServerSpec;
let server: AgentProcess;
let auto: { proc: AgentProcess; base: string; httpsPort: number };
let bare: { proc: AgentProcess; base: string };

const FAST = 'retry_interval = "300ms"\nperformance {\n  raft_multiplier = 1\n  rpc_hold_timeout = "1s"\n}';

function write(name: string, text: string): string {
  const path = join(dir, `${name}.hcl`);
  writeFileSync(path, text);
  return path;
}

function serverConfig(files: PkiFiles): string {
  return write(
    "server",
    `tls {\n  defaults {\n    ca_file = "${files.ca}"\n    cert_file = "${files.cert}"\n    key_file = "${files.key}"\n    verify_incoming = true\n    verify_outgoing = true\n  }\n  internal_rpc {\n    verify_server_hostname = true\n  }\n}\nconnect {\n  enabled = true\n}\nauto_encrypt {\n  allow_tls = true\n}\n`,
  );
}

async function clientAgent(name: string, bind: string, hcl: string, ready: boolean, httpsPort?: number): Promise<{ proc: AgentProcess; base: string }> {
  const httpPort = await freePort();
  const args = [
    `-node=${name}`,
    `-data-dir=${mkdtempSync(join(tmpdir(), `consulate-${name}-`))}`,
    `-bind=${bind}`,
    "-client=127.0.0.1",
    `-http-port=${httpPort}`,
    ...(httpsPort !== undefined ? [`-https-port=${httpsPort}`] : []),
    "-dns-port=-1",
    `-serf-lan-port=${await freePort()}`,
    `-server-port=${spec.serverPort}`,
    `-retry-join=${spec.bind}:${spec.serfPort}`,
    `-config-file=${write(name, hcl)}`,
    `-hcl=${FAST}`,
  ];
  const proc = await spawnAgent(args, {
    httpPort,
    timeoutMs: 20_000,
    ready: ready
      ? async (base) => (await (await fetch(`${base}/v1/catalog/node/${name}`)).json()) !== null
      : async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200,
  });
  procs.push(proc);
  return { proc, base: `http://127.0.0.1:${httpPort}` };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-auto-encrypt-"));
  const pki = await makePki(dir, "cluster");
  spec = await serverSpec("ae-s1", "127.0.0.1");
  const serverFiles = await pki.issue("server", "server-0");
  const startServer = spawnAgent([...serverArgs(spec, 1, []), `-config-file=${serverConfig(serverFiles)}`, `-hcl=${FAST}`], {
    httpPort: spec.httpPort,
    timeoutMs: 20_000,
    ready: async (base) => (await (await fetch(`${base}/v1/status/leader`)).json()) !== "",
  }).then((p) => {
    procs.push(p);
    server = p;
  });
  const httpsPort = await freePort();
  const caOnly = `tls {\n  defaults {\n    ca_file = "${serverFiles.ca}"\n    verify_outgoing = true\n  }\n}\n`;
  const autoHcl = `${caOnly}auto_encrypt {\n  tls = true\n  dns_san = ["ae-c1.example.test"]\n  ip_san = ["127.0.0.55"]\n}\n`;
  const [, autoClient, bareClient] = await Promise.all([startServer, clientAgent("ae-c1", "127.0.0.5", autoHcl, true, httpsPort), clientAgent("ae-c2", "127.0.0.6", caOnly, false)]);
  auto = { ...autoClient, httpsPort };
  bare = bareClient;
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
  rmSync(spec.dataDir, { recursive: true, force: true });
});

test("auto_encrypt: a client with only the CA file gets a Connect certificate and registers through the server", async () => {
  const reg = await fetch(`${auto.base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "web", Port: 8080 }) });
  assert.equal(reg.status, 200);
  await eventually("the service in the server's catalog", async () => {
    const rows = (await (await fetch(`http://127.0.0.1:${spec.httpPort}/v1/catalog/service/web`)).json()) as { Node: string }[];
    return rows.length === 1 && rows[0].Node === "ae-c1";
  });
  assert.match(auto.proc.output(), /automatically upgraded to TLS/);
  assert.match(auto.proc.output(), /Auto-Encrypt-TLS: true/);
});

test("auto_encrypt: the client serves HTTPS with the issued certificate (agent SPIFFE ID, requested SANs, Connect CA)", async () => {
  const roots = (await (await fetch(`http://127.0.0.1:${spec.httpPort}/v1/connect/ca/roots`)).json()) as { TrustDomain: string; Roots: { RootCert: string }[] };
  const peer = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: auto.httpsPort, ca: roots.Roots.map((r) => r.RootCert), servername: "localhost" }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error("no peer certificate"));
    });
    socket.once("error", reject);
  });
  const san = peer.subjectAltName ?? "";
  assert.ok(san.includes(`URI:spiffe://${roots.TrustDomain}/agent/client/dc/dc1/id/ae-c1`), san);
  assert.ok(san.includes("DNS:ae-c1.example.test") && san.includes("DNS:localhost"), san);
  assert.ok(san.includes("IP Address:127.0.0.55") && san.includes("IP Address:127.0.0.1"), san);
});

test("auto_encrypt: a client without auto_encrypt and without a certificate is refused by the server", async () => {
  const res = await fetch(`${bare.base}/v1/kv/ae-bare`, { method: "PUT", body: "x", signal: AbortSignal.timeout(15_000) });
  assert.notEqual(res.status, 200);
  await res.arrayBuffer();
  await eventually("the server's log to name the refused handshake", () => Promise.resolve(/rpc: failed to read byte: .*certificate/.test(server.output())));
  const read = await fetch(`http://127.0.0.1:${spec.httpPort}/v1/kv/ae-bare`);
  assert.equal(read.status, 404);
});
