import { writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { tarHeader, tarPadding } from "./snapshot-format.ts";

// The `consulate debug` bundle: a gzip'd tar of small files under one top directory (the
// output name), as `consul debug` writes it.

export interface DebugFile {
  name: string;
  data: Buffer;
}

export async function writeDebugArchive(path: string, topDir: string, files: readonly DebugFile[], mtimeMs: number): Promise<void> {
  const mtime = Math.floor(mtimeMs / 1000);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(tarHeader(`${topDir}/${f.name}`, f.data.length, mtime), f.data, Buffer.alloc(tarPadding(f.data.length)));
  }
  parts.push(Buffer.alloc(1024));
  await writeFile(path, gzipSync(Buffer.concat(parts)), { mode: 0o600, flag: "wx" });
}
