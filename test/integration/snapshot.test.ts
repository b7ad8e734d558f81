// Snapshots end to end: a real `agent -dev` (a lone Raft voter) and the real CLI launcher.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { readSnapshotArchive } from "../../src/storage/snapshot-archive.ts";
import { CONSULATE_BIN, freePort, spawnAgent, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

let agent: AgentProcess;
let dir: string;
before(async () => {
  agent = await spawnDevAgent();
  dir = mkdtempSync(join(tmpdir(), "consulate-snapshot-"));
});
after(async () => {
  await agent.kill();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], httpPort = agent.httpPort): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], {
      env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${httpPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const api = (method: string, path: string, body?: string | Buffer) =>
  fetch(agent.base + path, { method, body: typeof body === "string" || body === undefined ? body : new Uint8Array(body) });
const raw = async (key: string) => {
  const res = await api("GET", `/v1/kv/${key}?raw`);
  return res.status === 200 ? await res.text() : undefined;
};

test("snapshot - save, write more, restore through the CLI brings the old state back and wakes a blocking query", async () => {
  await api("PUT", "/v1/kv/app/version", "v1");
  await api("PUT", "/v1/kv/app/keep", "yes");
  const file = join(dir, "backup.snap");

  const saved = await cli(["snapshot", "save", file]);
  assert.equal(saved.code, 0, saved.err);
  assert.match(saved.out, /^Saved and verified snapshot to index \d+\n$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const savedIndex = Number(/index (\d+)/.exec(saved.out)?.[1]);

  const inspected = await cli(["snapshot", "inspect", file]);
  assert.equal(inspected.code, 0, inspected.err);
  const lines = inspected.out.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 5).map((l) => l.trim().split(/\s+/)[0]), ["ID", "Size", "Index", "Term", "Version"]);
  // Consul's per-type table: header, dashes, one row per type (largest first), dashes, total.
  assert.equal(lines[5], "");
  // text/tabwriter (minwidth 8, padding 6): each column as wide as its widest cell plus 6.
  const widest = Math.max(...lines.slice(8, -2).map((l) => l.trim().split(/\s+/)[0]?.length ?? 0)) + 1;
  assert.equal(lines[6], " Type".padEnd(widest + 6) + "Count      Size".padEnd(11 + Math.max(4, ...lines.slice(8).map((l) => l.trim().split(/\s+/).at(-1)?.length ?? 0)) + 6));
  assert.match(lines[7] ?? "", /^ ----\s+----\s+----\s+$/);
  const kvsRow = lines.find((l) => l.startsWith(" KVS "));
  assert.match(kvsRow ?? "", /^ KVS\s+2\s+\d+B\s+$/);
  assert.ok(lines.some((l) => /^ Register\s+\d+\s+[\d.]+K?B\s+$/.test(l)), inspected.out);
  assert.match(lines.at(-1) ?? "", /^ Total\s+[\d.]+K?B$/);
  const detailed = await cli(["snapshot", "inspect", "-kvdetails", "-kvdepth=1", file]);
  assert.equal(detailed.code, 0, detailed.err);
  const kvLines = detailed.out.trimEnd().split("\n");
  const keyHeader = kvLines.indexOf(" Key Name" + " ".repeat(21) + "Count" + " ".repeat(25) + "Size" + " ".repeat(26));
  assert.ok(keyHeader > 0, detailed.out);
  assert.equal(kvLines[keyHeader - 1], "");
  assert.match(kvLines[keyHeader + 2] ?? "", /^ app {26}2 {29}\d+B +$/);
  assert.match(lines[0], /^ ID {11}\d+-\d+-\d+$/);
  assert.equal(lines[2].trim().split(/\s+/)[1], String(savedIndex));
  assert.equal(lines[4].trim().split(/\s+/)[1], "1");

  await api("PUT", "/v1/kv/app/version", "v2");
  await api("PUT", "/v1/kv/app/new", "later");
  assert.equal(await raw("app/version"), "v2");

  const listing = await api("GET", "/v1/kv/app/?recurse");
  const index = Number(listing.headers.get("x-consul-index"));
  const started = Date.now();
  const blocked = api("GET", `/v1/kv/?recurse&index=${index}&wait=60s`);
  await new Promise((r) => setTimeout(r, 100));

  const restored = await cli(["snapshot", "restore", file]);
  assert.deepEqual(restored, { code: 0, out: "Restored snapshot\n", err: "" });

  const woken = await blocked;
  assert.ok(Date.now() - started < 30_000, "the blocking query answered at the restore");
  assert.ok(Number(woken.headers.get("x-consul-index")) > index);
  assert.deepEqual(((await woken.json()) as { Key: string }[]).map((e) => e.Key), ["app/keep", "app/version"]);
  assert.equal(await raw("app/version"), "v1");
  assert.equal(await raw("app/keep"), "yes");
  assert.equal(await raw("app/new"), undefined);

  // The agent keeps serving writes after the restore.
  assert.equal((await (await api("PUT", "/v1/kv/app/after", "ok")).text()).trim(), "true");
  assert.equal(await raw("app/after"), "ok");
});

test("snapshot - the CLI refuses a missing file argument and a damaged file", async () => {
  const missing = await cli(["snapshot", "save"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "Missing FILE argument\n");
  const noFile = await cli(["snapshot", "inspect", join(dir, "nope.snap")]);
  assert.equal(noFile.code, 1);
  assert.match(noFile.err, /^Error opening snapshot file: /);
  const damaged = join(dir, "damaged.snap");
  writeFileSync(damaged, "not a snapshot");
  const bad = await cli(["snapshot", "inspect", damaged]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Error extracting snapshot data: failed to decompress snapshot/);
  const refused = await cli(["snapshot", "restore", damaged]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^Error restoring snapshot: Unexpected response code: 500 \(failed to decompress snapshot/);
});

test("operator - list-peers and autopilot state on a dev agent show one healthy leader", async () => {
  const peers = await cli(["operator", "raft", "list-peers"]);
  assert.equal(peers.code, 0, peers.err);
  const rows = peers.out.trimEnd().split("\n");
  assert.equal(rows.length, 2);
  assert.match(rows[1], /\sleader\s+true\s+3\s+\d+\s+_$/);
  const health = await api("GET", "/v1/operator/autopilot/health");
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { Healthy: boolean }).Healthy, true);
});

test("snapshot - a state over 16 MiB saves, inspects and restores through the CLI, streamed both ways", async () => {
  const values = Array.from({ length: 42 }, () => randomBytes(500 * 1024));
  for (const [i, value] of values.entries()) assert.equal((await api("PUT", `/v1/kv/big/${i}`, value)).status, 200);
  const file = join(dir, "big.snap");
  const saved = await cli(["snapshot", "save", file]);
  assert.equal(saved.code, 0, saved.err);
  assert.ok(!existsSync(`${file}.unverified`), "the unverified download is renamed into place");
  assert.ok(statSync(file).size > 20 * 1024 * 1024, `archive of ${statSync(file).size} bytes`);
  const inspected = await cli(["snapshot", "inspect", "-format=json", file]);
  assert.equal(inspected.code, 0, inspected.err);
  assert.ok((JSON.parse(inspected.out) as { Meta: { Size: number } }).Meta.Size > 20 * 1024 * 1024);

  await api("DELETE", "/v1/kv/big/?recurse");
  assert.equal((await api("GET", "/v1/kv/big/7?raw")).status, 404);
  const restored = await cli(["snapshot", "restore", file]);
  assert.deepEqual(restored, { code: 0, out: "Restored snapshot\n", err: "" });
  for (const i of [0, 7, 41]) {
    const res = await api("GET", `/v1/kv/big/${i}?raw`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(values[i]), `big/${i} restored`);
  }
});

test("snapshot - truncated and re-summed archives are refused by restore and inspect, and change nothing", async () => {
  await api("PUT", "/v1/kv/guard", "before");
  const file = join(dir, "guard.snap");
  assert.equal((await cli(["snapshot", "save", file])).code, 0);
  await api("PUT", "/v1/kv/guard", "after");
  const archive = readFileSync(file);

  const truncated = join(dir, "truncated.snap");
  writeFileSync(truncated, archive.subarray(0, Math.floor(archive.length * 0.6)));
  const cut = await cli(["snapshot", "restore", truncated]);
  assert.equal(cut.code, 1);
  assert.match(cut.err, /^Error restoring snapshot: Unexpected response code: 500 \(failed to read snapshot file: .*unexpected EOF\)\n$/);
  const cutInspect = await cli(["snapshot", "inspect", truncated]);
  assert.match(cutInspect.err, /^Error extracting snapshot data: failed to read snapshot file: .*unexpected EOF\n$/);

  // A SHA256SUMS whose state.bin line is wrong (the tar stays well formed).
  const tar = gunzipSync(archive);
  const line = tar.indexOf(Buffer.from("  state.bin\n")) - 64;
  tar.write("0".repeat(64), line, "ascii");
  const badSums = join(dir, "bad-sums.snap");
  writeFileSync(badSums, gzipSync(tar));
  const refused = await cli(["snapshot", "restore", badSums]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.err,
    'Error restoring snapshot: Unexpected response code: 500 (failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin")\n',
  );
  assert.equal(await raw("guard"), "after");
});

test("snapshot - through a client agent, save is collected over RPC and restore buffered to the server", async (t) => {
  const serverSerfPort = await freePort();
  const server = await spawnDevAgent([`-server-port=${await freePort()}`, `-serf-lan-port=${serverSerfPort}`, "-node=snap-server"]);
  const dataDir = mkdtempSync(join(tmpdir(), "consulate-snapshot-client-"));
  t.after(async () => {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const httpPort = await freePort();
  const client = await spawnAgent(
    [
      `-retry-join=127.0.0.1:${serverSerfPort}`,
      `-data-dir=${dataDir}`,
      "-bind=127.0.0.1",
      "-node=snap-client",
      `-http-port=${httpPort}`,
      "-dns-port=-1",
      `-server-port=${await freePort()}`,
      `-serf-lan-port=${await freePort()}`,
    ],
    { httpPort, ready: async (base) => (await fetch(`${base}/v1/catalog/node/snap-client`)).status === 200 },
  );
  t.after(() => client.kill());
  const viaClient = (method: string, path: string, body?: string | Buffer) =>
    fetch(client.base + path, { method, body: typeof body === "string" || body === undefined ? body : new Uint8Array(body) });
  const serverValue = async (key: string) => (await fetch(`${server.base}/v1/kv/${key}?raw`)).text();

  await viaClient("PUT", "/v1/kv/fwd", "saved");
  const file = join(dataDir, "fwd.snap");
  const saved = await cli(["snapshot", "save", file], httpPort);
  assert.equal(saved.code, 0, saved.err);
  assert.ok(readSnapshotArchive(readFileSync(file)).state.length > 0);
  await viaClient("PUT", "/v1/kv/fwd", "changed");

  const tar = gunzipSync(readFileSync(file));
  tar[tar.indexOf(Buffer.from("  meta.json\n")) - 64] ^= 0x01;
  const bad = await viaClient("PUT", "/v1/snapshot", gzipSync(tar));
  assert.equal(bad.status, 500);
  assert.match(await bad.text(), /^failed to read snapshot file: failed checking integrity of snapshot: (hash check failed for "meta.json"|invalid SHA256SUMS line)/);
  assert.equal(await serverValue("fwd"), "changed");

  const restored = await cli(["snapshot", "restore", file], httpPort);
  assert.deepEqual(restored, { code: 0, out: "Restored snapshot\n", err: "" });
  assert.equal(await serverValue("fwd"), "saved");
});
