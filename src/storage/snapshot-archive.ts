import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";

// The snapshot archive of spec/operator-snapshot-query.md §4 (Consul's snapshot/archive.go):
// a gzip stream of a tar holding meta.json, state.bin and SHA256SUMS.
//
// The tar is written and read by hand rather than with an npm tar package: the archive has
// exactly three small regular files, so all it needs is the 512-byte ustar header (name,
// mode, size, mtime, checksum, type) and zero padding — about sixty lines. A general tar
// library would bring streams, long names, links and extraction to disk we must not allow,
// and a dependency for every server.

/** Raft snapshot metadata as Consul writes it to meta.json (hashicorp/raft SnapshotMeta). */
export interface SnapshotMeta {
  Version: number;
  /** "<term>-<index>-<unix-ms>" */
  ID: string;
  Index: number;
  Term: number;
  /** Legacy (protocol < 3) peer list, base64 of a JSON array; kept for the field's sake. */
  Peers: string;
  Configuration: { Servers: { Suffrage: number; ID: string; Address: string }[] };
  ConfigurationIndex: number;
  /** Bytes of state.bin. */
  Size: number;
}

export interface SnapshotContents {
  meta: SnapshotMeta;
  state: Uint8Array;
}

/** The archive is damaged or not one of ours; `message` is what restore/inspect report. */
export class SnapshotArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotArchiveError";
  }
}

const BLOCK = 512;
const META_NAME = "meta.json";
const STATE_NAME = "state.bin";
const SUMS_NAME = "SHA256SUMS";
const FILE_MODE = 0o600;

/** Builds the gzip'd tar. `mtimeMs` stamps the entries (the caller's clock, not ours). */
export function writeSnapshotArchive(contents: SnapshotContents, mtimeMs: number): Buffer {
  const meta: SnapshotMeta = { ...contents.meta, Size: contents.state.length };
  const metaBytes = Buffer.from(`${JSON.stringify(meta)}\n`);
  const stateBytes = Buffer.from(contents.state.buffer, contents.state.byteOffset, contents.state.byteLength);
  const sums = Buffer.from(`${sha256(metaBytes)}  ${META_NAME}\n${sha256(stateBytes)}  ${STATE_NAME}\n`);
  const mtime = Math.floor(mtimeMs / 1000);
  const tar = Buffer.concat([
    tarEntry(META_NAME, metaBytes, mtime),
    tarEntry(STATE_NAME, stateBytes, mtime),
    tarEntry(SUMS_NAME, sums, mtime),
    // End of archive: two zero blocks.
    Buffer.alloc(BLOCK * 2),
  ]);
  return gzipSync(tar);
}

/**
 * Reads and verifies an archive: both files present, their SHA-256 matching SHA256SUMS and
 * meta.json parseable. Throws SnapshotArchiveError with Consul's wording otherwise.
 */
export function readSnapshotArchive(archive: Uint8Array): SnapshotContents {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (err) {
    throw new SnapshotArchiveError(`failed to decompress snapshot: ${err instanceof Error ? err.message : String(err)}`);
  }
  const files = readTar(tar);
  const metaBytes = files.get(META_NAME);
  const stateBytes = files.get(STATE_NAME);
  const sumsBytes = files.get(SUMS_NAME);
  if (!metaBytes || !stateBytes || !sumsBytes) throw new SnapshotArchiveError("failed checking integrity of snapshot: missing file in archive");
  const expected = parseSums(sumsBytes.toString("utf8"));
  for (const [name, bytes] of [
    [META_NAME, metaBytes],
    [STATE_NAME, stateBytes],
  ] as const) {
    const want = expected.get(name);
    if (want === undefined) throw new SnapshotArchiveError(`failed checking integrity of snapshot: file missing from SHA256SUMS: ${name}`);
    if (want !== sha256(bytes)) throw new SnapshotArchiveError(`failed checking integrity of snapshot: file "${name}" has an invalid hash`);
  }
  return { meta: parseMeta(metaBytes), state: stateBytes };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function parseSums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new SnapshotArchiveError(`failed checking integrity of snapshot: invalid SHA256SUMS line ${JSON.stringify(line)}`);
    out.set(m[2], m[1]);
  }
  return out;
}

function parseMeta(bytes: Buffer): SnapshotMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new SnapshotArchiveError(`failed to decode snapshot metadata: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== "object" || raw === null) throw new SnapshotArchiveError("failed to decode snapshot metadata: not an object");
  const m = raw as Record<string, unknown>;
  const servers = (m.Configuration as { Servers?: unknown } | null | undefined)?.Servers;
  return {
    Version: Number(m.Version ?? 0),
    ID: String(m.ID ?? ""),
    Index: Number(m.Index ?? 0),
    Term: Number(m.Term ?? 0),
    Peers: String(m.Peers ?? ""),
    Configuration: { Servers: Array.isArray(servers) ? (servers as SnapshotMeta["Configuration"]["Servers"]) : [] },
    ConfigurationIndex: Number(m.ConfigurationIndex ?? 0),
    Size: Number(m.Size ?? 0),
  };
}

// ---- tar (ustar) ----

function tarEntry(name: string, data: Buffer, mtimeSec: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, "utf8");
  writeOctal(header, 100, 8, FILE_MODE);
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, data.length);
  writeOctal(header, 136, 12, mtimeSec);
  header.write("        ", 148, 8, "ascii"); // checksum field counts as spaces while summing
  header.write("0", 156, 1, "ascii"); // regular file
  header.write("ustar\u000000", 257, 8, "binary");
  let sum = 0;
  for (const b of header) sum += b;
  // Six octal digits, NUL, space: what GNU and Go's archive/tar both accept.
  header.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "binary");
  const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([header, data, Buffer.alloc(padding)]);
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, width, "ascii");
}

function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!validChecksum(header)) throw new SnapshotArchiveError("failed to read snapshot file: archive/tar: invalid tar header");
    const name = cString(header.subarray(0, 100));
    const prefix = cString(header.subarray(345, 500));
    const fullName = prefix === "" ? name : `${prefix}/${name}`;
    const size = readOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]);
    at += BLOCK;
    if (at + size > tar.length) throw new SnapshotArchiveError("failed to read snapshot file: unexpected EOF");
    const data = tar.subarray(at, at + size);
    at += size + ((BLOCK - (size % BLOCK)) % BLOCK);
    // PAX/GNU extension headers carry no file of their own; other tools may add them.
    if (type === "x" || type === "g" || type === "L" || type === "K") continue;
    if (fullName !== META_NAME && fullName !== STATE_NAME && fullName !== SUMS_NAME) {
      throw new SnapshotArchiveError(`failed checking integrity of snapshot: unexpected file "${fullName}" in snapshot`);
    }
    files.set(fullName, Buffer.from(data));
  }
  return files;
}

function validChecksum(header: Buffer): boolean {
  const recorded = readOctal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === recorded;
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
}

function readOctal(field: Buffer): number {
  const text = cString(field).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new SnapshotArchiveError("failed to read snapshot file: archive/tar: invalid tar header");
  return parseInt(text, 8);
}
