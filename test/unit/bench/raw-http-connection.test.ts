import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { RawHttpConnection } from "../../../bench/raw-http-connection.ts";

// The scale suites' heavy readers count answer bytes instead of keeping them: their reported
// megabytes and read counts depend on finding each answer's end exactly, whatever the socket
// reads cut (a head split mid-line, a body ending inside the read that starts the next answer).

void test("raw HTTP connection - counted answers: exact byte counts across arbitrary read boundaries, an error's text kept", async () => {
  const big = Buffer.alloc(300_000, 0x61);
  const answers = [
    Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`), big]),
    Buffer.from("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"),
    Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    // Chunked (a cold list answer): chunk-size lines and CRLFs are framing, not body.
    Buffer.concat([
      Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      ...[1, 70_000, 5, 229_994].flatMap((n) => [Buffer.from(`${n.toString(16)}\r\n`), big.subarray(0, n), Buffer.from("\r\n")]),
      Buffer.from("0\r\n\r\n"),
    ]),
  ];
  const sockets: Socket[] = [];
  // Answers every request with the next canned answer, split into odd-sized writes.
  const server = createServer((socket) => {
    sockets.push(socket);
    let next = 0;
    socket.on("data", () => {
      const answer = answers[next++ % answers.length];
      for (let at = 0; at < answer.length; at += 7_777) socket.write(answer.subarray(at, Math.min(answer.length, at + 7_777)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const connection = new RawHttpConnection(`http://127.0.0.1:${port}`);
  try {
    for (let round = 0; round < 2; round++) {
      const ok = await connection.request("GET", "/big", "", true);
      assert.equal(ok.status, 200);
      assert.equal(ok.bytes, big.length);
      assert.ok(ok.body.length <= 512, "a counted answer keeps only its first bytes");
      const missing = await connection.request("GET", "/missing", "", true);
      assert.equal(missing.status, 404);
      assert.equal(missing.bytes, 9);
      assert.equal(missing.body.toString(), "not found");
      const empty = await connection.request("GET", "/empty", "", true);
      assert.deepEqual([empty.status, empty.bytes], [200, 0]);
      const chunked = await connection.request("GET", "/chunked", "", true);
      assert.deepEqual([chunked.status, chunked.bytes], [200, big.length]);
      assert.ok(chunked.body.length <= 512 && chunked.body.every((b) => b === 0x61), "only body bytes kept");
    }
    // Uncounted requests still return the whole body.
    const whole = await connection.request("GET", "/big");
    assert.equal(whole.body.length, big.length);
    await connection.request("GET", "/missing");
    await connection.request("GET", "/empty");
    const wholeChunked = await connection.request("GET", "/chunked");
    assert.ok(wholeChunked.body.equals(big), "an uncounted chunked answer returns its whole body");
  } finally {
    connection.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
