import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pipeline as pipelineCallback } from "node:stream";
import { constants as zlibConstants, createGunzip, createGzip, gunzipSync, gzipSync } from "node:zlib";
import { SnapshotArchiveParser, SnapshotTooLargeError, type ParsedSnapshot } from "./snapshot-archive-parser.ts";
import {
  META_NAME,
  SnapshotArchiveError,
  STATE_NAME,
  SUMS_NAME,
  tarHeader,
  tarPadding,
  type SnapshotContents,
  type SnapshotMeta,
} from "./snapshot-format.ts";

// Writing and reading the snapshot archive (spec/operator-snapshot-query.md §4): the streamed
// forms are what /v1/snapshot and the CLI use, so an archive never sits in memory whole on
// either side; the Buffer forms are the same code run over one chunk.

export { SnapshotArchiveError, SnapshotTooLargeError, type SnapshotContents, type SnapshotMeta };

/** state.bin goes out in slices of this size, so the gzip stream's backpressure has something to pace. */
const STATE_SLICE_BYTES = 1024 * 1024;
/** Go's gzip.NewReader reads this much header before anything else. */
const GZIP_HEADER_BYTES = 10;

export interface SnapshotReadLimits {
  /** Compressed bytes read before giving up (SnapshotTooLargeError "archive"). */
  maxArchiveBytes: number;
  /** Largest state.bin accepted, refused from its tar header (SnapshotTooLargeError "state"). */
  maxStateBytes: number;
}

/** Where a streamed read takes the compressed archive from (a request, a file stream, or one Buffer). */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const NO_LIMITS: SnapshotReadLimits = { maxArchiveBytes: Number.POSITIVE_INFINITY, maxStateBytes: Number.POSITIVE_INFINITY };

/** The tar of the archive in order; state.bin is handed out as views of `contents.state`, never copied. */
function* snapshotTar(contents: SnapshotContents, mtimeMs: number): Generator<Buffer> {
  const state = Buffer.from(contents.state.buffer, contents.state.byteOffset, contents.state.byteLength);
  const meta: SnapshotMeta = { ...contents.meta, Size: state.length };
  const metaBytes = Buffer.from(`${JSON.stringify(meta)}\n`);
  const mtime = Math.floor(mtimeMs / 1000);
  yield tarHeader(META_NAME, metaBytes.length, mtime);
  yield metaBytes;
  yield Buffer.alloc(tarPadding(metaBytes.length));
  yield tarHeader(STATE_NAME, state.length, mtime);
  const stateHash = createHash("sha256");
  for (let at = 0; at < state.length; at += STATE_SLICE_BYTES) {
    const slice = state.subarray(at, at + STATE_SLICE_BYTES);
    stateHash.update(slice);
    yield slice;
  }
  yield Buffer.alloc(tarPadding(state.length));
  const sums = Buffer.from(`${createHash("sha256").update(metaBytes).digest("hex")}  ${META_NAME}\n${stateHash.digest("hex")}  ${STATE_NAME}\n`);
  yield tarHeader(SUMS_NAME, sums.length, mtime);
  yield sums;
  yield Buffer.alloc(tarPadding(sums.length));
  // End of archive: two zero blocks.
  yield Buffer.alloc(1024);
}

/**
 * The gzip'd archive as a stream, produced as it is read: the tar is generated lazily from
 * `contents` (already serialized, so the snapshot is of one index) and compressed on demand.
 * `mtimeMs` stamps the entries (the caller's clock, not ours).
 */
export function snapshotArchiveStream(contents: SnapshotContents, mtimeMs: number): Readable {
  const gzip = createGzip();
  // Errors reach the consumer through gzip, which the pipeline destroys with them.
  pipelineCallback(Readable.from(snapshotTar(contents, mtimeMs), { objectMode: false }), gzip, () => undefined);
  return gzip;
}

