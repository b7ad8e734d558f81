import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { readSnapshotArchive } from "../../../src/storage/snapshot-archive.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

const call = (method: string, path: string, body?: string | Buffer) =>
  fetch(agent.base + path, { method, body: typeof body === "string" || body === undefined ? body : new Uint8Array(body) });
const kvValue = async (key: string) => {
  const res = await call("GET", `/v1/kv/${key}?raw`);
  return res.status === 200 ? await res.text() : undefined;
};

test("snapshot - GET answers a gzip archive with index and leader headers", async () => {
  await call("PUT", "/v1/kv/snap/a", "1");
  const res = await call("GET", "/v1/snapshot");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-gzip");
  assert.equal(res.headers.get("x-consul-knownleader"), "true");
  assert.equal(res.headers.get("x-consul-lastcontact"), "0");
  const { meta, state } = readSnapshotArchive(Buffer.from(await res.arrayBuffer()));
  assert.equal(String(meta.Index), res.headers.get("x-consul-index"));
  assert.equal(meta.Size, state.length);
  assert.equal(meta.Version, 1);
  assert.match(meta.ID, /^\d+-\d+-\d+$/);
});

test("snapshot - PUT restores the saved state and wakes a blocking query", async () => {
  await call("PUT", "/v1/kv/snap/b", "saved");
  const archive = Buffer.from(await (await call("GET", "/v1/snapshot")).arrayBuffer());
  await call("PUT", "/v1/kv/snap/b", "changed");
  await call("PUT", "/v1/kv/snap/c", "added after save");
  const list = await call("GET", "/v1/kv/snap/?recurse");
  const index = list.headers.get("x-consul-index");
  const started = Date.now();
  const blocked = call("GET", `/v1/kv/?recurse&index=${index}&wait=30s`);
  await new Promise((r) => setTimeout(r, 50));
  const put = await call("PUT", "/v1/snapshot", archive);
  assert.equal(put.status, 200);
  assert.equal(await put.text(), "");
  const woken = await blocked;
  assert.ok(Date.now() - started < 10_000, "the blocking query answered at the restore, not at its wait");
  assert.ok(Number(woken.headers.get("x-consul-index")) > Number(index));
  const keys = ((await woken.json()) as { Key: string }[]).map((e) => e.Key);
  assert.ok(keys.includes("snap/b"));
  assert.ok(!keys.includes("snap/c"));
  assert.equal(await kvValue("snap/b"), "saved");
  assert.equal(await kvValue("snap/c"), undefined);
  // Writes continue after the restore, at indexes past it.
  await call("PUT", "/v1/kv/snap/d", "after");
  assert.equal(await kvValue("snap/d"), "after");
});

test("snapshot - a corrupted archive is refused and the state is untouched", async () => {
  await call("PUT", "/v1/kv/snap/e", "keep");
  const archive = Buffer.from(await (await call("GET", "/v1/snapshot")).arrayBuffer());
  const tar = gunzipSync(archive);
  // Flip a byte inside state.bin: the second entry, after meta.json's header, data and its own header.
  const metaSize = parseInt(tar.subarray(124, 136).toString("ascii").replace(/\0.*$/s, ""), 8);
  const stateStart = 512 + Math.ceil(metaSize / 512) * 512 + 512;
  tar[stateStart + 2] ^= 0xff;
  await call("PUT", "/v1/kv/snap/e", "current");
  const res = await call("PUT", "/v1/snapshot", gzipSync(tar));
  assert.equal(res.status, 500);
  assert.equal(await res.text(), 'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
  assert.equal(await kvValue("snap/e"), "current");
  const junk = await call("PUT", "/v1/snapshot", "not an archive");
  assert.equal(junk.status, 500);
});

test("snapshot - GET streams the archive chunked, without a Content-Length", async () => {
  const res = await call("GET", "/v1/snapshot");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(res.headers.get("transfer-encoding"), "chunked");
  assert.ok(Number(res.headers.get("x-consul-index")) > 0);
  assert.ok(readSnapshotArchive(Buffer.from(await res.arrayBuffer())).state.length > 0);
});

test("snapshot - a truncated archive is refused with Consul's words and changes nothing", async () => {
  await call("PUT", "/v1/kv/snap/t", "before");
  const archive = Buffer.from(await (await call("GET", "/v1/snapshot")).arrayBuffer());
  await call("PUT", "/v1/kv/snap/t", "current");
  const res = await call("PUT", "/v1/snapshot", archive.subarray(0, archive.length - 6));
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "unexpected EOF");
  const empty = await call("PUT", "/v1/snapshot");
  assert.equal(empty.status, 500);
  assert.equal(await empty.text(), "failed to decompress snapshot: EOF");
  assert.equal(await kvValue("snap/t"), "current");
});

test("snapshot - a declared body over the streamed limit is refused before it is read", async () => {
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${agent.base}/v1/snapshot`, { method: "PUT", headers: { "Content-Length": String(2 * 1024 * 1024 * 1024) } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        // The answer came while the client still owed most of the body: stop sending.
        req.destroy();
      });
    });
    req.on("error", reject);
    req.write("x");
  });
  assert.equal(answer.status, 413);
  assert.match(answer.body, /^Request body\(2147483648 bytes\) too large, max size: 1073741824 bytes/);
});

test("snapshot - a state over 16 MiB saves and restores through the streams", async () => {
  const values = Array.from({ length: 42 }, () => randomBytes(500 * 1024));
  for (const [i, value] of values.entries()) {
    const put = await call("PUT", `/v1/kv/big/${i}`, value);
    assert.equal(put.status, 200);
  }
  const saved = Buffer.from(await (await call("GET", "/v1/snapshot")).arrayBuffer());
  // Random values do not compress: the archive itself is over 16 MiB.
  assert.ok(saved.length > 20 * 1024 * 1024, `archive of ${saved.length} bytes`);
  const { state } = readSnapshotArchive(saved);
  assert.ok(state.length > 20 * 1024 * 1024);
  for (let i = 0; i < 5; i++) await call("DELETE", `/v1/kv/big/${i}`);
  await call("PUT", "/v1/kv/big/0", "small");
  const put = await call("PUT", "/v1/snapshot", saved);
  assert.equal(put.status, 200, await put.clone().text());
  for (const i of [0, 3, 41]) {
    const res = await call("GET", `/v1/kv/big/${i}?raw`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(values[i]), `big/${i} restored`);
  }
});
