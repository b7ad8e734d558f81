// The HTTPS API of a real agent process: client certificates required with verify_incoming,
// refused handshakes, plain HTTP turned off, the CLI and curl over HTTPS, and certificates
// renewed by SIGHUP while a blocking query stays open.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request, Agent as HttpsAgent } from "node:https";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { COMMANDS } from "../../src/cli/commands.ts";
import { dispatch } from "../../src/cli/dispatch.ts";
import { captureIO } from "../unit/cli/fake-consul.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { makePki, type Pki, type PkiFiles } from "../support/tls-pki.ts";

let dir: string;
let pki: Pki;
let server: PkiFiles;
let cli: PkiFiles;
let stranger: PkiFiles;
let agent: AgentProcess;
let httpsPort: number;
let httpPort: number;

interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
  agent?: HttpsAgent;
}

function httpsGet(path: string, client: TlsClient): Promise<{ status: number; body: string; peerSerial: string }> {
  const read = (f?: string) => (f === undefined ? undefined : readText(f));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: httpsPort, path, ca: read(client.ca), cert: read(client.cert), key: read(client.key), agent: client.agent ?? false },
      (res) => {
        const peerSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, peerSerial }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}

/** The CLI in-process (the same commands main.ts dispatches), to keep this file fast. */
async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const io = captureIO(env, "");
  const code = await dispatch(COMMANDS, args, io);
  return { code, out: io.out(), err: io.err() };
}

/** One real `consulate` process, to show the environment variables reach a real CLI. */
function runCliProcess(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], { env: { ...process.env, CONSUL_HTTP_ADDR: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-https-"));
  pki = await makePki(dir, "ca");
  server = await pki.issue("server", "server");
  cli = await pki.issue("cli", "cli");
  stranger = await (await makePki(dir, "other")).issue("client", "client");
  // The agent reads its certificate from fixed paths that the reload test overwrites.
  copyFileSync(server.cert, join(dir, "live.pem"));
  copyFileSync(server.key, join(dir, "live-key.pem"));
  httpsPort = await freePort();
  httpPort = await freePort();
  const config = join(dir, "agent.hcl");
  writeFileSync(
    config,
    `ports {\n  http = -1\n  https = ${httpsPort}\n}\ntls {\n  defaults {\n    ca_file = "${server.ca}"\n    cert_file = "${join(dir, "live.pem")}"\n    key_file = "${join(dir, "live-key.pem")}"\n  }\n  https { verify_incoming = true }\n}\n`,
  );
  agent = await spawnAgent(["-dev", `-dns-port=-1`, `-config-file=${config}`], {
    httpPort,
    ready: async () => (await httpsGet("/v1/status/leader", { ca: server.ca, cert: cli.cert, key: cli.key })).status === 200,
  });
});

