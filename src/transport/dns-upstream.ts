import { createSocket } from "node:dgram";
import { connect, isIPv6 } from "node:net";

// One DNS exchange with an upstream resolver (recursors), over UDP or TCP, with a deadline.
// Rejects on timeout, socket error, or a reply whose ID does not match the request.

export interface UpstreamAddress {
  host: string;
  port: number;
}

const MAX_UDP_REPLY = 65535;

export function exchangeUdp(upstream: UpstreamAddress, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(upstream.host) ? "udp6" : "udp4");
    const id = request.readUInt16BE(0);
    let done = false;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    const timer = setTimeout(() => finish(new Error(`upstream ${upstream.host}:${upstream.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on("error", (err) => finish(err));
    socket.on("message", (msg) => {
      // Stray datagrams (wrong ID) are ignored until the deadline.
      if (msg.length >= 2 && msg.length <= MAX_UDP_REPLY && msg.readUInt16BE(0) === id) finish(undefined, msg);
    });
    socket.connect(upstream.port, upstream.host, () => socket.send(request, (err) => err && finish(err)));
  });
}

export function exchangeTcp(upstream: UpstreamAddress, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: upstream.host, port: upstream.port });
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else if (reply) resolve(reply);
    };
    const timer = setTimeout(() => finish(new Error(`upstream ${upstream.host}:${upstream.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(new Error(`upstream ${upstream.host}:${upstream.port} closed the connection`)));
    socket.on("connect", () => {
      const frame = Buffer.alloc(2 + request.length);
      frame.writeUInt16BE(request.length, 0);
      request.copy(frame, 2);
      socket.write(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const len = buffered.readUInt16BE(0);
      if (buffered.length >= 2 + len) finish(undefined, buffered.subarray(2, 2 + len));
    });
  });
}
