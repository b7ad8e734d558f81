import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { readSnapshotArchive, SnapshotArchiveError, writeSnapshotArchive, type SnapshotMeta } from "../../../src/storage/snapshot-archive.ts";

const meta: SnapshotMeta = {
  Version: 1,
  ID: "2-42-1700000000000",
  Index: 42,
  Term: 2,
  Peers: "",
  Configuration: { Servers: [{ Suffrage: 0, ID: "11111111-2222-3333-4444-555555555555", Address: "127.0.0.1:8300" }] },
  ConfigurationIndex: 1,
  Size: 0,
};
const state = new Uint8Array(Buffer.from("state bytes ".repeat(100)));

/** Splits an uncompressed tar into (name, mode, data) entries. */
function entries(tar: Buffer): { name: string; mode: number; data: Buffer }[] {
  const out: { name: string; mode: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 512 <= tar.length && !tar.subarray(at, at + 512).every((b) => b === 0)) {
    const h = tar.subarray(at, at + 512);
    const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const mode = parseInt(h.subarray(100, 108).toString("ascii").replace(/\0.*$/s, ""), 8);
    const size = parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, ""), 8);
    out.push({ name, mode, data: tar.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

test("snapshot archive - gzip'd tar of meta.json, state.bin and SHA256SUMS, mode 0600", () => {
  const archive = writeSnapshotArchive({ meta, state }, 1_700_000_000_000);
  const files = entries(gunzipSync(archive));
  assert.deepEqual(files.map((f) => f.name), ["meta.json", "state.bin", "SHA256SUMS"]);
  for (const f of files) assert.equal(f.mode, 0o600);
  const metaJson = files[0].data.toString("utf8");
  assert.ok(metaJson.endsWith("}\n"));
  assert.equal((JSON.parse(metaJson) as SnapshotMeta).Size, state.length);
  assert.deepEqual(new Uint8Array(files[1].data), state);
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  assert.equal(files[2].data.toString(), `${sha(files[0].data)}  meta.json\n${sha(files[1].data)}  state.bin\n`);
});

test("snapshot archive - read returns the metadata and state it was written with", () => {
  const read = readSnapshotArchive(writeSnapshotArchive({ meta, state }, 0));
  assert.deepEqual(new Uint8Array(read.state), state);
  assert.deepEqual(read.meta, { ...meta, Size: state.length });
});

test("snapshot archive - a tampered state.bin fails the integrity check", () => {
  const tar = gunzipSync(writeSnapshotArchive({ meta, state }, 0));
  const at = tar.indexOf(Buffer.from("state bytes"));
  tar[at] ^= 0xff;
  assert.throws(() => readSnapshotArchive(gzipSync(tar)), (err: unknown) => {
    assert.ok(err instanceof SnapshotArchiveError);
    assert.match(err.message, /^failed checking integrity of snapshot: file "state.bin" has an invalid hash/);
    return true;
  });
});

test("snapshot archive - an entry with any other name is refused", () => {
  const tar = gunzipSync(writeSnapshotArchive({ meta, state }, 0));
  // Rename state.bin to evil.bin (same length) and fix the header checksum.
  const second = entries(tar)[1];
  assert.equal(second.name, "state.bin");
  const start = tar.indexOf(Buffer.from("state.bin\0"));
  tar.write("evil.bin\0", start, "ascii");
  const headerStart = start - (start % 512);
  const h = tar.subarray(headerStart, headerStart + 512);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "binary");
  assert.throws(() => readSnapshotArchive(gzipSync(tar)), /unexpected file "evil.bin"/);
});

test("snapshot archive - not gzip is reported, not thrown raw", () => {
  assert.throws(() => readSnapshotArchive(Buffer.from("plain text")), SnapshotArchiveError);
});

test("snapshot archive - GNU tar lists and extracts what we write", () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-snap-"));
  try {
    const file = join(dir, "backup.snap");
    writeFileSync(file, writeSnapshotArchive({ meta, state }, 1_700_000_000_000));
    const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" });
    assert.equal(listing, "meta.json\nstate.bin\nSHA256SUMS\n");
    execFileSync("tar", ["-xzf", file, "-C", dir]);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, "state.bin"))), state);
    assert.equal(statSync(join(dir, "meta.json")).mode & 0o777, 0o600);
    const sums = execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
    assert.match(sums, /meta.json: OK\nstate.bin: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("snapshot archive - an archive made by GNU tar from our files reads back", () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-snap-"));
  try {
    const file = join(dir, "backup.snap");
    writeFileSync(file, writeSnapshotArchive({ meta, state }, 0));
    execFileSync("tar", ["-xzf", file, "-C", dir]);
    const repacked = join(dir, "repacked.snap");
    execFileSync("tar", ["-czf", repacked, "-C", dir, "meta.json", "state.bin", "SHA256SUMS"]);
    const read = readSnapshotArchive(readFileSync(repacked));
    assert.deepEqual(new Uint8Array(read.state), state);
    assert.equal(read.meta.Index, 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
