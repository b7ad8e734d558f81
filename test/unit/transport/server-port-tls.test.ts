// RPC and Raft over TLS on the one server port (tls.md §5–6), with real certificates:
// verify_incoming refuses plaintext and strangers, verify_server_hostname checks
// server.<dc>.<domain> both ways, and a reload swaps the certificate for new handshakes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryType, MessageType, message, type Message } from "../../../src/raft/messages.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { createLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { RaftTransport } from "../../../src/transport/raft-transport.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import { RAFT_PROTOCOL_BYTE } from "../../../src/transport/rpc.ts";
import { ServerPortTls, type ServerPortTlsSettings } from "../../../src/transport/server-port-tls.ts";
import { makePki, type PkiFiles } from "../../support/tls-pki.ts";

let dir: string;
let serverA: PkiFiles;
let serverB: PkiFiles;
let client: PkiFiles;
let stranger: PkiFiles;

const SERVER_NAME = "server.dc1.consul";

function settings(files: PkiFiles | undefined, caFrom: PkiFiles, flags: Partial<ServerPortTlsSettings> = {}): ServerPortTlsSettings {
  return {
    material: {
      ca: [readFileSync(caFrom.ca, "utf8")],
      cert: files && readFileSync(files.cert, "utf8"),
      key: files && readFileSync(files.key, "utf8"),
      minVersion: "TLSv1.2",
    },
    verifyIncoming: true,
    verifyOutgoing: true,
    serverName: SERVER_NAME,
    ...flags,
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-rpctls-"));
  const pki = await makePki(dir, "one");
  serverA = await pki.issue("server", "a");
  serverB = await pki.issue("server", "b");
  client = await pki.issue("client", "client");
  stranger = await (await makePki(dir, "two")).issue("server", "stranger");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function server(tls: ServerPortTls, raft?: (socket: import("node:net").Socket, head: Buffer) => void): Promise<{ rpc: RunningRpcServer; logs: string[] }> {
  const logs: string[] = [];
  const rpc = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map([["Status.Ping", () => ({ ok: true })]]),
    logger: createLogger({ level: "debug", json: false, write: (l) => logs.push(l) }),
    maxConnections: 64,
    maxInFlightPerConnection: 16,
    protocols: raft ? new Map([[RAFT_PROTOCOL_BYTE, raft]]) : undefined,
    tls,
  });
  return { rpc, logs };
}

function pool(dial?: ServerPortTls): RpcPool {
  return new RpcPool({ clock: systemClock, rng: seededRng(7), dial: dial?.dial, reconnectBaseMs: 1, reconnectMaxMs: 5 });
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("rpc tls - calls over TLS with verify_incoming and verify_server_hostname; plaintext and strangers are refused", async (t) => {
  const { rpc, logs } = await server(new ServerPortTls(settings(serverA, serverA)));
  const address = `127.0.0.1:${rpc.address.port}`;
  const good = pool(new ServerPortTls(settings(client, client, { verifyIncoming: false })));
  const plain = pool();
  const strange = pool(new ServerPortTls(settings(stranger, stranger, { verifyIncoming: false })));
  const noCert = pool(new ServerPortTls(settings(undefined, client, { verifyIncoming: false })));
  t.after(async () => {
    for (const p of [good, plain, strange, noCert]) p.close();
    await rpc.close();
  });

  assert.deepEqual(await good.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), { ok: true });

  await assert.rejects(plain.call(address, "Status.Ping", {}, { timeoutMs: 5000 }));
  await waitFor("the plaintext refusal in the log", () => logs.some((l) => l.includes("rpc: Non-TLS connection attempted with VerifyIncoming set")));

  // A server certificate from another CA: this side refuses the server, the server the client.
  await assert.rejects(strange.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), /certificate signed by unknown authority|unknown certificate authority|bad certificate/);
  await assert.rejects(noCert.call(address, "Status.Ping", {}, { timeoutMs: 5000 }));
  await waitFor("the handshake refusal in the log", () => logs.some((l) => l.includes("rpc: failed to read byte: ")));
});

