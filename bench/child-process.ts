import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Every server and every load generator runs in its own process, so the thing measured never
// shares an event loop with the thing measuring it. This file spawns and stops them.

export interface SpawnedProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Last lines of the process's combined stdout/stderr, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Open an IPC channel (process.send / "message"). */
  ipc?: boolean;
  /**
   * Raise the soft open-files limit to the hard limit first (via `sh -c 'ulimit -n'` then exec,
   * so the pid stays the process's own). Needed by processes that hold thousands of sockets.
   */
  raiseFdLimit?: boolean;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Run the script through tsx (for .ts files that are not launchers themselves). */
  viaTsx?: boolean;
  label: string;
}

let logCounter = 0;
let logDir: string | undefined;

/** Where this run's child logs go; kept when a run fails, so the logs can be read. */
export function benchTempDir(): string {
  logDir ??= mkdtempSync(join(tmpdir(), "consulate-bench-"));
  return logDir;
}

/** Removes this run's child logs and temp files (call once every child has stopped). */
export function removeBenchTempDir(): void {
  if (logDir) rmSync(logDir, { recursive: true, force: true });
  logDir = undefined;
}

export function spawnNode(script: string, args: string[], options: SpawnOptions): SpawnedProcess {
  const logPath = join(benchTempDir(), `${++logCounter}-${options.label}.log`);
  // Output goes to a file, not a pipe: reading a pipe would cost the runner CPU during a
  // measurement, and an undrained pipe would stall a chatty process.
  const logFd = openSync(logPath, "w");
  const nodeArgs = [...(options.nodeFlags ?? []), ...(options.viaTsx ? ["--import", "tsx"] : []), script, ...args];
  const stdio: ("ignore" | "ipc" | number)[] = ["ignore", logFd, logFd];
  if (options.ipc) stdio.push("ipc");
  const child = options.raiseFdLimit
    ? spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...nodeArgs], { stdio })
    : spawn(process.execPath, nodeArgs, { stdio });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not spawn ${options.label}`);
  const pid = child.pid;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  let gone = false;
  void exited.then(() => (gone = true));

  return {
    child,
    pid,
    exited,
    logTail: () => tailOf(logPath),
    async stop(graceMs = 3000) {
      if (gone) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function tailOf(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

/** The next IPC message from a child that satisfies `accept`, or an error if it exits first. */
export function nextMessage<T>(proc: SpawnedProcess, accept: (m: unknown) => m is T, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accept(m)) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${proc.pid} exited (${code ?? signal}) before answering:\n${proc.logTail()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer from ${proc.pid} within ${timeoutMs} ms:\n${proc.logTail()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.child.off("message", onMessage);
      proc.child.off("exit", onExit);
    };
    proc.child.on("message", onMessage);
    proc.child.once("exit", onExit);
  });
}
