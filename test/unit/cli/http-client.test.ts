import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulHttpClient, RequestAbortedError, resolveClientConfig } from "../../../src/cli/http-client.ts";
import { startFakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";

void test("http client - default address is 127.0.0.1:8500 over http", async () => {
  const config = await resolveClientConfig({}, {});
  assert.equal(config.scheme, "http");
  assert.equal(config.address, "127.0.0.1:8500");
  assert.equal(config.token, "");
});

void test("http client - -http-addr beats CONSUL_HTTP_ADDR; schemes are honoured", async () => {
  const fromEnv = await resolveClientConfig({}, { CONSUL_HTTP_ADDR: "https://10.0.0.1:8501" });
  assert.deepEqual([fromEnv.scheme, fromEnv.address], ["https", "10.0.0.1:8501"]);
  const fromFlag = await resolveClientConfig({ "http-addr": "http://h:1" }, { CONSUL_HTTP_ADDR: "https://10.0.0.1:8501" });
  assert.deepEqual([fromFlag.scheme, fromFlag.address], ["http", "h:1"]);
  const ssl = await resolveClientConfig({}, { CONSUL_HTTP_ADDR: "h:2", CONSUL_HTTP_SSL: "true" });
  assert.equal(ssl.scheme, "https");
  const unix = await resolveClientConfig({ "http-addr": "unix:///tmp/consul.sock" }, {});
  assert.equal(unix.socketPath, "/tmp/consul.sock");
  await assert.rejects(resolveClientConfig({ "http-addr": "ftp://x:1" }, {}), /Unknown protocol scheme: ftp/);
});

void test("http client - token precedence: -token > CONSUL_HTTP_TOKEN > token file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-cli-token-"));
  try {
    const file = join(dir, "token");
    await writeFile(file, "  from-file\n");
    assert.equal((await resolveClientConfig({ "token-file": file }, {})).token, "from-file");
    assert.equal((await resolveClientConfig({}, { CONSUL_HTTP_TOKEN_FILE: file })).token, "from-file");
    assert.equal((await resolveClientConfig({ "token-file": file }, { CONSUL_HTTP_TOKEN: "env" })).token, "env");
    assert.equal((await resolveClientConfig({ token: "flag" }, { CONSUL_HTTP_TOKEN: "env" })).token, "flag");
    await assert.rejects(
      resolveClientConfig({ "token-file": join(dir, "missing") }, {}),
      /Error loading token file: open .*missing: no such file or directory/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("http client - token and basic auth headers are sent", async () => {
  const consul = await startFakeConsul({ "PUT /v1/agent/reload": { body: "" } });
  try {
    await runCli(["reload", "-token=secret"], { address: consul.address, env: { CONSUL_HTTP_AUTH: "u:p" } });
    const req = consul.requests[0];
    assert.equal(req.headers["x-consul-token"], "secret");
    assert.equal(req.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
  } finally {
    await consul.close();
  }
});

void test("http client - unix socket addresses work", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-cli-sock-"));
  const socketPath = join(dir, "consul.sock");
  const server = http.createServer((_req, res) => res.end('["dc1"]'));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    const r = await runCli(["catalog", "datacenters"], { env: { CONSUL_HTTP_ADDR: `unix://${socketPath}` } });
    assert.deepEqual(r, { code: 0, out: "dc1\n", err: "" });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
});

void test("http client - connection refused reads like Go's net/http error", async () => {
  const consul = await startFakeConsul();
  const address = consul.address;
  await consul.close();
  const r = await runCli(["members"], { address });
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `Error retrieving members: Get "http://${address}/v1/agent/members?segment=_all": dial tcp ${address}: connect: connection refused\n`,
  );
});

void test("http client - namespace and partition from env are sent as query parameters", async () => {
  const consul = await startFakeConsul({ "GET /v1/status/leader": { body: '"x"' } });
  try {
    const client = new ConsulHttpClient(
      await resolveClientConfig({ "http-addr": consul.address }, { CONSUL_NAMESPACE: "ns1", CONSUL_PARTITION: "p1" }),
    );
    await client.getJSON("/v1/status/leader");
    assert.equal(consul.requests[0].query.get("ns"), "ns1");
    assert.equal(consul.requests[0].query.get("partition"), "p1");
  } finally {
    await consul.close();
  }
});

void test("http client - aborting the signal ends a parked request with RequestAbortedError", async () => {
  let received = (): void => {};
  const arrived = new Promise<void>((resolve) => (received = resolve));
  // Never answers, like a blocking query waiting out its `wait`.
  const server = http.createServer(() => received());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as { port: number };
    const client = new ConsulHttpClient(await resolveClientConfig({ "http-addr": `127.0.0.1:${port}` }, {}));
    const controller = new AbortController();
    const pending = client.send({ method: "GET", path: "/v1/kv/k", query: { index: "5" }, signal: controller.signal });
    await arrived;
    controller.abort();
    await assert.rejects(pending, RequestAbortedError);
    await assert.rejects(client.sendOK({ method: "GET", path: "/v1/agent/self", signal: controller.signal }), RequestAbortedError);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("http client - an https:// address answered by plain HTTP reads as Go's net/http error", async (t) => {
  const server = http.createServer((_req, res) => res.end("[]"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const r = await runCli(["kv", "get", "x"], { address: `https://127.0.0.1:${port}` });
  assert.equal(r.code, 1);
  assert.equal(r.err, `Error querying Consul agent: Get "https://127.0.0.1:${port}/v1/kv/x": http: server gave HTTP response to HTTPS client\n`);
});
