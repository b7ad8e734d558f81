import { rmSync, writeFileSync } from "node:fs";
import { AGENT_FLAGS, type AgentFlagValues } from "../config/agent-flags.ts";
import { ConfigError } from "../config/config-error.ts";
import { loadRuntimeConfig } from "../config/load.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import { agentOptionsFromConfig } from "../launch/from-config.ts";
import { startAgent, type RunningAgent } from "../launch/start-agent.ts";
import { BUILD_DATE, CONSUL_COMPAT_VERSION, CONSULATE_VERSION } from "../version.ts";
import { formatAgentBanner } from "./agent-banner.ts";
import { createLogger, LogHub } from "../runtime/logger.ts";
import { batchedOutput } from "../runtime/batched-output.ts";
import { systemClock } from "../runtime/clock.ts";
import { RotatingLogFile } from "../storage/log-file.ts";
import { boolFlag, intFlag, parseGoFlags, repeatableFlag, stringFlag, type FlagSpec } from "./go-flags.ts";

// `consulate agent`: load config, print the banner, run until a signal or a leave request.
// Signal semantics follow consul (cli.md §2 Signals): SIGHUP reloads; SIGINT leaves unless
// skip_leave_on_interrupt (servers skip by default); SIGTERM leaves only with
// leave_on_terminate; a non-graceful exit or a second signal exits 1.

const LEAVE_TIMEOUT_MS = 15_000;

function agentFlagTable(): Record<string, FlagSpec> {
  const table: Record<string, FlagSpec> = {};
  for (const f of AGENT_FLAGS) {
    table[f.name] =
      f.kind === "bool" ? boolFlag(f.help) : f.kind === "int" ? intFlag(f.help) : f.kind === "string" ? stringFlag(f.help) : repeatableFlag(f.help);
  }
  return table;
}

export function agentUsage(): string {
  const lines = ["Usage: consulate agent [options]", "", "  Starts the Consul agent and runs until an interrupt is received. The", "  agent represents a single node in a cluster.", "", "Options:", ""];
  for (const f of AGENT_FLAGS) {
    const arg = f.kind === "bool" ? "" : f.kind === "int" ? "=<value>" : "=<value>";
    lines.push(`  -${f.name}${arg}`, `     ${f.help}`, "");
  }
  return lines.join("\n");
}

/** Parses `agent` arguments into the config loader's flag values; only flags given are set. */
export function parseAgentArgs(args: string[]): { ok: true; flags: AgentFlagValues } | { ok: false; help: boolean; error?: string } {
  const parsed = parseGoFlags(agentFlagTable(), args);
  if (!parsed.ok) return parsed.help ? { ok: false, help: true } : { ok: false, help: false, error: parsed.error };
  if (parsed.args.length > 0) return { ok: false, help: false, error: `Unexpected extra arguments: ${parsed.args.join(" ")}` };
  const flags: Record<string, unknown> = {};
  for (const name of parsed.explicit) flags[name] = (parsed.values as Record<string, unknown>)[name];
  return { ok: true, flags: flags as AgentFlagValues };
}

export async function runAgentCommand(args: string[]): Promise<number> {
  const parsed = parseAgentArgs(args);
  if (!parsed.ok) {
    if (parsed.help) {
      process.stdout.write(agentUsage() + "\n");
      return 0;
    }
    process.stderr.write(`${parsed.error}\n\n${agentUsage()}\n`);
    return 1;
  }
  let rc: RuntimeConfig;
  try {
    rc = await loadRuntimeConfig(parsed.flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`==> ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  process.stdout.write(formatAgentBanner(rc, { consul: CONSUL_COMPAT_VERSION, consulate: CONSULATE_VERSION, buildDate: BUILD_DATE }));
  let logFile: RotatingLogFile | undefined;
  try {
    logFile = rc.logFile === "" ? undefined : openLogFile(rc);
  } catch (e) {
    process.stderr.write(`==> Error starting agent: log_file: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const logHub = new LogHub();
  const logger = createLogger({ level: rc.logLevel, json: rc.logJson, write: (line) => writeLogLine(line, logFile), hub: logHub });
  let running: RunningAgent;
  try {
    running = await startAgent(agentOptionsFromConfig(rc), { logger, logHub, reloadConfig: () => loadRuntimeConfig(parsed.flags) });
  } catch (e) {
    process.stderr.write(`==> Error starting agent: ${e instanceof Error ? e.message : String(e)}\n`);
    logFile?.close();
    return 1;
  }
  const log = running.logger.named("agent");
  for (const w of rc.warnings) log.warn(w);
  if (rc.pidFile) writeFileSync(rc.pidFile, `${process.pid}`);
  log.info("Consul agent running!");

  const exitCode = await new Promise<number>((resolve) => {
    let shuttingDown = false;
    const shutdown = (graceful: boolean, reason: string): void => {
      if (shuttingDown) {
        log.warn("Caught second signal, exiting", { signal: reason });
        resolve(1);
        return;
      }
      shuttingDown = true;
      const timer = setTimeout(() => {
        log.warn("Timeout on graceful leave. Exiting");
        resolve(1);
      }, LEAVE_TIMEOUT_MS);
      const finish = async (): Promise<number> => {
        if (graceful) {
          log.info("Gracefully shutting down agent...");
          await running.leave();
        } else {
          log.info("Caught", { signal: reason });
        }
        await running.stop();
        log.info("Graceful shutdown complete");
        return graceful ? 0 : 1;
      };
      finish().then(
        (code) => {
          clearTimeout(timer);
          resolve(code);
        },
        (err: unknown) => {
          clearTimeout(timer);
          log.error("Error on shutdown", { error: err instanceof Error ? err.message : String(err) });
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => shutdown(!skipLeaveOnInterrupt(rc), "interrupt"));
    process.on("SIGTERM", () => shutdown(leaveOnTerminate(rc), "terminated"));
    process.on("SIGHUP", () => {
      log.info("Caught", { signal: "hangup" });
      running.agent.lifecycle.reload().catch((err: unknown) => log.error("Reload failed", { error: err instanceof Error ? err.message : String(err) }));
    });
    process.on("SIGPIPE", () => {});
    running.leaveRequested.then(
      () => shutdown(true, "leave"),
      () => {},
    );
  });
  if (rc.pidFile) rmSync(rc.pidFile, { force: true });
  logFile?.close();
  return exitCode;
}

function openLogFile(rc: RuntimeConfig): RotatingLogFile {
  const { bytes, durationMs, maxFiles } = rc.logRotate;
  return new RotatingLogFile({ path: rc.logFile, rotateBytes: bytes, rotateDurationMs: durationMs, maxFiles, nowMs: () => systemClock.now() });
}

const stdoutLines = batchedOutput((chunk) => process.stdout.write(chunk));

function writeLogLine(line: string, file: RotatingLogFile | undefined): void {
  stdoutLines.write(line);
  try {
    file?.write(line);
  } catch {
    // A full disk must not stop the agent; stdout still has the line.
  }
}

function skipLeaveOnInterrupt(rc: RuntimeConfig): boolean {
  return rc.skipLeaveOnInterrupt;
}

function leaveOnTerminate(rc: RuntimeConfig): boolean {
  return rc.leaveOnTerminate;
}
