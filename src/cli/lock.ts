// `consul lock [options] prefix child...`: runs a child while holding a mutex (or, with -n>1,
// a semaphore slot) at `prefix`, kills it when the lock is lost, and releases afterwards.
// Messages and exit codes are consul's: 0 done, 1 error, 2 child failed with -child-exit-code.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, durationFlag, intFlag, stringFlag } from "./go-flags.ts";
import { sleep } from "./abortable-sleep.ts";
import { startHandler } from "./handler-process.ts";
import type { RunningHandler } from "./handler-process.ts";
import { agentReachable, connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS } from "./http-client.ts";
import type { LockHandle } from "./lock-client.ts";
import { ConsulLock, ConsulSemaphore, joinKeyPath, SEMAPHORE_KEY } from "./lock-client.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";

/** Between SIGTERM and SIGKILL; balanced against the default 15 s lock-delay. */
const KILL_GRACE_MS = 5_000;
const MONITOR_RETRY_MS = 1_000;

const FLAGS = {
  "child-exit-code": boolFlag(
    "Exit 2 if the child process exited with an error if this is true, otherwise this doesn't propagate an error from the child. The default value is false.",
  ),
  n: intFlag(
    "Optional limit on the number of concurrent lock holders. The underlying implementation switches from a lock to a semaphore when the value is greater than 1. The default value is 1.",
    1,
  ),
  "monitor-retry": intFlag(
    "Number of times to retry if Consul returns a 500 error while monitoring the lock. This allows riding out brief periods of unavailability without causing leader elections, but increases the amount of time required to detect a lost lock in some cases. The default value is 3, with a 1s wait between retries. Set this value to 0 to disable retires.",
    3,
  ),
  name: stringFlag(
    "Optional name to associate with the lock session. It not provided, one is generated based on the provided child command.",
  ),
  "pass-stdin": boolFlag("Pass stdin to the child process."),
  shell: boolFlag("Use a shell to run the command (can set a custom shell via the SHELL environment variable).", true),
  timeout: durationFlag(
    'Maximum amount of time to wait to acquire the lock, specified as a duration like "1s" or "3h". The default value is 0.',
  ),
  try: durationFlag("DEPRECATED. Use -timeout instead."),
  verbose: boolFlag("Enable verbose (debugging) output."),
  ...HTTP_CLIENT_FLAGS,
  ...HTTP_SERVER_FLAGS,
} as const;

const HELP = `
Usage: consulate lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  For Consul agents on Windows, the child process is always hard terminated
  with a SIGKILL, since Windows has no POSIX compatible notion for SIGTERM.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
`;

export interface LockCommandOptions {
  /** Overrides the 5 s SIGTERM→SIGKILL grace period (tests). */
  readonly killGraceMs?: number;
}

/** Waits for the child after SIGTERM, escalating to SIGKILL after the grace period. */
async function killChild(child: RunningHandler | undefined, grace: number, verbose: boolean, io: CommandIO): Promise<void> {
  const info = (message: string): void => {
    if (verbose) printLine(io.stdout, message);
  };
  if (child === undefined || child.pid === undefined) {
    info("No child process to kill");
    return;
  }
  info(`Terminating child pid ${child.pid}`);
  child.signal("SIGTERM");
  const timer = new AbortController();
  const exited = await Promise.race([child.done.then(() => true), sleep(grace, timer.signal).then(() => false)]);
  timer.abort();
  if (exited) {
    info("Child terminated");
    return;
  }
  info(`Child did not exit after grace period of ${grace / 1000}s`);
  info(`Killing child pid ${child.pid}`);
  child.signal("SIGKILL");
  await child.done;
}

