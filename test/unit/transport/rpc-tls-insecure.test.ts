// auto_encrypt on the server port, with real certificates: a connection opened with
// RPCTLSInsecure (byte 7) needs no client certificate but may only call AutoEncrypt.Sign;
// client certificates from the Connect CA are accepted once its roots are trusted
// (auto_encrypt.allow_tls); AutoEncrypt.Sign answers Consul's errors when it may not sign.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiDispatcher } from "../../../src/http/dispatch-request.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { createLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { AUTO_ENCRYPT_NOT_ALLOWED, AUTO_ENCRYPT_SIGN, autoEncryptSignHandler } from "../../../src/server/auto-encrypt-endpoint.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import type { RpcHandler } from "../../../src/transport/rpc.ts";
import { ServerPortTls, type ServerPortTlsSettings, type ServerPortDialer } from "../../../src/transport/server-port-tls.ts";
import { makePki, type PkiFiles } from "../../support/tls-pki.ts";

let dir: string;
let serverFiles: PkiFiles;
/** Stands in for the Connect CA: a client certificate from another CA. */
let connectClient: PkiFiles;

function settings(files: PkiFiles | undefined, caFrom: PkiFiles, verifyIncoming: boolean): ServerPortTlsSettings {
  return {
    material: {
      ca: [readFileSync(caFrom.ca, "utf8")],
      cert: files && readFileSync(files.cert, "utf8"),
      key: files && readFileSync(files.key, "utf8"),
      minVersion: "TLSv1.2",
    },
    verifyIncoming,
    verifyOutgoing: true,
    serverName: "server.dc1.consul",
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-rpc-insecure-"));
  serverFiles = await (await makePki(dir, "manual")).issue("server", "server");
  connectClient = await (await makePki(dir, "connect")).issue("client", "agent");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function server(tls: ServerPortTls): Promise<{ rpc: RunningRpcServer; address: string; logs: string[] }> {
  const logs: string[] = [];
  const rpc = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map<string, RpcHandler>([
      ["Status.Ping", () => ({ ok: true })],
      [AUTO_ENCRYPT_SIGN, () => ({ signed: true })],
    ]),
    insecureHandlers: new Map([[AUTO_ENCRYPT_SIGN, () => ({ signed: true })]]),
    logger: createLogger({ level: "debug", json: false, write: (l) => logs.push(l) }),
    maxConnections: 64,
    maxInFlightPerConnection: 16,
    tls,
  });
  return { rpc, address: `127.0.0.1:${rpc.address.port}`, logs };
}

function pool(dial: ServerPortDialer): RpcPool {
  return new RpcPool({ clock: systemClock, rng: seededRng(3), dial, reconnectBaseMs: 1, reconnectMaxMs: 5 });
}

test("auto_encrypt transport - RPCTLSInsecure needs no client certificate but only carries AutoEncrypt.Sign", async (t) => {
  const { rpc, address } = await server(new ServerPortTls(settings(serverFiles, serverFiles, true)));
  const noCert = new ServerPortTls(settings(undefined, serverFiles, false));
  const insecure = pool(noCert.dialInsecure);
  const ordinary = pool(noCert.dial);
  t.after(async () => {
    insecure.close();
    ordinary.close();
    await rpc.close();
  });
  assert.deepEqual(await insecure.call(address, AUTO_ENCRYPT_SIGN, {}, { timeoutMs: 5000 }), { signed: true });
  await assert.rejects(insecure.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), /can't find method Status\.Ping/);
  // The same agent without a certificate on the ordinary TLS path is refused.
  await assert.rejects(ordinary.call(address, "Status.Ping", {}, { timeoutMs: 5000 }));
});

test("auto_encrypt transport - the server checks its certificate for the insecure dialler too", async (t) => {
  const { rpc, address } = await server(new ServerPortTls(settings(serverFiles, serverFiles, true)));
  // This agent trusts only the "connect" CA, which did not sign the server's certificate.
  const wrongCa = pool(new ServerPortTls(settings(undefined, connectClient, false)).dialInsecure);
  t.after(async () => {
    wrongCa.close();
    await rpc.close();
  });
  await assert.rejects(wrongCa.call(address, AUTO_ENCRYPT_SIGN, {}, { timeoutMs: 5000 }));
});

test("auto_encrypt transport - client certificates from the Connect roots are accepted once the server trusts them", async (t) => {
  const serverTls = new ServerPortTls(settings(serverFiles, serverFiles, true));
  const { rpc, address, logs } = await server(serverTls);
  // The agent checks the server with the manual CA and presents a certificate from the other CA.
  const agentSettings = settings(connectClient, serverFiles, false);
  const before = pool(new ServerPortTls(agentSettings).dial);
  t.after(async () => {
    before.close();
    await rpc.close();
  });
  await assert.rejects(before.call(address, "Status.Ping", {}, { timeoutMs: 5000 }));
  assert.ok(logs.some((l) => l.includes("certificate signed by unknown authority")), logs.join(""));
  serverTls.setConnectRoots([readFileSync(connectClient.ca, "utf8")]);
  const afterTrust = pool(new ServerPortTls(agentSettings).dial);
  t.after(() => afterTrust.close());
  assert.deepEqual(await afterTrust.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), { ok: true });
});

test("auto_encrypt endpoint - Consul's errors without Connect, without allow_tls, and for another datacenter", async () => {
  const dispatcher = {} as ApiDispatcher;
  const call = { signal: new AbortController().signal, remoteAddress: "127.0.0.1:1" };
  const base = { dispatcher, datacenter: "dc1", manualCaPems: () => [], verifyServerHostname: () => false };
  const args = { Datacenter: "dc2", CSR: "x", Token: "" };
  await assert.rejects(Promise.resolve(autoEncryptSignHandler({ ...base, connectEnabled: false, allowTls: true })(args, call)), (err: Error) => err.message === "Connect must be enabled in order to use this endpoint");
  await assert.rejects(Promise.resolve(autoEncryptSignHandler({ ...base, connectEnabled: true, allowTls: false })(args, call)), (err: Error) => err.message === AUTO_ENCRYPT_NOT_ALLOWED);
  await assert.rejects(
    Promise.resolve(autoEncryptSignHandler({ ...base, connectEnabled: true, allowTls: true })(args, call)),
    (err: Error) => err.message === "mismatched datacenter (client_dc='dc2' server_dc='dc1'); check client has same datacenter set as servers",
  );
});
