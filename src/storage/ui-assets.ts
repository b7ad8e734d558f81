import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// Reads the web UI's files into memory once at start (they are small and never change while
// the agent runs): the bundle built by scripts/build.mjs into dist/ui/, or ui_config.dir.

/** Relative path ("assets/app-X1.js") → bytes; precompressed siblings keep their .gz/.br names. */
export type UiFiles = Map<string, Uint8Array>;

/** Where the built UI lives: next to the bundled agent (dist/ui) or, from sources, ../../dist/ui. */
export async function builtUiDir(): Promise<string | undefined> {
  for (const candidate of [new URL("./ui/", import.meta.url), new URL("../../dist/ui/", import.meta.url)]) {
    const dir = fileURLToPath(candidate);
    if (await isFile(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Every file under `dir`, by "/"-separated relative path. */
export async function readUiFiles(dir: string): Promise<UiFiles> {
  const files: UiFiles = new Map();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    const rel = full.slice(dir.length).replace(/\\/g, "/").replace(/^\/+/, "");
    files.set(rel, await readFile(full));
  }
  return files;
}
