import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeConsul } from "./fake-consul.ts";
import type { FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";
import { importKey } from "../../../src/cli/kv.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const pair = (Key: string, value: string | null, extra: Record<string, unknown> = {}) => ({
  Key,
  CreateIndex: 5,
  ModifyIndex: 7,
  LockIndex: 0,
  Flags: 0,
  Value: value === null ? null : b64(value),
  ...extra,
});

let consul: FakeConsul;
let dir: string;
before(async () => {
  consul = await startFakeConsul();
  dir = await mkdtemp(join(tmpdir(), "consulate-cli-kv-"));
});
after(async () => {
  await consul.close();
  await rm(dir, { recursive: true, force: true });
});

function route(key: string, handler: Parameters<FakeConsul["routes"]["set"]>[1]) {
  consul.routes.set(key, handler);
}

void test("kv get - prints the raw value and a newline", async () => {
  route("GET /v1/kv/foo", () => ({ body: [pair("foo", "bar")] }));
  const r = await runCli(["kv", "get", "foo"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "bar\n", err: "" });
});

void test("kv get - missing key prints `Error! No key exists at:` and exits 1", async () => {
  const r = await runCli(["kv", "get", "/nope"], { address: consul.address });
  assert.equal(r.code, 1);
  assert.equal(r.err, "Error! No key exists at: nope\n");
  assert.equal(r.out, "");
});

void test("kv get - key with empty value prints an empty line", async () => {
  route("GET /v1/kv/empty", () => ({ body: [pair("empty", null)] }));
  const r = await runCli(["kv", "get", "empty"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "\n", err: "" });
});

void test("kv get - without a key and without -recurse/-keys is an error", async () => {
  const r = await runCli(["kv", "get"], { address: consul.address });
  assert.equal(r.code, 1);
  assert.equal(r.err, "Error! Missing KEY argument\n");
});

void test("kv get -detailed - aligned fields with `-` for no session", async () => {
  route("GET /v1/kv/d", () => ({ body: [pair("d", "v", { Flags: 42 })] }));
  const r = await runCli(["kv", "get", "-detailed", "d"], { address: consul.address });
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      "CreateIndex      5",
      "Flags            42",
      "Key              d",
      "LockIndex        0",
      "ModifyIndex      7",
      "Session          -",
      "Value            v",
      "",
    ].join("\n"),
  );
});

void test("kv get -recurse - key:value lines; -base64 encodes values", async () => {
  route("GET /v1/kv/app", (req) => {
    assert.equal(req.query.has("recurse"), true);
    return { body: [pair("app/a", "1"), pair("app/b", "2")] };
  });
  const r = await runCli(["kv", "get", "-recurse", "app"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "app/a:1\napp/b:2\n", err: "" });
  const r64 = await runCli(["kv", "get", "-recurse", "-base64", "app"], { address: consul.address });
  assert.equal(r64.out, `app/a:${b64("1")}\napp/b:${b64("2")}\n`);
});

void test("kv get -keys - sends keys and separator, prints one key per line", async () => {
  route("GET /v1/kv/", (req) => {
    assert.equal(req.query.has("keys"), true);
    assert.equal(req.query.get("separator"), "/");
    return { body: ["app/", "top"] };
  });
  const r = await runCli(["kv", "get", "-keys"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "app/\ntop\n", err: "" });
});

void test("kv get -stale and -datacenter add ?stale and ?dc", async () => {
  route("GET /v1/kv/s", (req) => {
    assert.equal(req.query.has("stale"), true);
    assert.equal(req.query.get("dc"), "dc2");
    return { body: [pair("s", "x")] };
  });
  const r = await runCli(["kv", "get", "-stale", "-datacenter=dc2", "s"], { address: consul.address });
  assert.equal(r.out, "x\n");
});

void test("kv get - server errors are reported like consul's api package", async () => {
  route("GET /v1/kv/boom", () => ({ status: 500, body: "rpc error\n" }));
  const r = await runCli(["kv", "get", "boom"], { address: consul.address });
  assert.equal(r.code, 1);
  assert.equal(r.err, "Error querying Consul agent: Unexpected response code: 500 (rpc error)\n");
});

void test("kv put - literal data, flags and success line", async () => {
  let seen: { body: string; flags: string | null } | undefined;
  route("PUT /v1/kv/cfg/max", (req) => {
    seen = { body: req.body.toString(), flags: req.query.get("flags") };
    return { body: true };
  });
  const r = await runCli(["kv", "put", "-flags=3", "cfg/max", "5"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "Success! Data written to: cfg/max\n", err: "" });
  assert.deepEqual(seen, { body: "5", flags: "3" });
});

void test("kv put - -flags beyond 2^53 (lock and semaphore flag values) are sent digit for digit", async () => {
  const seen: (string | null)[] = [];
  route("PUT /v1/kv/locks/leader", (req) => {
    seen.push(req.query.get("flags"));
    return { body: true };
  });
  for (const flags of ["3304740253564472344", "16210313421097356768"]) {
    const r = await runCli(["kv", "put", `-flags=${flags}`, "locks/leader"], { address: consul.address });
    assert.deepEqual(r, { code: 0, out: "Success! Data written to: locks/leader\n", err: "" });
  }
  assert.deepEqual(seen, ["3304740253564472344", "16210313421097356768"]);
  const tooBig = await runCli(["kv", "put", "-flags=18446744073709551616", "locks/leader"], { address: consul.address });
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.err, /invalid value "18446744073709551616" for flag -flags: value out of range/);
  assert.equal(seen.length, 2);
});

