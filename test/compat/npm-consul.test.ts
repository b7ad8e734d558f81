import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import Consul from "consul";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// The npm `consul` client (v2), unchanged, against a real `consulate agent -dev` process.

let agent: AgentProcess;
let consul: Consul;
before(async () => {
  agent = await spawnDevAgent();
  consul = new Consul({ host: "127.0.0.1", port: agent.httpPort });
});
after(async () => {
  consul?.destroy();
  await agent?.kill();
});

test("npm consul - kv set/get/keys/del round-trip", async () => {
  assert.equal(await consul.kv.set("app/db/url", "postgres://db"), true);
  assert.equal(await consul.kv.set({ key: "app/db/pool", value: "10", flags: 42 }), true);
  const item = await consul.kv.get("app/db/url");
  assert.equal(item?.Value, "postgres://db");
  assert.equal(item?.Key, "app/db/url");
  const pool = await consul.kv.get("app/db/pool");
  assert.equal(pool?.Flags, 42);
  assert.deepEqual(await consul.kv.keys("app/"), ["app/db/pool", "app/db/url"]);
  const listed = await consul.kv.get({ key: "app/", recurse: true });
  assert.ok(Array.isArray(listed));
  assert.equal(listed.length, 2);
  // The client maps a 404 to undefined.
  assert.equal(await consul.kv.get("app/missing"), undefined);
  assert.equal(await consul.kv.del({ key: "app/", recurse: true }), true);
  assert.equal(await consul.kv.get("app/db/url"), undefined);
});

test("npm consul - kv cas succeeds once per ModifyIndex", async () => {
  await consul.kv.set("cas/key", "1");
  const item = await consul.kv.get("cas/key");
  assert.ok(item);
  assert.equal(await consul.kv.set({ key: "cas/key", value: "2", cas: item.ModifyIndex }), true);
  // The body is JSON `false`; the client turns a falsy body into undefined.
  assert.notEqual(await consul.kv.set({ key: "cas/key", value: "3", cas: item.ModifyIndex }), true);
  assert.equal((await consul.kv.get("cas/key"))?.Value, "2");
});

test("npm consul - status.leader and status.peers", async () => {
  assert.equal(await consul.status.leader(), "127.0.0.1:8300");
  assert.deepEqual(await consul.status.peers(), ["127.0.0.1:8300"]);
});

test("npm consul - a watch on a key fires when the key changes", async () => {
  await consul.kv.set("watched/key", "v1");
  const watch = consul.watch({ method: consul.kv.get, options: { key: "watched/key" } });
  const seen: string[] = [];
  const changed = new Promise<void>((resolve, reject) => {
    watch.on("change", (data: { Value?: string } | null) => {
      seen.push(data?.Value ?? "");
      if (data?.Value === "v2") resolve();
    });
    watch.on("error", reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  await consul.kv.set("watched/key", "v2");
  await changed;
  watch.end();
  assert.deepEqual(seen.slice(-1), ["v2"]);
  assert.equal(seen[0], "v1");
});
