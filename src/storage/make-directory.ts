import { mkdirSync, statSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

// `mkdir -p` without Node's recursive mkdir, which loops forever on a path whose mkdir keeps
// failing with ENOENT (anything under /proc): one attempt per level, then the error, worded
// as Go's os.MkdirAll words it so it names the path (`mkdir /proc/x: no such file or directory`).

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EEXIST: "file exists",
};

export class MakeDirectoryError extends Error {
  readonly path: string;
  readonly code: string | undefined;
  constructor(path: string, code: string | undefined, detail: string) {
    super(`mkdir ${path}: ${code ? (GO_ERRNO_TEXT[code] ?? detail) : detail}`);
    this.name = "MakeDirectoryError";
    this.path = path;
    this.code = code;
  }
}

function codeOf(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function makeDirectory(dir: string, mode?: number): Promise<void> {
  try {
    await mkdir(dir, { mode });
    return;
  } catch (err) {
    const code = codeOf(err);
    if (code === "EEXIST" && (await isDirectory(dir))) return;
    if (code !== "ENOENT") throw new MakeDirectoryError(dir, code, err instanceof Error ? err.message : String(err));
  }
  const parent = dirname(dir);
  if (parent === dir) throw new MakeDirectoryError(dir, "ENOENT", "no such file or directory");
  await makeDirectory(parent, mode);
  try {
    await mkdir(dir, { mode });
  } catch (err) {
    const code = codeOf(err);
    if (code === "EEXIST" && (await isDirectory(dir))) return;
    throw new MakeDirectoryError(dir, code, err instanceof Error ? err.message : String(err));
  }
}

/** The same, synchronously (start-up, before the event loop serves anything). */
export function makeDirectorySync(dir: string, mode?: number): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (err) {
    const code = codeOf(err);
    if (code === "EEXIST" && isDirectorySync(dir)) return;
    if (code !== "ENOENT") throw new MakeDirectoryError(dir, code, err instanceof Error ? err.message : String(err));
  }
  const parent = dirname(dir);
  if (parent === dir) throw new MakeDirectoryError(dir, "ENOENT", "no such file or directory");
  makeDirectorySync(parent, mode);
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    const code = codeOf(err);
    if (code === "EEXIST" && isDirectorySync(dir)) return;
    throw new MakeDirectoryError(dir, code, err instanceof Error ? err.message : String(err));
  }
}

function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
