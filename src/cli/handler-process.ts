// Child processes of `lock` and `watch`, started the way consul's agent.ExecScript /
// ExecSubprocess do (`$SHELL -c "<args joined>"` by default, else argv directly), with their
// output forwarded to the command's own streams and failures worded like Go's exec errors.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { CommandIO } from "./command-io.ts";

export interface HandlerOptions {
  readonly args: readonly string[];
  readonly shell: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Bytes fed to stdin, the command's own stdin, or nothing (/dev/null). */
  readonly stdin: Buffer | "inherit" | "none";
  readonly io: CommandIO;
}

export interface RunningHandler {
  readonly pid: number | undefined;
  /** Resolves with `undefined` on exit status 0, else Go's error text ("exit status 2"). */
  readonly done: Promise<string | undefined>;
  signal(name: NodeJS.Signals): void;
}

/** Go's ExitError text for a finished process. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string | undefined {
  if (signal !== null) {
    const names: Partial<Record<NodeJS.Signals, string>> = {
      SIGTERM: "terminated",
      SIGKILL: "killed",
      SIGINT: "interrupt",
      SIGHUP: "hangup",
      SIGQUIT: "quit",
      SIGSEGV: "segmentation fault",
      SIGABRT: "aborted",
      SIGPIPE: "broken pipe",
      SIGUSR1: "user defined signal 1",
      SIGUSR2: "user defined signal 2",
    };
    return `signal: ${names[signal] ?? signal}`;
  }
  if (code === 0 || code === null) return undefined;
  return `exit status ${code}`;
}

function commandLine(options: HandlerOptions): [string, string[]] {
  if (!options.shell) {
    if (options.args.length === 0) throw new Error("need an executable to run");
    return [options.args[0], options.args.slice(1)];
  }
  const shell = options.env.SHELL !== undefined && options.env.SHELL !== "" ? options.env.SHELL : "/bin/sh";
  return [shell, ["-c", options.args.join(" ")]];
}

async function pumpStdin(child: ChildProcess, io: CommandIO): Promise<void> {
  const sink = child.stdin;
  if (sink === null) return;
  try {
    for await (const chunk of io.stdin) {
      if (!sink.write(chunk)) await new Promise((resolve) => sink.once("drain", resolve));
    }
  } catch {
    // The child closed its stdin; nothing more to deliver.
  }
  sink.end();
}

/** Starts the handler; throws (Go's "Error executing handler" cases) only when it cannot be built. */
export function startHandler(options: HandlerOptions): RunningHandler {
  const [file, argv] = commandLine(options);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  const child = spawn(file, argv, {
    env,
    stdio: [options.stdin === "none" ? "ignore" : "pipe", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => options.io.stdout.write(chunk));
  child.stderr?.on("data", (chunk: Buffer) => options.io.stderr.write(chunk));
  child.stdin?.on("error", () => undefined);
  if (Buffer.isBuffer(options.stdin)) child.stdin?.end(options.stdin);
  else if (options.stdin === "inherit") void pumpStdin(child, options.io);

  const done = new Promise<string | undefined>((resolve) => {
    let spawnError: string | undefined;
    child.once("error", (err: NodeJS.ErrnoException) => {
      spawnError = err.code === "ENOENT" ? `exec: "${file}": executable file not found in $PATH` : err.message;
      // "close" does not follow a failed spawn.
      if (child.pid === undefined) resolve(spawnError);
    });
    child.once("close", (code, signal) => resolve(spawnError ?? describeExit(code, signal)));
  });
  return {
    pid: child.pid,
    done,
    signal(name) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill(osConstants.signals[name] !== undefined ? name : "SIGTERM");
        } catch {
          // already gone
        }
      }
    },
  };
}
