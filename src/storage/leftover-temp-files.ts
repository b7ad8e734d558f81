import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";

// Every small file in the data dir is replaced by writing `<name>.tmp` and renaming it over
// the target (atomic-file.ts, agent registrations, keyrings). A crash between the two leaves
// the .tmp behind: never read (the target is the old version or absent), but it would pile
// up. At start, once the data dir's lock is held (so no other agent is mid-write), they go.

const TEMP_SUFFIX = ".tmp";
/** services/, checks/, raft/snapshots/…: nothing we write is deeper than this. */
const MAX_DEPTH = 4;

/** Removes `*.tmp` files under `dataDir`; returns the paths removed. */
export async function removeLeftoverTempFiles(dataDir: string): Promise<string[]> {
  const removed: string[] = [];
  await sweep(dataDir, 0, removed);
  return removed;
}

async function sweep(dir: string, depth: number, removed: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH) await sweep(path, depth + 1, removed);
    } else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) {
      await unlink(path);
      removed.push(path);
    }
  }
}
