import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
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
  close(): Promise<void>;
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

export async function listenGossipTcp(listen: { host: string; port: number }, handler: StreamHandler, encryption?: GossipEncryption, timeoutMs = 10_000): Promise<GossipTcp> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
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
          socket.end(frame(answer ? (encryption ? encryption.seal(answer) : answer) : new Uint8Array(0)));
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
  return {
    port,
    request(addr, bytes, requestTimeoutMs) {
      return new Promise((resolve) => {
        const { host, port: remotePort } = splitHostPort(addr);
        const socket = connect({ host, port: remotePort });
        let settled = false;
        const done = (value: Uint8Array | undefined): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          resolve(value);
        };
        const timer = setTimeout(() => done(undefined), requestTimeoutMs);
        socket.on("error", () => done(undefined));
        socket.on("close", () => done(undefined));
        socket.on("connect", () => socket.write(frame(encryption ? encryption.seal(bytes) : bytes)));
        readFrame(
          socket,
          (payload) => {
            if (payload.length === 0) return done(undefined);
            try {
              done(encryption ? encryption.open(payload) : payload);
            } catch {
              done(undefined);
            }
          },
          () => done(undefined),
        );
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
