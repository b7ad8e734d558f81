import { after, before, test } from "node:test";
import assert from "node:assert/strict";
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
  assert.match(await res.text(), /^failed checking integrity of snapshot/);
  assert.equal(await kvValue("snap/e"), "current");
  const junk = await call("PUT", "/v1/snapshot", "not an archive");
  assert.equal(junk.status, 500);
});
