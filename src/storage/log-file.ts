import { closeSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { makeDirectorySync } from "./make-directory.ts";

// `log_file` with Consul's rotation: the active file keeps its name (consul.log when log_file
// names a directory) and is renamed to `<name>-<unix nanoseconds><ext>` when it reaches
// log_rotate_bytes or log_rotate_duration; log_rotate_max_files archives are kept (0: all,
// -1: none). Lines are written synchronously so nothing logged before a crash is lost.

export interface LogFileSettings {
  /** log_file: a file path, or a directory when it ends with a slash. */
  path: string;
  /** 0: no size limit. */
  rotateBytes: number;
  /** 0: no time limit. */
  rotateDurationMs: number;
  maxFiles: number;
  nowMs: () => number;
}

export class RotatingLogFile {
  readonly #dir: string;
  readonly #name: string;
  readonly #settings: LogFileSettings;
  #fd: number;
  #bytes: number;
  #openedAtMs: number;

  constructor(settings: LogFileSettings) {
    const isDir = settings.path.endsWith("/");
    this.#dir = isDir ? settings.path : dirname(settings.path);
    this.#name = isDir ? "consul.log" : basename(settings.path);
    this.#settings = settings;
    makeDirectorySync(this.#dir);
    this.#fd = openSync(this.activePath, "a", 0o640);
    this.#bytes = statSync(this.activePath).size;
    this.#openedAtMs = settings.nowMs();
  }

  get activePath(): string {
    return join(this.#dir, this.#name);
  }

  write(line: string): void {
    const { rotateBytes, rotateDurationMs, nowMs } = this.#settings;
    if ((rotateBytes > 0 && this.#bytes >= rotateBytes) || (rotateDurationMs > 0 && nowMs() - this.#openedAtMs >= rotateDurationMs)) this.#rotate();
    const bytes = Buffer.from(line);
    writeSync(this.#fd, bytes);
    this.#bytes += bytes.length;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #rotate(): void {
    closeSync(this.#fd);
    const ext = extname(this.#name) || ".log";
    const stem = this.#name.endsWith(ext) ? this.#name.slice(0, -ext.length) : this.#name;
    const nanos = BigInt(this.#settings.nowMs()) * 1_000_000n;
    renameSync(this.activePath, join(this.#dir, `${stem}-${nanos}${ext}`));
    this.#prune(stem, ext);
    this.#fd = openSync(this.activePath, "a", 0o640);
    this.#bytes = 0;
    this.#openedAtMs = this.#settings.nowMs();
  }

  #prune(stem: string, ext: string): void {
    const { maxFiles } = this.#settings;
    if (maxFiles === 0) return;
    const archives = readdirSync(this.#dir)
      .filter((f) => f.startsWith(`${stem}-`) && f.endsWith(ext) && f !== this.#name)
      .sort();
    const excess = maxFiles < 0 ? archives : archives.slice(0, Math.max(0, archives.length - maxFiles));
    for (const f of excess) rmSync(join(this.#dir, f), { force: true });
  }
}
