import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, createServer, type Server, type Socket } from "node:net";
import tls, { type TLSSocket } from "node:tls";
import { generateCa, generateCert } from "../../../src/cli/tls-certs.ts";
import type { ConnectService } from "../../../src/connect-native/service.ts";
import { ConnectProxy } from "../../../src/connect-proxy/proxy.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { relayStreamOverConnection, STREAM_REUSE_SNI_PREFIX, type StreamOutcome } from "../../../src/transport/mesh/stream-reuse.ts";
import { buildTlsContext, type MeshTlsContext } from "../../../src/transport/mesh/tls-material.ts";
import { freePort } from "../../support/agent-process.ts";

// The destination sidecar's side of stream reuse when its own leaf or roots change: the kept
// framed connections a dialler holds to it are ended (the dialler's material did not change,
// so only the destination can notice). The sidecar runs in-process with a stand-in for its
// ConnectService: real certificates, real sockets, the rotation driven by hand.

let material: { ca: string; server: { certPem: string; keyPem: string }; client: { certPem: string; keyPem: string } };
const rotationListeners = new Set<(ctx: MeshTlsContext) => void>();
let context: MeshTlsContext;
let proxy: ConnectProxy;
let app: Server;
let sidecarPort = 0;
const sockets = new Set<Socket>();

const service = {
  name: "db",
  get tlsContext(): MeshTlsContext {
    return context;
  },
  onRotate(listener: (ctx: MeshTlsContext) => void): () => void {
    rotationListeners.add(listener);
    return () => rotationListeners.delete(listener);
  },
  authorizeSocket: () => Promise.resolve({ authorized: true }),
};

function rotate(): void {
  context = buildTlsContext({ generation: context.generation + 1, keyPem: material.server.keyPem, certPem: material.server.certPem, caPems: [material.ca] });
  for (const l of rotationListeners) l(context);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

before(async () => {
  const now = new Date();
  const ca = await generateCa({ days: 1, now });
  const cert = (kind: "server" | "client") =>
    generateCert({ kind, caPem: ca.certPem, caKeyPem: ca.keyPem, datacenter: "dc1", domain: "consul", days: 1, now, additionalDnsNames: [], additionalIps: [] });
  material = { ca: ca.certPem, server: await cert("server"), client: await cert("client") };
  context = buildTlsContext({ generation: 1, keyPem: material.server.keyPem, certPem: material.server.certPem, caPems: [material.ca] });
  app = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("data", (d: Buffer) => s.write(`db:${d.toString()}`)).on("end", () => s.end());
  });
  const appPort = await listen(app);
  sidecarPort = await freePort();
  proxy = new ConnectProxy(service as unknown as ConnectService, silentLogger, systemClock);
  await proxy.apply({
    service: "db",
    publicListener: { bindAddress: "127.0.0.1", bindPort: sidecarPort, localServiceAddress: "127.0.0.1", localServicePort: appPort, localConnectTimeoutMs: 2000, handshakeTimeoutMs: 5000 },
    upstreams: [],
  });
});

after(async () => {
  for (const s of sockets) s.destroy();
  await proxy.stop(0);
  await new Promise((r) => app.close(r));
});

/** A kept connection as a dialling sidecar makes it: mTLS, the stream-reuse SNI, half-open. */
function dialKept(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      host: "127.0.0.1",
      port: sidecarPort,
      ca: [material.ca],
      cert: material.client.certPem,
      key: material.client.keyPem,
      servername: `${STREAM_REUSE_SNI_PREFIX}db.default.dc1.internal.example`,
      checkServerIdentity: () => undefined,
      allowHalfOpen: true,
    };
    const s = tls.connect(options);
    sockets.add(s);
    s.on("error", () => s.destroy());
    s.once("secureConnect", () => resolve(s));
    s.once("error", reject);
  });
}

/** One stream over `conn` from a local app connection: a message there and back, then ended. */
async function oneStream(conn: TLSSocket, message: string): Promise<{ outcome: StreamOutcome; answer: string }> {
  const front = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const frontPort = await listen(front);
  const accepted = new Promise<Socket>((resolve) => front.once("connection", resolve));
  const client = netConnect({ port: frontPort, host: "127.0.0.1", allowHalfOpen: true });
  sockets.add(client);
  const appSide = await accepted;
  sockets.add(appSide);
  front.close();
  const outcome = new Promise<StreamOutcome>((resolve) => relayStreamOverConnection(appSide, conn, resolve));
  const answer = new Promise<string>((resolve) => client.once("data", (d: Buffer) => resolve(d.toString())));
  client.write(message);
  const text = await answer;
  client.end();
  return { outcome: await outcome, answer: text };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

test("the destination sidecar ends its idle kept connections when its own material rotates", async () => {
  const conn = await dialKept();
  assert.deepEqual(await within(oneStream(conn, "one"), 5000, "the first stream"), { outcome: "reusable", answer: "db:one" });
  assert.deepEqual(await within(oneStream(conn, "two"), 5000, "a second stream on the kept connection"), { outcome: "reusable", answer: "db:two" });
  const ended = new Promise<void>((resolve) => conn.once("end", () => resolve()));
  rotate();
  await within(ended, 3000, "the kept connection ended after the destination's rotation");
  assert.equal(conn.readable, false, "a dialler's idle list skips it and dials afresh");
  conn.destroy();
  // A fresh connection under the new material serves streams as before.
  const fresh = await dialKept();
  assert.deepEqual(await within(oneStream(fresh, "three"), 5000, "a stream on a new connection"), { outcome: "reusable", answer: "db:three" });
  fresh.destroy();
});
