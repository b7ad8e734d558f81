import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN } from "./agent-process.ts";

// Runs a README shell block as a reader would paste it: bash -e, `consulate` on PATH, in its
// own process group so agents the block leaves in the background end with `stop()`. Tests
// change only loopback addresses (a random 127.x.y.z, so fixed ports never collide with other
// tests) and directories, then assert on the combined output.

const README = new URL("../../README.md", import.meta.url);

/** The first ```sh block after `heading` in README.md. */
export function readmeShellBlock(heading: string): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.indexOf(heading);
  assert.ok(section >= 0, `README has a '${heading}' section`);
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(match, `the '${heading}' section has a sh block`);
  return match[1];
}

/** A random loopback /24 prefix ("127.x.y."), away from 127.0.0.0/16 that other tests use. */
export function randomLoopbackNet(): string {
  return `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.`;
}

export class ReadmeScript {
  /** A fresh directory for the block's data (removed by stop()). */
  readonly dir: string;
  #child: ChildProcess | undefined;

  constructor(tmpPrefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  }

  /** Runs `body`; resolves with bash's exit code (-1 after `timeoutMs`) and everything it printed. */
  async run(body: string, options: { timeoutMs: number; env?: Record<string, string> }): Promise<{ code: number | null; out: string }> {
    const binDir = join(this.dir, "bin");
    mkdirSync(binDir, { recursive: true });
    symlinkSync(CONSULATE_BIN, join(binDir, "consulate"));
    const child = spawn("bash", ["-e", "-c", body], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}`, ...options.env },
    });
    this.#child = child;
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(-1), options.timeoutMs);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, out };
  }

  /** Ends the block's whole process group (agents it started in the background) and removes the directory. */
  stop(): void {
    const pid = this.#child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
