import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { GossipObserver } from "../gossip/observer.ts";
import type { GossipEncryption } from "./gossip-crypto.ts";
import { splitHostPort } from "./gossip-udp.ts";

// Gossip streams (push-pull state exchange, fallback pings): one request frame and one reply
// frame per connection, each [length u32be][payload], the payload encrypted when a keyring is
// set. A missing reply is an empty frame. Every exchange has a deadline (tcpTimeoutMs).

/** Largest frame accepted: a push-pull of ~10,000 members fits; anything bigger is refused. */
export const MAX_STREAM_FRAME_BYTES = 8 * 1024 * 1024;

/** A reply may be a promise: layers above the core (keyring queries) answer after disk writes. */
export type StreamHandler = (fromAddr: string, request: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface GossipTcp {
  readonly port: number;
  /** Resolves with the reply, or undefined on refusal, timeout, a bad frame or no answer. */
  request(addr: string, bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array | undefined>;
  /** The same exchange, saying why it failed (join errors name the cause, as memberlist's do). */
  exchange(addr: string, bytes: Uint8Array, timeoutMs: number): Promise<StreamOutcome>;
  close(): Promise<void>;
}

/** A stream exchange's result; `failure` is worded as Go's net errors are (memberlist's join errors quote them). */
export type StreamOutcome = { readonly reply: Uint8Array } | { readonly failure: StreamFailure };

export interface StreamFailure {
  /** "resolve": the host name has no address; "dial": no connection; "exchange": no (valid) answer. */
  readonly stage: "resolve" | "dial" | "exchange";
  readonly message: string;
}

/** Go's wording for a failed dial or lookup, from Node's error code. */
export function describeStreamError(addr: string, err: unknown): StreamFailure {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  const { host } = splitHostPort(addr);
  switch (code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NODATA":
    case "EAI_NONAME":
      return { stage: "resolve", message: `lookup ${host}: no such host` };
    case "ECONNREFUSED":
      return { stage: "dial", message: `dial tcp ${addr}: connect: connection refused` };
    case "EHOSTUNREACH":
      return { stage: "dial", message: `dial tcp ${addr}: connect: no route to host` };
    case "ENETUNREACH":
      return { stage: "dial", message: `dial tcp ${addr}: connect: network is unreachable` };
    case "ECONNRESET":
      return { stage: "exchange", message: `read tcp ${addr}: read: connection reset by peer` };
    default:
      return { stage: "dial", message: `dial tcp ${addr}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/** Reads exactly one frame from a socket. */
function readFrame(socket: Socket, onFrame: (payload: Buffer) => void, onError: () => void): void {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 4) return;
    const len = buffered.readUInt32BE(0);
    if (len > MAX_STREAM_FRAME_BYTES) {
      onError();
      return;
    }
    if (buffered.length < 4 + len) return;
    socket.removeAllListeners("data");
    onFrame(buffered.subarray(4, 4 + len));
  });
}

export async function listenGossipTcp(
  listen: { host: string; port: number },
  handler: StreamHandler,
  encryption?: GossipEncryption,
  timeoutMs = 10_000,
  observer?: GossipObserver,
): Promise<GossipTcp> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    observer?.tcpAccept();
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(timeoutMs, () => socket.destroy());
    const from = `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}`;
    readFrame(
      socket,
      (payload) => {
        let reply: Uint8Array | undefined | Promise<Uint8Array | undefined>;
        try {
          reply = handler(from, encryption ? encryption.open(payload) : payload);
        } catch {
          socket.destroy();
          return;
        }
        // Encrypted when written, with the primary key of that moment (a use-key answer
        // already goes out under the new key, which the asker installed before).
        const send = (answer: Uint8Array | undefined): void => {
          const out = frame(answer ? (encryption ? encryption.seal(answer) : answer) : new Uint8Array(0));
          observer?.tcpSent(out.length);
          socket.end(out);
        };
        if (reply instanceof Promise) reply.then(send, () => socket.destroy());
        else send(reply);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : listen.port;
  const exchange = (addr: string, bytes: Uint8Array, requestTimeoutMs: number): Promise<StreamOutcome> =>
    new Promise((resolve) => {
      const { host, port: remotePort } = splitHostPort(addr);
      const socket = connect({ host, port: remotePort });
      observer?.tcpConnect();
      let settled = false;
      let connected = false;
      const done = (outcome: StreamOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      const fail = (stage: StreamFailure["stage"], message: string): void => done({ failure: { stage, message } });
      const timer = setTimeout(() => fail(connected ? "exchange" : "dial", connected ? `read tcp ${addr}: i/o timeout` : `dial tcp ${addr}: i/o timeout`), requestTimeoutMs);
      socket.on("error", (err) => done({ failure: describeStreamError(addr, err) }));
      socket.on("close", () => fail("exchange", "EOF"));
      socket.on("connect", () => {
        connected = true;
        const out = frame(encryption ? encryption.seal(bytes) : bytes);
        observer?.tcpSent(out.length);
        socket.write(out);
      });
      readFrame(
        socket,
        (payload) => {
          if (payload.length === 0) return fail("exchange", "no answer to the gossip state exchange");
          try {
            done({ reply: encryption ? encryption.open(payload) : payload });
          } catch (err) {
            fail("exchange", `failed to decrypt the gossip state exchange: ${err instanceof Error ? err.message : String(err)}`);
          }
        },
        () => fail("exchange", "gossip stream frame too large"),
      );
    });
  return {
    port,
    async request(addr, bytes, requestTimeoutMs) {
      const outcome = await exchange(addr, bytes, requestTimeoutMs);
      return "reply" in outcome ? outcome.reply : undefined;
    },
    exchange,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
