import { spawn } from "node:child_process";
import { formatGoDuration } from "../model/duration.ts";
import type { CheckDefinition } from "./definition.ts";
import { errorCode } from "./go-errors.ts";
import { OutputTail } from "./output-tail.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_SCRIPT_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// Script checks (Consul's checks.CheckMonitor, Nagios plugin convention): the command runs
// without a shell, stdout and stderr share one bounded capture, exit 0 is passing, 1 is
// warning, anything else critical. At the timeout the whole process group is killed and the
// check goes critical with `Timed out (<timeout>) running check`; a timeout or a command that
// cannot start is reported past the thresholds, as Consul does. Whether scripts may run at
// all (enable_script_checks / enable_local_script_checks) is decided at registration.

export interface ScriptProbeOptions {
  args: string[];
  timeoutMs: number;
  outputMaxSize: number;
}

/** Go's exec error texts for a command that could not start. */
function startErrorText(command: string, err: unknown): string {
  const code = errorCode(err);
  if (code === "ENOENT") {
    return command.includes("/") ? `fork/exec ${command}: no such file or directory` : `exec: ${JSON.stringify(command)}: executable file not found in $PATH`;
  }
  if (code === "EACCES") return `fork/exec ${command}: permission denied`;
  return err instanceof Error ? err.message : String(err);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is already gone
  }
}

export function scriptProbe(opts: ScriptProbeOptions): Probe {
  const [command, ...rest] = opts.args;
  return (signal) =>
    new Promise<ProbeOutcome>((resolve) => {
      const output = new OutputTail(opts.outputMaxSize);
      // Its own process group, so a timeout kills the children the script started too.
      const child = spawn(command, rest, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let timedOut = false;
      let settled = false;
      const finish = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => {
        timedOut = true;
        killGroup(child.pid);
      };
      child.stdout.on("data", (c: Buffer) => output.write(c));
      child.stderr.on("data", (c: Buffer) => output.write(c));
      child.once("error", (err) => {
        killGroup(child.pid);
        finish({ status: "critical", output: startErrorText(command, err), bypassThresholds: true });
      });
      // "close" (not "exit"): the pipes are drained, so the capture is complete.
      child.once("close", (code) => {
        const text = output.scriptText();
        if (timedOut) {
          const msg = `Timed out (${formatGoDuration(opts.timeoutMs)}) running check`;
          finish({ status: "critical", output: text.length > 0 ? `${msg}\n\n${text}` : msg, bypassThresholds: true });
          return;
        }
        finish({ status: code === 0 ? "passing" : code === 1 ? "warning" : "critical", output: text });
      });
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
}

export const scriptRunner: CheckRunner = {
  kind: "script",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    const timeoutMs = effectiveTimeoutMs(def, DEFAULT_SCRIPT_TIMEOUT_MS);
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "script",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs,
        thresholds: thresholdsOf(def),
        probe: scriptProbe({ args: def.scriptArgs, timeoutMs, outputMaxSize: ctx.outputMaxSize }),
      },
      ctx.sink,
    );
  },
};