/** The whole archive as one Buffer (tests, small tools). */
export function writeSnapshotArchive(contents: SnapshotContents, mtimeMs: number): Buffer {
  return gzipSync(Buffer.concat([...snapshotTar(contents, mtimeMs)]));
}

/**
 * Reads and verifies an archive held in memory: both files present, their SHA-256 matching
 * SHA256SUMS, meta.json parseable. Throws SnapshotArchiveError with Consul's wording otherwise.
 */
export function readSnapshotArchive(archive: Uint8Array, limits: SnapshotReadLimits = NO_LIMITS): SnapshotContents {
  if (archive.length > limits.maxArchiveBytes) throw new SnapshotTooLargeError("archive", archive.length, limits.maxArchiveBytes);
  checkGzipHeader(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength), true);
  const parser = new SnapshotArchiveParser({ maxStateBytes: limits.maxStateBytes });
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (err) {
    // Read what came before the break, so the error names what was being read, as a stream would.
    parser.push(decompressedPrefix(archive));
    throw parser.interrupted(zlibReason(err));
  }
  parser.push(tar);
  return parser.finish();
}

/**
 * Reads and verifies an archive as it arrives: gunzip, tar and SHA-256 run incrementally, and
 * only state.bin (needed whole for the restore's Raft entry) is held in memory. The caller owns
 * `source`: an early error stops reading but does not destroy it.
 */
export async function readSnapshotArchiveStream(source: ByteSource, limits: SnapshotReadLimits): Promise<SnapshotContents> {
  return readStream(source, limits, false);
}

/** Verifies an archive as it arrives without keeping state.bin (Consul's snapshot.Verify); returns the metadata. */
export async function verifySnapshotArchiveStream(source: ByteSource): Promise<SnapshotMeta> {
  return (await readStream(source, NO_LIMITS, true)).meta;
}

async function readStream(source: ByteSource, limits: SnapshotReadLimits, discardState: boolean): Promise<ParsedSnapshot> {
  const parser = new SnapshotArchiveParser({ maxStateBytes: limits.maxStateBytes, discardState });
  try {
    await pipeline(checkedCompressed(source, limits.maxArchiveBytes), createGunzip(), async (tar: AsyncIterable<Buffer>) => {
      for await (const chunk of tar) parser.push(chunk);
    });
  } catch (err) {
    if (err instanceof SnapshotArchiveError) throw err;
    if (isZlibError(err)) throw parser.interrupted(zlibReason(err));
    throw err;
  }
  return parser.finish();
}

function decompressedPrefix(archive: Uint8Array): Buffer {
  try {
    return gunzipSync(archive, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

/** Passes the compressed bytes on, counting them against the limit and checking the gzip header first. */
async function* checkedCompressed(source: ByteSource, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const bytes of source) {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    total += chunk.length;
    if (total > maxBytes) throw new SnapshotTooLargeError("archive", total, maxBytes);
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < GZIP_HEADER_BYTES) continue;
    checkGzipHeader(head, false);
    yield head;
    head = undefined;
  }
  if (head !== undefined) checkGzipHeader(head, true);
}

/** Go's gzip.NewReader errors, wrapped as snapshot.Read does. */
function checkGzipHeader(head: Buffer, complete: boolean): void {
  const fail = (reason: string): never => {
    throw new SnapshotArchiveError(`failed to decompress snapshot: ${reason}`);
  };
  if (head.length >= 3 && (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8)) fail("gzip: invalid header");
  if (complete && head.length === 0) fail("EOF");
  if (complete && head.length < GZIP_HEADER_BYTES) fail("unexpected EOF");
}

function isZlibError(err: unknown): boolean {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("Z_");
}

/** A zlib failure in the words of Go's compress/gzip. */
function zlibReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  if (code === "Z_BUF_ERROR") return "unexpected EOF";
  if (/incorrect (data|length) check/.test(message)) return "gzip: invalid checksum";
  if (/header/.test(message)) return "gzip: invalid header";
  return `flate: corrupt input (${message})`;
}
