import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { relayStreamOverConnection, serveStreams, type StreamOutcome, type StreamServer } from "../../../src/transport/mesh/stream-reuse.ts";

// The destination side of stream reuse retires its kept connections when its own leaf or roots
// change (connect-proxy/proxy.ts calls retire()): an idle one closes at once, one carrying a
// stream closes once that stream has ended, and the dialler then dials afresh having lost nothing.
// Plain loopback TCP stands in for the mTLS connection: the framing is all that is under test.

const servers: Server[] = [];
const sockets = new Set<Socket>();
let appPort = 0;
let streamPort = 0;
let frontPort = 0;
/** The stream server of each connection the destination side accepted, newest last. */
const served: { conn: Socket; server: StreamServer }[] = [];
/** App-side sockets the front listener accepted, waiting for a test to take them. */
const fronts: Socket[] = [];
const frontWaiters: ((s: Socket) => void)[] = [];

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

function track<S extends Socket>(s: S): S {
  sockets.add(s);
  s.once("close", () => sockets.delete(s));
  s.on("error", () => s.destroy());
  return s;
}

/** Half-open sockets, as the proxy's listeners and dials are (tcp-listener.ts). */
function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = track(connect({ port, host: "127.0.0.1", allowHalfOpen: true }));
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

before(async () => {
  // The destination app: echoes each chunk back prefixed.
  appPort = await listen(createServer({ allowHalfOpen: true }, (s) => track(s).on("data", (d: Buffer) => s.write(`app:${d.toString()}`)).on("end", () => s.end())));
  streamPort = await listen(
    createServer({ allowHalfOpen: true }, (conn) => {
      track(conn);
      const server = serveStreams(conn as TLSSocket, { idleTimeoutMs: 60_000, track: () => () => undefined, open: () => dial(appPort) });
      served.push({ conn, server });
    }),
  );
  frontPort = await listen(
    createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
      track(s);
      const waiter = frontWaiters.shift();
      if (waiter) waiter(s);
      else fronts.push(s);
    }),
  );
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A client connection to the front listener and the (paused) app socket it became there. */
async function appPair(): Promise<{ client: Socket; app: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    const ready = fronts.shift();
    if (ready) resolve(ready);
    else frontWaiters.push(resolve);
  });
  const client = await dial(frontPort);
  return { client, app: await accepted };
}

function nextData(s: Socket): Promise<string> {
  return new Promise((resolve) => s.once("data", (d: Buffer) => resolve(d.toString())));
}

const closed = (s: Socket): Promise<void> => (s.destroyed ? Promise.resolve() : new Promise((r) => s.once("close", () => r())));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** One stream over `conn`: a message there and back, then both directions ended. */
async function oneStream(conn: Socket, message: string): Promise<{ outcome: StreamOutcome; answer: string }> {
  const { client, app } = await appPair();
  const outcome = new Promise<StreamOutcome>((resolve) => relayStreamOverConnection(app, conn as TLSSocket, resolve));
  const answer = nextData(client);
  client.write(message);
  const text = await within(answer, 5000, "the answer");
  client.end();
  return { outcome: await within(outcome, 5000, "the stream's end"), answer: text };
}

test("a retired idle connection is ended at once, so the dialler's pool no longer hands it out", async () => {
  const conn = await dial(streamPort);
  const first = await oneStream(conn, "one");
  assert.deepEqual(first, { outcome: "reusable", answer: "app:one" });
  // Idle in the dialler's pool (paused): the end still arrives, and a connection that is no
  // longer readable is one the pool's take (connect-native/service.ts) skips for a fresh dial.
  const ended = new Promise<void>((resolve) => conn.once("end", () => resolve()));
  served.at(-1)?.server.retire();
  await within(ended, 5000, "the retired connection ended");
  assert.equal(conn.readable, false);
  conn.destroy();
});

test("a dialler whose OPEN crosses the retirement loses nothing: the stream comes back lost, the app connection intact", async () => {
  const conn = await dial(streamPort);
  assert.equal((await oneStream(conn, "one")).outcome, "reusable");
  const { client, app } = await appPair();
  served.at(-1)?.server.retire();
  const outcome = await within(new Promise<StreamOutcome>((resolve) => relayStreamOverConnection(app, conn as TLSSocket, resolve)), 5000, "the dead connection noticed");
  assert.equal(outcome, "lost");
  assert.equal(app.destroyed, false, "the app connection survives for a fresh dial");
  client.destroy();
  app.destroy();
  conn.destroy();
});

test("a connection retired while a stream is in flight finishes that stream, then closes instead of idling", async () => {
  const conn = await dial(streamPort);
  const { client, app } = await appPair();
  const outcome = new Promise<StreamOutcome>((resolve) => relayStreamOverConnection(app, conn as TLSSocket, resolve));
  const firstAnswer = nextData(client);
  client.write("before");
  assert.equal(await within(firstAnswer, 5000, "the first answer"), "app:before");
  const destination = served.at(-1);
  assert.ok(destination);
  destination.server.retire();
  // The stream in flight carries on as before.
  const secondAnswer = nextData(client);
  client.write("after");
  assert.equal(await within(secondAnswer, 5000, "the answer after retiring"), "app:after");
  assert.equal(destination.conn.destroyed, false, "not cut while a stream is in flight");
  client.end();
  await within(outcome, 5000, "the stream's end");
  await within(closed(destination.conn), 5000, "the destination closing the retired connection after the stream");
});

test("a connection never retired stays open for the next stream", async () => {
  const conn = await dial(streamPort);
  assert.equal((await oneStream(conn, "a")).outcome, "reusable");
  assert.deepEqual(await oneStream(conn, "b"), { outcome: "reusable", answer: "app:b" });
  conn.destroy();
});
