import { appendFile, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";

// The three kinds of damage a server's Raft WAL (<data-dir>/raft/.../wal/<seq>-<first>.wal)
// can suffer, done to the files of a stopped server: a torn tail (a record cut mid-write), the
// newest segment truncated (lost acknowledged entries), and a corrupted record in the middle.
// Records are [u32le body length][u32le crc32(body)][body] (src/storage/wal-record.ts).

const SEGMENT = /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/;
const RECORD_HEADER_BYTES = 8;

async function findWalDir(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && SEGMENT.test(e.name))) return dir;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await findWalDir(join(dir, e.name));
    if (found) return found;
  }
  return undefined;
}

/** The newest WAL segment under a data dir. */
export async function newestSegment(dataDir: string): Promise<string> {
  const dir = await findWalDir(dataDir);
  if (!dir) throw new Error(`no WAL segment under ${dataDir}`);
  const names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
  return join(dir, names[names.length - 1]);
}

/** Appends the start of a record that was never finished: a header claiming 200 bytes, and 37 of them. */
export async function tearTail(segment: string): Promise<number> {
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt32LE(200, 0);
  header.writeUInt32LE(0xdeadbeef, 4);
  const torn = Buffer.concat([header, Buffer.alloc(37, 0x5a)]);
  await appendFile(segment, torn);
  return torn.length;
}

/** Cuts the segment to half its size. Returns the bytes removed. */
export async function truncateToHalf(segment: string): Promise<number> {
  const size = (await stat(segment)).size;
  const half = Math.floor(size / 2);
  await truncate(segment, half);
  return size - half;
}

/** Flips one byte inside the body of the record in the middle of the segment. Returns its offset. */
export async function corruptMiddleRecord(segment: string): Promise<number> {
  const bytes = await readFile(segment);
  const offsets: number[] = [];
  for (let at = 0; at + RECORD_HEADER_BYTES <= bytes.length; ) {
    const len = bytes.readUInt32LE(at);
    if (len === 0 || at + RECORD_HEADER_BYTES + len > bytes.length) break;
    offsets.push(at);
    at += RECORD_HEADER_BYTES + len;
  }
  if (offsets.length < 3) throw new Error(`only ${offsets.length} records in ${segment}`);
  const at = offsets[Math.floor(offsets.length / 2)];
  const target = at + RECORD_HEADER_BYTES + 1;
  bytes[target] ^= 0xff;
  await writeFile(segment, bytes);
  return at;
}
