// The snapshot archive of spec/operator-snapshot-query.md §4 (Consul's snapshot/archive.go):
// a gzip stream of a tar holding meta.json, state.bin and SHA256SUMS. This file holds what
// the writer and the reader share: the names, the metadata shape, the error, and the 512-byte
// ustar header.
//
// The tar is written and read by hand rather than with an npm tar package: the archive has
// exactly three regular files, so all it needs is the ustar header (name, mode, size, mtime,
// checksum, type) and zero padding. A general tar library would bring long names, links and
// extraction to disk that a restore must refuse anyway, and a dependency for every server.

/** Raft snapshot metadata as Consul writes it to meta.json (hashicorp/raft SnapshotMeta). */
export interface SnapshotMeta {
  Version: number;
  /** "<term>-<index>-<unix-ms>" */
  ID: string;
  Index: number;
  Term: number;
  /** Legacy (protocol < 3) peer list: base64 of the msgpack'd server addresses; kept for the field's sake. */
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

/** The archive is damaged or not one of ours; `message` is what restore/inspect report (Consul's wording). */
export class SnapshotArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotArchiveError";
  }
}

export const TAR_BLOCK = 512;
export const META_NAME = "meta.json";
export const STATE_NAME = "state.bin";
export const SUMS_NAME = "SHA256SUMS";
const FILE_MODE = 0o600;

/** Zero bytes that pad a file's data up to the next 512-byte block. */
export function tarPadding(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

/** The ustar header of a regular file of `size` bytes. */
export function tarHeader(name: string, size: number, mtimeSec: number): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  header.write(name, 0, 100, "utf8");
  writeOctal(header, 100, 8, FILE_MODE);
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, mtimeSec);
  header.write("        ", 148, 8, "ascii"); // checksum field counts as spaces while summing
  header.write("0", 156, 1, "ascii"); // regular file
  header.write("ustar\u000000", 257, 8, "binary");
  let sum = 0;
  for (const b of header) sum += b;
  // Six octal digits, NUL, space: what GNU and Go's archive/tar both accept.
  header.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "binary");
  return header;
}

export interface TarEntryHeader {
  name: string;
  size: number;
  /** The ustar type flag: "0" (or NUL) regular file, "x"/"g"/"L"/"K" extension headers. */
  type: string;
}

/** Decodes one 512-byte header; undefined for a zero block (end of archive). */
export function parseTarHeader(header: Buffer): TarEntryHeader | undefined {
  if (header.every((b) => b === 0)) return undefined;
  if (!validChecksum(header)) throw new SnapshotArchiveError("archive/tar: invalid tar header");
  const name = cString(header.subarray(0, 100));
  const prefix = cString(header.subarray(345, 500));
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    size: readOctal(header.subarray(124, 136)),
    type: String.fromCharCode(header[156]),
  };
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, width, "ascii");
}

function validChecksum(header: Buffer): boolean {
  const recorded = readOctal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === recorded;
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
}

function readOctal(field: Buffer): number {
  const text = cString(field).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new SnapshotArchiveError("archive/tar: invalid tar header");
  return parseInt(text, 8);
}
