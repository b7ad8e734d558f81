import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  readSnapshotArchive,
  readSnapshotArchiveStream,
  snapshotArchiveStream,
  SnapshotArchiveError,
  SnapshotTooLargeError,
  verifySnapshotArchiveStream,
  writeSnapshotArchive,
  type SnapshotMeta,
} from "../../../src/storage/snapshot-archive.ts";

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
    assert.equal(err.message, 'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
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
  assert.throws(() => readSnapshotArchive(Buffer.from("plain text")), { name: "SnapshotArchiveError", message: "failed to decompress snapshot: gzip: invalid header" });
  assert.throws(() => readSnapshotArchive(Buffer.alloc(0)), { message: "failed to decompress snapshot: EOF" });
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

const unlimited = { maxArchiveBytes: Number.POSITIVE_INFINITY, maxStateBytes: Number.POSITIVE_INFINITY };
const bigState = new Uint8Array(randomBytes(3 * 1024 * 1024 + 77));

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The bytes in chunks of `size`, as a slow network would hand them over. */
function* chunked(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Replaces SHA256SUMS' line for `name` (same length, header untouched) in an uncompressed tar. */
function withSumsLine(tar: Buffer, name: string, line: string): Buffer {
  const out = Buffer.from(tar);
  const at = out.indexOf(Buffer.from(`  ${name}\n`)) - 64;
  out.write(line, at, "ascii");
  return out;
}

async function streamedError(archive: Buffer, limits = unlimited, chunkSize = 4096): Promise<SnapshotArchiveError> {
  try {
    await readSnapshotArchiveStream(chunked(archive, chunkSize), limits);
  } catch (err) {
    assert.ok(err instanceof SnapshotArchiveError, String(err));
    return err;
  }
  assert.fail("the archive was accepted");
}

test("snapshot archive stream - the streamed writer produces the same tar as the buffered one", async () => {
  const streamed = await collect(snapshotArchiveStream({ meta, state: bigState }, 1_700_000_000_000));
  assert.deepEqual(gunzipSync(streamed), gunzipSync(writeSnapshotArchive({ meta, state: bigState }, 1_700_000_000_000)));
  const read = readSnapshotArchive(streamed);
  assert.deepEqual(new Uint8Array(read.state), bigState);
  assert.equal(read.meta.Size, bigState.length);
});

test("snapshot archive stream - reads back what was written, in chunks of any size", async () => {
  const archive = writeSnapshotArchive({ meta, state }, 0);
  for (const size of [1, 7, 511, 512, 513, archive.length]) {
    const read = await readSnapshotArchiveStream(chunked(archive, size), unlimited);
    assert.deepEqual(new Uint8Array(read.state), state, `chunks of ${size}`);
    assert.deepEqual(read.meta, { ...meta, Size: state.length });
  }
  const big = await readSnapshotArchiveStream(Readable.from(chunked(writeSnapshotArchive({ meta, state: bigState }, 0), 65_536)), unlimited);
  assert.deepEqual(new Uint8Array(big.state), bigState);
});

test("snapshot archive stream - verify checks the archive and returns the metadata without the state", async () => {
  const archive = writeSnapshotArchive({ meta, state: bigState }, 0);
  assert.deepEqual(await verifySnapshotArchiveStream(chunked(archive, 10_000)), { ...meta, Size: bigState.length });
  const tar = gunzipSync(archive);
  tar[512 + 512 + 512 + 1000] ^= 0x01; // inside state.bin: after meta.json's header and one block of data, and its own header
  await assert.rejects(verifySnapshotArchiveStream([gzipSync(tar)]), { message: /hash check failed for "state.bin"/ });
});

test("snapshot archive stream - a wrong or missing SHA256SUMS line is refused with Consul's words", async () => {
  const tar = gunzipSync(writeSnapshotArchive({ meta, state }, 0));
  const zeros = "0".repeat(64);
  assert.equal(
    (await streamedError(gzipSync(withSumsLine(tar, "meta.json", zeros)))).message,
    'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "meta.json"',
  );
  assert.equal(
    (await streamedError(gzipSync(withSumsLine(tar, "state.bin", `${zeros}  other.bi`)))).message,
    'failed to read snapshot file: failed checking integrity of snapshot: list missing hash for "other.bin"',
  );
  // The same archive, read from memory, says the same.
  assert.throws(() => readSnapshotArchive(gzipSync(withSumsLine(tar, "meta.json", zeros))), { message: /hash check failed for "meta.json"/ });
});

test("snapshot archive stream - a truncated gzip stream is refused where it breaks off", async () => {
  const archive = writeSnapshotArchive({ meta, state: bigState }, 0);
  const cut = archive.subarray(0, Math.floor(archive.length / 2));
  const expected = "failed to read snapshot file: failed to read or write snapshot data: unexpected EOF";
  assert.equal((await streamedError(cut)).message, expected);
  assert.throws(() => readSnapshotArchive(cut), { message: expected });
  // Cut inside the gzip trailer: every tar byte is there, but the stream is not whole.
  assert.equal((await streamedError(archive.subarray(0, archive.length - 4))).message, "unexpected EOF");
  assert.equal((await streamedError(archive.subarray(0, 5))).message, "failed to decompress snapshot: unexpected EOF");
  assert.equal((await streamedError(Buffer.alloc(0))).message, "failed to decompress snapshot: EOF");
});

test("snapshot archive stream - a flipped byte in the compressed data is refused", async () => {
  const archive = Buffer.from(writeSnapshotArchive({ meta, state: bigState }, 0));
  archive[Math.floor(archive.length / 2)] ^= 0xff;
  const err = await streamedError(archive);
  assert.match(err.message, /^failed to read snapshot file: failed to read or write snapshot data: (flate: corrupt input|gzip: invalid checksum)|hash check failed/);
});

test("snapshot archive stream - the archive and state.bin size limits stop the read", async () => {
  const archive = writeSnapshotArchive({ meta, state: bigState }, 0);
  const tooBig = await streamedError(archive, { maxArchiveBytes: 1024 * 1024, maxStateBytes: Number.POSITIVE_INFINITY });
  assert.ok(tooBig instanceof SnapshotTooLargeError);
  assert.equal(tooBig.what, "archive");
  // state.bin is refused from its header: the stream after it is never read.
  let pulled = 0;
  const source = (function* () {
    for (const chunk of chunked(archive, 4096)) {
      pulled += chunk.length;
      yield chunk;
    }
  })();
  try {
    await readSnapshotArchiveStream(source, { maxArchiveBytes: Number.POSITIVE_INFINITY, maxStateBytes: 1024 });
    assert.fail("accepted");
  } catch (err) {
    assert.ok(err instanceof SnapshotTooLargeError);
    assert.equal(err.what, "state");
    assert.equal(err.size, bigState.length);
  }
  assert.ok(pulled < archive.length / 2, `read ${pulled} of ${archive.length} bytes`);
});
