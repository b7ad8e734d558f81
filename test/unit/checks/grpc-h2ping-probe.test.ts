import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { decodeHealthCheckStatus, encodeHealthCheckRequest, grpcProbe } from "../../../src/checks/grpc.ts";
import { h2pingProbe } from "../../../src/checks/h2ping.ts";
import { freePort } from "../../support/agent-process.ts";

// A cleartext HTTP/2 server speaking grpc.health.v1.Health/Check by hand: "" and "api" are
// SERVING, "batch" NOT_SERVING, anything else NotFound (as grpc-go's health server answers).

let server: Http2Server;
let addr = "";
const SERVING: Record<string, number> = { "": 1, api: 1, batch: 2 };

function serviceName(framed: Buffer): string {
  const msg = framed.subarray(5);
  return msg.length > 2 && msg[0] === 0x0a ? msg.subarray(2, 2 + msg[1]).toString() : "";
}

function answer(stream: ServerHttp2Stream, service: string): void {
  const status = SERVING[service];
  if (status === undefined) {
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "unknown%20service" }, { endStream: true });
    return;
  }
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  const frame = Buffer.alloc(7);
  frame.writeUInt32BE(2, 1);
  frame[5] = 0x08;
  frame[6] = status;
  stream.end(frame);
}

before(async () => {
  server = createServer();
  server.on("stream", (stream, headers) => {
    if (headers[":path"] !== "/grpc.health.v1.Health/Check") {
      stream.respond({ ":status": 404 }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => answer(stream, serviceName(Buffer.concat(chunks))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const grpc = (target: string) => grpcProbe({ target, useTls: false, tlsSkipVerify: false, tlsServerName: "" })(new AbortController().signal);

test("grpc check - the health request and response codec", () => {
  assert.deepEqual([...encodeHealthCheckRequest("")], [0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeHealthCheckRequest("api")], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x70, 0x69]);
  assert.equal(decodeHealthCheckStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
  assert.equal(decodeHealthCheckStatus(Buffer.from([0, 0, 0, 0, 0])), 0);
});

test("grpc check - SERVING is passing, for the server and for a named service", async () => {
  assert.deepEqual(await grpc(addr), { status: "passing", output: `gRPC check ${addr}: success` });
  assert.deepEqual(await grpc(`${addr}/api`), { status: "passing", output: `gRPC check ${addr}/api: success` });
});

test("grpc check - NOT_SERVING and unknown services are critical", async () => {
  assert.deepEqual(await grpc(`${addr}/batch`), { status: "critical", output: `gRPC ${addr}/batch serving status: NOT_SERVING` });
  assert.deepEqual(await grpc(`${addr}/ghost`), { status: "critical", output: "rpc error: code = NotFound desc = unknown service" });
});

test("grpc check - an unreachable server is critical (Unavailable)", async () => {
  const target = `127.0.0.1:${await freePort()}`;
  const r = await grpc(target);
  assert.equal(r.status, "critical");
  assert.match(r.output, /^rpc error: code = Unavailable desc = connection error: .*connection refused/);
});

test("h2ping check - a PING ack over cleartext HTTP/2 is passing", async () => {
  const r = await h2pingProbe({ address: addr, useTls: false, tlsSkipVerify: false, tlsServerName: "" })(new AbortController().signal);
  assert.deepEqual(r, { status: "passing", output: "HTTP2 ping was successful" });
});

test("h2ping check - a refused connection is critical", async () => {
  const target = `127.0.0.1:${await freePort()}`;
  const r = await h2pingProbe({ address: target, useTls: false, tlsSkipVerify: false, tlsServerName: "" })(new AbortController().signal);
  assert.deepEqual(r, { status: "critical", output: `Failed to dial to ${target}: dial tcp ${target}: connect: connection refused` });
});