void test("kv put - @file and - (stdin) data sources", async () => {
  const bodies: string[] = [];
  route("PUT /v1/kv/f", (req) => {
    bodies.push(req.body.toString());
    return { body: true };
  });
  const file = join(dir, "data.txt");
  await writeFile(file, "from-file");
  assert.equal((await runCli(["kv", "put", "f", `@${file}`], { address: consul.address })).code, 0);
  assert.equal((await runCli(["kv", "put", "f", "-"], { address: consul.address, stdin: "from-stdin" })).code, 0);
  assert.equal((await runCli(["kv", "put", "f"], { address: consul.address })).code, 0);
  assert.deepEqual(bodies, ["from-file", "from-stdin", ""]);
});

void test("kv put -base64 - decodes the data before writing", async () => {
  let body = "";
  route("PUT /v1/kv/b", (req) => {
    body = req.body.toString();
    return { body: true };
  });
  await runCli(["kv", "put", "-base64", "b", b64("hello")], { address: consul.address });
  assert.equal(body, "hello");
});

void test("kv put -cas - CAS failure prints `Did not write` and exits 1", async () => {
  route("PUT /v1/kv/c", (req) => {
    assert.equal(req.query.get("cas"), "9");
    return { body: false };
  });
  const r = await runCli(["kv", "put", "-cas", "-modify-index=9", "c", "v"], { address: consul.address });
  assert.deepEqual(r, { code: 1, out: "", err: "Error! Did not write to c: CAS failed\n" });
  const noIndex = await runCli(["kv", "put", "-cas", "c", "v"], { address: consul.address });
  assert.equal(noIndex.err, "Must specify -modify-index with -cas!\n");
});

void test("kv put -acquire / -release - session required, lock lines", async () => {
  route("PUT /v1/kv/lock", (req) => ({ body: req.query.get("acquire") === "s1" || req.query.get("release") === "s1" }));
  const acquired = await runCli(["kv", "put", "-acquire", "-session=s1", "lock"], { address: consul.address });
  assert.equal(acquired.out, "Success! Lock acquired on: lock\n");
  const released = await runCli(["kv", "put", "-release", "-session=s1", "lock"], { address: consul.address });
  assert.equal(released.out, "Success! Lock released on: lock\n");
  const refused = await runCli(["kv", "put", "-acquire", "-session=other", "lock"], { address: consul.address });
  assert.deepEqual(refused, { code: 1, out: "", err: "Error! Did not acquire lock\n" });
  const noSession = await runCli(["kv", "put", "-acquire", "lock"], { address: consul.address });
  assert.equal(noSession.err, "Error! Missing -session (required with -acquire and -release)\n");
});

void test("kv delete - single key, recurse and cas", async () => {
  route("DELETE /v1/kv/d", (req) => ({ body: req.query.has("cas") ? req.query.get("cas") === "4" : true }));
  assert.equal((await runCli(["kv", "delete", "d"], { address: consul.address })).out, "Success! Deleted key: d\n");
  const recurse = await runCli(["kv", "delete", "-recurse", "d"], { address: consul.address });
  assert.equal(recurse.out, "Success! Deleted keys with prefix: d\n");
  assert.equal(consul.requests.at(-1)?.query.has("recurse"), true);
  assert.equal((await runCli(["kv", "delete", "-cas", "-modify-index=4", "d"], { address: consul.address })).code, 0);
  const casFail = await runCli(["kv", "delete", "-cas", "-modify-index=5", "d"], { address: consul.address });
  assert.deepEqual(casFail, { code: 1, out: "", err: "Error! Did not delete key d: CAS failed\n" });
  const both = await runCli(["kv", "delete", "-cas", "-modify-index=5", "-recurse", "d"], { address: consul.address });
  assert.deepEqual(both, { code: 1, out: "", err: "Cannot specify both -cas and -recurse!\n" });
});

void test("kv export - tab-indented JSON array of key, flags, base64 value", async () => {
  route("GET /v1/kv/exp", () => ({ body: [pair("exp/a", "<1>", { Flags: 2 })] }));
  const r = await runCli(["kv", "export", "exp"], { address: consul.address });
  assert.equal(r.code, 0);
  assert.equal(r.out, `[\n\t{\n\t\t"key": "exp/a",\n\t\t"flags": 2,\n\t\t"value": "${b64("<1>")}"\n\t}\n]\n`);
  const empty = await runCli(["kv", "export", "none"], { address: consul.address });
  assert.equal(empty.out, "[]\n");
});

void test("kv import - writes each entry with -prefix and prints Imported lines", async () => {
  const writes: { path: string; body: string; flags: string | null }[] = [];
  const capture = (req: Parameters<Parameters<FakeConsul["routes"]["set"]>[1]>[0]) => {
    writes.push({ path: req.path, body: req.body.toString(), flags: req.query.get("flags") });
    return { body: true };
  };
  route("PUT /v1/kv/p/a", capture);
  route("PUT /v1/kv/p/dir/", capture);
  const data = JSON.stringify([
    { key: "a", flags: 1, value: b64("x") },
    { Key: "dir/", Flags: 0, Value: "" },
  ]);
  const r = await runCli(["kv", "import", "-prefix=p", "-"], { address: consul.address, stdin: data });
  assert.deepEqual(r, { code: 0, out: "Imported: p/a\nImported: p/dir/\n", err: "" });
  assert.deepEqual(writes, [
    { path: "/v1/kv/p/a", body: "x", flags: "1" },
    { path: "/v1/kv/p/dir/", body: "", flags: null },
  ]);
  const bad = await runCli(["kv", "import", "{not json"], { address: consul.address });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Cannot unmarshal data: /);
});

void test("kv import - keys are joined and cleaned like Go's path.Join", () => {
  assert.equal(importKey("", "a//b"), "a/b");
  assert.equal(importKey("pre/", "x"), "pre/x");
  assert.equal(importKey("pre", "dir/"), "pre/dir/");
});