test("rpc tls - verify_server_hostname refuses a server whose certificate is not for server.<dc>.<domain>", async (t) => {
  // A client certificate (client.dc1.consul) serving the port, as `tls cert create -client` makes it.
  const { rpc } = await server(new ServerPortTls(settings(client, client, { verifyIncoming: false })));
  const address = `127.0.0.1:${rpc.address.port}`;
  const checking = pool(new ServerPortTls(settings(serverA, serverA, { verifyIncoming: false })));
  const chainOnly = pool(new ServerPortTls(settings(serverA, serverA, { verifyIncoming: false, serverName: undefined })));
  t.after(async () => {
    checking.close();
    chainOnly.close();
    await rpc.close();
  });
  await assert.rejects(checking.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), /x509: certificate is valid for client\.dc1\.consul, localhost, 127\.0\.0\.1, not server\.dc1\.consul/);
  // Without verify_server_hostname only the chain is checked, as Consul does.
  assert.deepEqual(await chainOnly.call(address, "Status.Ping", {}, { timeoutMs: 5000 }), { ok: true });
});

test("rpc tls - Raft rides TLS on the server port; a client certificate cannot speak Raft", async (t) => {
  const received: Message[] = [];
  const b = RaftTransport.detached({ id: 2, onMessage: (m) => received.push(m) });
  const { rpc, logs } = await server(new ServerPortTls(settings(serverB, serverB)), (socket, head) => b.accept(socket, head));
  const peer = new Map([[2, { host: "127.0.0.1", port: rpc.address.port }]]);
  const a = RaftTransport.detached({ id: 1, onMessage: () => {}, preamble: Uint8Array.of(RAFT_PROTOCOL_BYTE), peers: peer, dial: new ServerPortTls(settings(serverA, serverA)).dial });
  const impostor = RaftTransport.detached({ id: 3, onMessage: () => {}, preamble: Uint8Array.of(RAFT_PROTOCOL_BYTE), peers: peer, dial: new ServerPortTls(settings(client, client, { serverName: SERVER_NAME })).dial });
  t.after(async () => {
    await a.close();
    await impostor.close();
    await b.close();
    await rpc.close();
  });
  const batch = Array.from({ length: 20 }, (_, i) =>
    message({ type: MessageType.App, from: 1, to: 2, term: 1, index: i, logTerm: 1, entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: Uint8Array.of(i) }] }),
  );
  a.send(batch);
  await waitFor("20 Raft messages over TLS", () => received.length >= 20);
  assert.deepEqual(received.map((m) => m.entries[0].index), batch.map((m) => m.entries[0].index));

  impostor.send([message({ type: MessageType.App, from: 3, to: 2, term: 9, index: 0, logTerm: 1, entries: [] })]);
  await waitFor("the AuthorizeServerConn refusal", () => logs.some((l) => l.includes("AuthorizeServerConn failed certificate validation for certificate with a SAN.DNSName of server.dc1.consul")));
  assert.ok(received.every((m) => m.from === 1), "nothing from the client certificate reached Raft");
});

test("rpc tls - a reload swaps the server certificate for new handshakes", async (t) => {
  const tls = new ServerPortTls(settings(serverA, serverA, { verifyIncoming: false }));
  const { rpc } = await server(tls);
  const address = `127.0.0.1:${rpc.address.port}`;
  // Trusts only CA two: fails until the server presents the certificate CA two signed.
  const trustsTwo = pool(new ServerPortTls(settings(undefined, stranger, { verifyIncoming: false })));
  t.after(async () => {
    trustsTwo.close();
    await rpc.close();
  });
  await assert.rejects(trustsTwo.call(address, "Status.Ping", {}, { timeoutMs: 5000 }));
  tls.update(settings(stranger, stranger, { verifyIncoming: false }));
  let answer: unknown;
  await waitFor("a handshake with the renewed certificate", () => {
    trustsTwo.call(address, "Status.Ping", {}, { timeoutMs: 2000 }).then(
      (r) => (answer = r),
      () => undefined,
    );
    return answer !== undefined;
  });
  assert.deepEqual(answer, { ok: true });
});
