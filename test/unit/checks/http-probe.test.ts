import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpProbe, type HttpProbeOptions } from "../../../src/checks/http.ts";
import { freePort } from "../../support/agent-process.ts";

// HTTP check probes against a real server on loopback.

let server: Server;
let base = "";
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const url = req.url ?? "/";
      if (url === "/ok") return void res.writeHead(200, { "content-type": "text/plain" }).end("all good");
      if (url === "/busy") return void res.writeHead(429).end("slow down");
      if (url === "/broken") return void res.writeHead(500).end("boom");
      if (url === "/big") return void res.writeHead(200).end("x".repeat(10_000) + "TAIL");
      if (url === "/moved") return void res.writeHead(302, { location: "/ok" }).end();
      if (url === "/loop") return void res.writeHead(302, { location: "/loop" }).end();
      if (url === "/hang") return; // never answers
      res.writeHead(404).end("nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function options(overrides: Partial<HttpProbeOptions>): HttpProbeOptions {
  return { url: `${base}/ok`, method: "", header: {}, body: "", tlsSkipVerify: false, tlsServerName: "", disableRedirects: false, outputMaxSize: 4096, ...overrides };
}

const run = (o: Partial<HttpProbeOptions>) => httpProbe(options(o))(new AbortController().signal);

test("http check - 2xx is passing with Consul's output text", async () => {
  const r = await run({});
  assert.deepEqual(r, { status: "passing", output: `HTTP GET ${base}/ok: 200 OK Output: all good` });
  const req = seen.at(-1);
  assert.equal(req?.headers["user-agent"], "Consul Health Check");
  assert.equal(req?.headers.accept, "text/plain, text/*, */*");
});

test("http check - 429 is warning, 500 and 404 are critical", async () => {
  assert.deepEqual(await run({ url: `${base}/busy` }), { status: "warning", output: `HTTP GET ${base}/busy: 429 Too Many Requests Output: slow down` });
  assert.deepEqual(await run({ url: `${base}/broken` }), { status: "critical", output: `HTTP GET ${base}/broken: 500 Internal Server Error Output: boom` });
  assert.equal((await run({ url: `${base}/missing` })).status, "critical");
});

test("http check - Method, Header and Body are sent; given headers replace the defaults", async () => {
  const r = await run({ url: `${base}/ok`, method: "POST", header: { "X-Token": ["abc"], "User-Agent": ["probe/1"], Multi: ["a", "b"] }, body: '{"ping":1}' });
  assert.equal(r.output, `HTTP POST ${base}/ok: 200 OK Output: all good`);
  const req = seen.at(-1);
  assert.equal(req?.method, "POST");
  assert.equal(req?.body, '{"ping":1}');
  assert.equal(req?.headers["x-token"], "abc");
  assert.equal(req?.headers["user-agent"], "probe/1");
  assert.equal(req?.headers.multi, "a, b");
});

test("http check - output keeps the last bytes of a large body (4 KiB cap)", async () => {
  const r = await run({ url: `${base}/big` });
  const body = r.output.slice(r.output.indexOf("Output: ") + "Output: ".length);
  assert.equal(Buffer.byteLength(body), 4096);
  assert.ok(body.endsWith("TAIL"));
});

test("http check - redirects are followed unless DisableRedirects is set", async () => {
  assert.deepEqual(await run({ url: `${base}/moved` }), { status: "passing", output: `HTTP GET ${base}/moved: 200 OK Output: all good` });
  assert.deepEqual(await run({ url: `${base}/moved`, disableRedirects: true }), { status: "critical", output: `HTTP GET ${base}/moved: 302 Found Output: ` });
  assert.deepEqual(await run({ url: `${base}/loop` }), { status: "critical", output: `Get "${base}/loop": stopped after 10 redirects` });
});

test("http check - connection refused carries Go's error text", async () => {
  const port = await freePort();
  const r = await run({ url: `http://127.0.0.1:${port}/health` });
  assert.deepEqual(r, { status: "critical", output: `Get "http://127.0.0.1:${port}/health": dial tcp 127.0.0.1:${port}: connect: connection refused` });
});

test("http check - a request still unanswered at the timeout is critical", async () => {
  const abort = new AbortController();
  const pending = httpProbe(options({ url: `${base}/hang` }))(abort.signal);
  setTimeout(() => abort.abort(), 50);
  assert.deepEqual(await pending, {
    status: "critical",
    output: `Get "${base}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  });
});

test("http check - an unsupported scheme is critical", async () => {
  assert.deepEqual(await run({ url: "ftp://127.0.0.1/x" }), { status: "critical", output: `Get "ftp://127.0.0.1/x": unsupported protocol scheme "ftp"` });
});
