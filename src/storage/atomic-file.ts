import { crc32 } from "node:zlib";
import type { FileSystem } from "./file-system.ts";
import { parentDir } from "./file-system.ts";

// Small files that must be either the old or the new version after a crash, never a mix:
// write a temp file, fsync it, rename over the target, fsync the directory so the rename
// itself is durable. Contents carry a crc32 so bit rot is caught rather than believed.

const CRC_BYTES = 4;

export async function writeFileAtomically(fs: FileSystem, path: string, payload: readonly Uint8Array[]): Promise<void> {
  let crc = 0;
  for (const part of payload) crc = crc32(part, crc);
  const header = new Uint8Array(CRC_BYTES);
  new DataView(header.buffer).setUint32(0, crc, true);
  const tmp = `${path}.tmp`;
  const { file } = await fs.openWritable(tmp, { truncate: true });
  try {
    await file.writeAt([header, ...payload], 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(parentDir(path));
}

/** The payload of a file written by writeFileAtomically; "corrupt" if its checksum fails. */
export async function readChecksummedFile(fs: FileSystem, path: string): Promise<Uint8Array | "missing" | "corrupt"> {
  const bytes = await fs.read(path);
  if (bytes === undefined) return "missing";
  if (bytes.byteLength < CRC_BYTES) return "corrupt";
  const payload = bytes.subarray(CRC_BYTES);
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  return crc32(payload) === stored ? payload : "corrupt";
}
