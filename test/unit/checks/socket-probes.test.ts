import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer, type AddressInfo } from "node:net";
import { tcpProbe } from "../../../src/checks/tcp.ts";
import { udpProbe } from "../../../src/checks/udp.ts";
import { freePort } from "../../support/agent-process.ts";

const signal = () => new AbortController().signal;

test("tcp check - a successful connect is passing with `TCP connect <addr>: Success`", async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.deepEqual(await tcpProbe({ address: addr, useTls: false, tlsSkipVerify: false, tlsServerName: "" })(signal()), {
    status: "passing",
    output: `TCP connect ${addr}: Success`,
  });
});

test("tcp check - a refused connect is critical with Go's dial error", async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  assert.deepEqual(await tcpProbe({ address: addr, useTls: false, tlsSkipVerify: false, tlsServerName: "" })(signal()), {
    status: "critical",
    output: `dial tcp ${addr}: connect: connection refused`,
  });
});

test("tcp check - an address without a port is critical", async () => {
  const r = await tcpProbe({ address: "localhost", useTls: false, tlsSkipVerify: false, tlsServerName: "" })(signal());
  assert.deepEqual(r, { status: "critical", output: "dial tcp localhost: address localhost: missing port in address" });
});

test("udp check - a reply is passing", async (t) => {
  const server = createSocket("udp4");
  server.on("message", (_m, rinfo) => server.send("pong", rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const addr = `127.0.0.1:${server.address().port}`;
  assert.deepEqual(await udpProbe(addr)(signal()), { status: "passing", output: `UDP connect ${addr}: Success` });
});

test("udp check - silence until the timeout is passing (UDP has no handshake)", async (t) => {
  const server = createSocket("udp4");
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const addr = `127.0.0.1:${server.address().port}`;
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 50);
  assert.deepEqual(await udpProbe(addr)(abort.signal), { status: "passing", output: `UDP connect ${addr}: Success` });
});

test("udp check - port unreachable is critical", async () => {
  const port = await freePort();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 2_000);
  const r = await udpProbe(`127.0.0.1:${port}`)(abort.signal);
  clearTimeout(timer);
  assert.equal(r.status, "critical");
  assert.match(r.output, new RegExp(`^read udp 127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${port}: read: connection refused$`));
});
