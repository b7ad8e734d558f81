import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// Consul serves every API endpoint through gziphandler, which adds `Vary: Accept-Encoding` to
// each response of those endpoints whether or not the request accepted gzip; paths outside
// them (the not-found page) carry no Vary.

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request with exactly the headers given (fetch would add its own Accept-Encoding). */
function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: agent.running.http.address.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("API answers say Vary: Accept-Encoding with or without Accept-Encoding, errors included", async () => {
  for (const headers of [{}, { "Accept-Encoding": "identity" }] as Record<string, string>[]) {
    const self = await get("/v1/agent/self", headers);
    assert.equal(self.status, 200);
    assert.equal(self.headers.vary, "Accept-Encoding");
  }
  const missing = await get("/v1/kv/absent-key");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.vary, "Accept-Encoding", "a route's 404 is a wrapped answer too");
  const wrongMethod = await get("/v1/status/leader", {}, "DELETE");
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.vary, "Accept-Encoding");
  const written = await get("/v1/kv/k", {}, "PUT");
  assert.equal(written.status, 200);
  assert.equal(written.headers.vary, "Accept-Encoding");
});

test("paths that are no endpoint carry no Vary (Consul's index handler is outside gziphandler)", async () => {
  const unknown = await get("/no-such-page");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.vary, undefined);
});
