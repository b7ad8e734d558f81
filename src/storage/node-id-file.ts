import { join } from "node:path";
import type { FileSystem } from "./file-system.ts";
import { nodeFileSystem } from "./file-system.ts";

// `<data-dir>/node-id`, as Consul keeps it: the UUID a node generated on its first start, so
// it stays the same node (and the same Raft member) across restarts. Plain text, no newline.

const FILE_NAME = "node-id";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The node id stored in `dataDir`, or `generated` after writing it there when none is stored
 * yet. A stored id that is not a UUID stops start-up rather than silently changing identity.
 */
export async function loadOrStoreNodeId(dataDir: string, generated: string, fs: FileSystem = nodeFileSystem): Promise<string> {
  const path = join(dataDir, FILE_NAME);
  const bytes = await fs.read(path);
  if (bytes !== undefined) {
    const stored = new TextDecoder().decode(bytes).trim().toLowerCase();
    if (!UUID.test(stored)) throw new Error(`node-id file ${path} does not hold a valid UUID: ${JSON.stringify(stored)}`);
    return stored;
  }
  await fs.mkdirp(dataDir);
  const tmp = `${path}.tmp`;
  const { file } = await fs.openWritable(tmp, { truncate: true });
  try {
    await file.writeAt([new TextEncoder().encode(generated)], 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dataDir);
  return generated;
}