after(async () => {
  await agent?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("https: a client certificate from the CA is served; plain HTTP is off with ports.http = -1", async () => {
  const res = await httpsGet("/v1/agent/self", { ca: server.ca, cert: cli.cert, key: cli.key });
  assert.equal(res.status, 200);
  const self = JSON.parse(res.body) as { Config: { NodeName: string }; DebugConfig: Record<string, unknown> };
  assert.ok(self.Config.NodeName.length > 0);
  assert.doesNotMatch(res.body, /PRIVATE KEY/, "certificate material never reaches /v1/agent/self");
  await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/v1/status/leader`));
});

test("https: handshakes without a client certificate or with one from another CA are refused, and logged", async () => {
  await assert.rejects(httpsGet("/v1/status/leader", { ca: server.ca }));
  await assert.rejects(httpsGet("/v1/status/leader", { ca: server.ca, cert: stranger.cert, key: stranger.key }));
  // The client also refuses a server its CA did not sign.
  await assert.rejects(httpsGet("/v1/status/leader", { ca: stranger.ca, cert: cli.cert, key: cli.key }), /self-signed|unable to verify|unknown/i);
  await eventually("the refused handshake in the agent's log", () =>
    Promise.resolve(/agent\.http: http: TLS handshake error from 127\.0\.0\.1:\d+: tls: client didn't provide a certificate/.test(agent.output())),
  );
});

test("https: the CLI over HTTPS, by flags and by CONSUL_* variables; refusals read like Go's", async () => {
  const addr = `https://127.0.0.1:${httpsPort}`;
  const put = await runCli(["kv", "put", `-http-addr=${addr}`, `-ca-file=${server.ca}`, `-client-cert=${cli.cert}`, `-client-key=${cli.key}`, "tls/key", "over-https"], {});
  assert.equal(put.code, 0, put.err);
  assert.equal(put.out, "Success! Data written to: tls/key\n");

  const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${httpsPort}`, CONSUL_HTTP_SSL: "true", CONSUL_CACERT: server.ca, CONSUL_CLIENT_CERT: cli.cert, CONSUL_CLIENT_KEY: cli.key };
  const get = await runCliProcess(["kv", "get", "tls/key"], env);
  assert.equal(get.code, 0, get.err);
  assert.equal(get.out, "over-https\n");

  // CONSUL_TLS_SERVER_NAME picks the name checked against the certificate; CONSUL_CAPATH a directory.
  const caDir = join(dir, "ca-path", "nested");
  mkdirSync(caDir, { recursive: true });
  copyFileSync(server.ca, join(caDir, "ca.pem"));
  const named = await runCli(["kv", "get", "tls/key"], { ...env, CONSUL_CACERT: "", CONSUL_CAPATH: join(dir, "ca-path"), CONSUL_TLS_SERVER_NAME: "server.dc1.consul" });
  assert.equal(named.code, 0, named.err);
  const wrongName = await runCli(["kv", "get", "-tls-server-name=client.dc1.consul", "tls/key"], env);
  assert.equal(wrongName.code, 1);
  assert.match(wrongName.err, /x509: certificate is valid for .*server\.dc1\.consul.*, not client\.dc1\.consul/);

  const unknownCa = await runCli(["kv", "get", "tls/key"], { ...env, CONSUL_CACERT: stranger.ca });
  assert.equal(unknownCa.code, 1);
  assert.match(unknownCa.err, /^Error querying Consul agent: Get "https:\/\/127\.0\.0\.1:\d+\/v1\/kv\/tls\/key": tls: failed to verify certificate: x509: certificate signed by unknown authority\n$/);
  const skipVerify = await runCli(["kv", "get", "tls/key"], { ...env, CONSUL_CACERT: stranger.ca, CONSUL_HTTP_SSL_VERIFY: "false" });
  assert.equal(skipVerify.code, 0, skipVerify.err);

  const noCert = await runCli(["kv", "get", "tls/key"], { ...env, CONSUL_CLIENT_CERT: "", CONSUL_CLIENT_KEY: "" });
  assert.equal(noCert.code, 1);
  assert.match(noCert.err, /remote error: tls: certificate required|connection reset/);
});

test("https: curl with the CA and a client certificate", { skip: !existsSync("/usr/bin/curl") && "curl is not installed" }, async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      "curl",
      ["-sS", "--cacert", server.ca, "--cert", cli.cert, "--key", cli.key, `https://127.0.0.1:${httpsPort}/v1/kv/tls/key?raw`],
      { timeout: 10_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  assert.equal(out, "over-https");
});

test("https: SIGHUP loads a renewed certificate for new handshakes while a blocking query stays open", async () => {
  const client = { ca: server.ca, cert: cli.cert, key: cli.key };
  const first = await httpsGet("/v1/kv/tls/key", client);
  const index = JSON.parse(first.body)[0].ModifyIndex as number;
  const oldSerial = new X509Certificate(readFileSync(server.cert)).serialNumber;
  assert.equal(first.peerSerial, oldSerial);

  const keepAlive = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  const blocked = httpsGet(`/v1/kv/tls/key?index=${index}&wait=20s`, { ...client, agent: keepAlive });

  const renewed = await pki.issue("server", "renewed");
  copyFileSync(renewed.cert, join(dir, "live.pem"));
  copyFileSync(renewed.key, join(dir, "live-key.pem"));
  agent.child.kill("SIGHUP");
  const newSerial = new X509Certificate(readFileSync(renewed.cert)).serialNumber;
  await eventually("new handshakes to present the renewed certificate", async () => (await httpsGet("/v1/status/leader", client)).peerSerial === newSerial, 10_000);

  // The open blocking query (on the old certificate's connection) still answers when the key changes.
  const put = await runCli(["kv", "put", "tls/key", "changed"], {
    CONSUL_HTTP_ADDR: `https://127.0.0.1:${httpsPort}`,
    CONSUL_CACERT: server.ca,
    CONSUL_CLIENT_CERT: cli.cert,
    CONSUL_CLIENT_KEY: cli.key,
  });
  assert.equal(put.code, 0, put.err);
  const answered = await blocked;
  assert.equal(answered.status, 200);
  assert.equal(answered.peerSerial, oldSerial);
  assert.equal(Buffer.from(JSON.parse(answered.body)[0].Value as string, "base64").toString(), "changed");
  keepAlive.destroy();
});

test("https: `consulate reload` (PUT /v1/agent/reload) loads a renewed certificate as SIGHUP does", async () => {
  const client = { ca: server.ca, cert: cli.cert, key: cli.key };
  const renewed = await pki.issue("server", "renewed-by-api");
  const newSerial = new X509Certificate(readFileSync(renewed.cert)).serialNumber;
  assert.notEqual((await httpsGet("/v1/status/leader", client)).peerSerial, newSerial);
  copyFileSync(renewed.cert, join(dir, "live.pem"));
  copyFileSync(renewed.key, join(dir, "live-key.pem"));
  const reload = await runCli(["reload"], {
    CONSUL_HTTP_ADDR: `https://127.0.0.1:${httpsPort}`,
    CONSUL_CACERT: server.ca,
    CONSUL_CLIENT_CERT: cli.cert,
    CONSUL_CLIENT_KEY: cli.key,
  });
  assert.equal(reload.code, 0, reload.err);
  assert.equal(reload.out, "Configuration reload triggered\n");
  // The reload has finished when the endpoint answers, so the next handshake has the new certificate.
  assert.equal((await httpsGet("/v1/status/leader", client)).peerSerial, newSerial);
});