export async function runLock(args: string[], io: CommandIO, shutdown: AbortSignal, options: LockCommandOptions = {}): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  const verbose = flags.verbose;
  const info = (message: string): void => {
    if (verbose) printLine(io.stdout, message);
  };

  if (flags.n <= 0) {
    printLine(io.stderr, "Lock holder limit must be positive");
    return 1;
  }
  const extra = parsed.args;
  if (extra.length < 2) {
    printLine(io.stderr, "Key prefix and child command must be specified");
    return 1;
  }
  const prefix = extra[0].startsWith("/") ? extra[0].slice(1) : extra[0];
  const childArgs = extra.slice(1);
  const timeout = parsed.explicit.has("timeout") || !parsed.explicit.has("try") ? flags.timeout : flags.try;
  if (timeout < 0) {
    printLine(io.stderr, "Timeout must be positive");
    return 1;
  }
  const name = flags.name !== "" ? flags.name : `Consul lock for '${childArgs.join(" ")}' at '${prefix}'`;
  const oneshot = timeout > 0;
  if (flags["monitor-retry"] < 0) {
    printLine(io.stderr, "Number for 'monitor-retry' must be >= 0");
    return 1;
  }

  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  if (!(await agentReachable(client, io, shutdown))) return 1;

  let lock: LockHandle;
  try {
    const common = {
      sessionName: name,
      monitorRetries: flags["monitor-retry"],
      monitorRetryMs: MONITOR_RETRY_MS,
      tryOnce: oneshot,
      waitMs: oneshot ? timeout : undefined,
    };
    if (flags.n === 1) {
      const key = joinKeyPath(prefix, SEMAPHORE_KEY);
      info(`Setting up lock at path: ${key}`);
      lock = new ConsulLock(client, { key, ...common });
    } else {
      info(`Setting up semaphore (limit ${flags.n}) at prefix: ${prefix}`);
      lock = new ConsulSemaphore(client, { prefix, limit: flags.n, ...common });
    }
  } catch (err) {
    printLine(io.stderr, `Lock setup failed: ${errorMessage(err)}`);
    return 1;
  }

  info("Attempting lock acquisition");
  let lost: AbortSignal | undefined;
  try {
    lost = await lock.acquire(shutdown);
  } catch (err) {
    printLine(io.stderr, `Lock acquisition failed: ${errorMessage(err)}`);
    return 1;
  }
  if (lost === undefined) {
    printLine(io.stderr, "Shutdown triggered or timeout during lock acquisition");
    return 1;
  }

  let childCode = 0;
  if (shutdown.aborted) {
    printLine(io.stderr, "Shutdown triggered during lock acquisition");
  } else {
    info("Starting handler");
    if (flags["pass-stdin"]) info("Stdin passed to handler process");
    let child: RunningHandler | undefined;
    let childDone: Promise<string | undefined>;
    try {
      child = startHandler({
        args: childArgs,
        shell: flags.shell,
        env: { ...io.env, CONSUL_LOCK_HELD: "true" },
        stdin: flags["pass-stdin"] ? "inherit" : "none",
        io,
      });
      childDone = child.done.then((failure) => {
        if (failure !== undefined) printLine(io.stderr, `Error running handler: ${failure}`);
        return failure;
      });
    } catch (err) {
      printLine(io.stderr, `Error executing handler: ${errorMessage(err)}`);
      childDone = Promise.resolve(errorMessage(err));
    }

    const stopWaiting = new AbortController();
    const abortedBy = (signal: AbortSignal, tag: "shutdown" | "lost"): Promise<"shutdown" | "lost"> =>
      new Promise((resolve) => {
        if (signal.aborted) resolve(tag);
        else signal.addEventListener("abort", () => resolve(tag), { once: true });
        stopWaiting.signal.addEventListener("abort", () => resolve(tag), { once: true });
      });
    const outcome = await Promise.race([
      childDone.then((failure) => ({ kind: "child" as const, failure })),
      abortedBy(shutdown, "shutdown").then((kind) => ({ kind, failure: undefined })),
      abortedBy(lost, "lost").then((kind) => ({ kind, failure: undefined })),
    ]);
    stopWaiting.abort();
    if (outcome.kind === "child") {
      if (outcome.failure !== undefined) childCode = 2;
      info("Child terminated, releasing lock");
    } else {
      info(outcome.kind === "shutdown" ? "Shutdown triggered, killing child" : "Lock lost, killing child");
      await killChild(child, options.killGraceMs ?? KILL_GRACE_MS, verbose, io);
    }
  }

  try {
    await lock.release();
  } catch (err) {
    printLine(io.stderr, `Lock release failed: ${errorMessage(err)}`);
    return 1;
  }
  try {
    await lock.destroy();
    info("Cleanup succeeded");
  } catch (err) {
    if (errorMessage(err) !== lock.inUseMessage) {
      printLine(io.stderr, `Lock cleanup failed: ${errorMessage(err)}`);
      return 1;
    }
    info("Cleanup aborted, lock in use");
  }
  return flags["child-exit-code"] ? childCode : 0;
}

export const lockCommand: CommandDefinition = {
  synopsis: "Execute a command holding a lock",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runLock(args, io, shutdown)),
};
