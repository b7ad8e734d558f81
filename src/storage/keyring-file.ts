import { open, readFile, rename } from "node:fs/promises";
import { makeDirectory } from "./make-directory.ts";
import { dirname, join } from "node:path";

// `<data-dir>/serf/local.keyring`, byte-compatible with Consul's: a JSON array of base64 keys,
// the primary first, indented as Go's json.MarshalIndent(keys, "", "  ") writes it, mode 0600
// because it holds key material. A data dir moved between Consul and Consulate keeps its keys.

export const LAN_KEYRING_FILE = join("serf", "local.keyring");
/** A server's WAN pool keeps its own keyring beside the LAN one, as Consul's serf does. */
export const WAN_KEYRING_FILE = join("serf", "remote.keyring");

export class KeyringFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyringFileError";
  }
}

export function lanKeyringPath(dataDir: string): string {
  return join(dataDir, LAN_KEYRING_FILE);
}

export function wanKeyringPath(dataDir: string): string {
  return join(dataDir, WAN_KEYRING_FILE);
}

/** The keys stored at `path`, or undefined when there is no such file. Key validity is the caller's to check. */
export async function readKeyringFile(path: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new KeyringFileError(`keyring file ${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((k): k is string => typeof k === "string")) {
    throw new KeyringFileError(`keyring file ${path} must hold a JSON array of base64 key strings`);
  }
  if (parsed.length === 0) throw new KeyringFileError(`no keys present in keyring: ${path}`);
  return parsed;
}

/** Replaces the file with `keys` (primary first): written aside, fsynced, renamed over it. */
export async function writeKeyringFile(path: string, keys: readonly string[]): Promise<void> {
  const dir = dirname(path);
  await makeDirectory(dir, 0o700);
  const tmp = `${path}.tmp`;
  const file = await open(tmp, "w", 0o600);
  try {
    await file.writeFile(JSON.stringify(keys, null, 2));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
