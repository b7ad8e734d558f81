import { spawn } from "node:child_process";
import { posix } from "node:path";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { writeTempScript, type TempScript } from "../storage/temp-script.ts";

// The agent's half of `consul exec` (Consul's agent/remote_exec.go). The CLI stores a job
// spec at <prefix>/<session>/job and fires the `_rexec` user event carrying {Prefix, Session}.
// An agent whose filters match and that has disable_remote_exec = false reads the spec, then
// writes under <prefix>/<session>/<node>/: `ack` first, output as `out/00000`, `out/00001`…
// (4 KiB chunks, or whatever arrived within 500 ms; an empty chunk is a heartbeat after the
// spec's Wait of silence) and `exit` last. Every write is a KV lock acquire with the job's
// session, so nothing lands after the CLI destroyed it. The requests go through the agent's
// own API dispatcher with its agent token (Consul's AgentToken: the `agent` token, else the
// default), so a client agent's writes reach the servers the way any API write does and ACLs
// decide as they would for KV writes.

export const REMOTE_EXEC_EVENT = "_rexec";

const OUTPUT_CHUNK_BYTES = 4 * 1024;
const OUTPUT_IDLE_MS = 500;
/** Go's time.Duration zero would spin; a spec without Wait heartbeats at Consul's CLI default. */
const DEFAULT_HEARTBEAT_MS = 2_000;

export interface RemoteExecRequest {
  method: string;
  path: string;
  rawQuery: string;
  body?: Buffer;
  token?: string;
}

export interface RemoteExecDeps {
  nodeName: string;
  clock: Clock;
  logger: Logger;
  /** An API request through this agent's dispatcher (HttpContext.internalRequest). */
  request: (req: RemoteExecRequest) => Promise<{ status: number; body: string | Buffer }>;
  /** The token the agent acts with ("" = anonymous/default). */
  agentToken: () => string;
  /** The shell for Command specs: $SHELL, else /bin/sh (agent/exec on Unix). */
  shell: string;
}

interface JobEvent {
  Prefix: string;
  Session: string;
}

interface JobSpec {
  Command: string;
  Args: string[];
  Script: Buffer;
  WaitMs: number;
}

function escapeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function decodeEvent(payload: Uint8Array): JobEvent | undefined {
  try {
    const raw = JSON.parse(Buffer.from(payload).toString("utf8")) as unknown;
    if (typeof raw !== "object" || raw === null) return undefined;
    const { Prefix, Session } = raw as Record<string, unknown>;
    if (typeof Prefix !== "string" || typeof Session !== "string" || Session === "") return undefined;
    return { Prefix, Session };
  } catch {
    return undefined;
  }
}

function decodeSpec(value: Buffer): JobSpec | undefined {
  try {
    const raw = JSON.parse(value.toString("utf8")) as unknown;
    if (typeof raw !== "object" || raw === null) return undefined;
    const r = raw as Record<string, unknown>;
    const args = Array.isArray(r.Args) ? r.Args.filter((a): a is string => typeof a === "string") : [];
    // Go's time.Duration in JSON is nanoseconds; []byte is base64.
    const waitNs = typeof r.Wait === "number" && Number.isFinite(r.Wait) ? r.Wait : 0;
    return {
      Command: typeof r.Command === "string" ? r.Command : "",
      Args: args,
      Script: typeof r.Script === "string" ? Buffer.from(r.Script, "base64") : Buffer.alloc(0),
      WaitMs: waitNs > 0 ? Math.max(1, Math.floor(waitNs / 1e6)) : DEFAULT_HEARTBEAT_MS,
    };
  } catch {
    return undefined;
  }
}

export class RemoteExecutor {
  readonly #deps: RemoteExecDeps;
  readonly #running = new Set<Promise<void>>();

  constructor(deps: RemoteExecDeps) {
    this.#deps = deps;
  }

  /** Starts the job an `_rexec` event names; failures are logged, never thrown. */
  handle(eventId: string, payload: Uint8Array): void {
    this.#deps.logger.debug("received remote exec event", { id: eventId });
    const job = this.#run(payload).catch((err: unknown) => {
      this.#deps.logger.error("remote exec failed", { error: err instanceof Error ? err.message : String(err) });
    });
    this.#running.add(job);
    void job.finally(() => this.#running.delete(job));
  }

  /** Resolves once every job started so far has written its exit code (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#running]);
  }

  async #run(payload: Uint8Array): Promise<void> {
    const log = this.#deps.logger;
    const event = decodeEvent(payload);
    if (!event) {
      log.error("failed to decode remote exec event");
      return;
    }
    const spec = await this.#readSpec(event);
    if (!spec) return;
    if (!(await this.#writeKey(event, "ack", Buffer.alloc(0)))) {
      log.error("failed to ack remote exec job");
      return;
    }
    let exitCode = 0;
    try {
      exitCode = await this.#execute(event, spec);
    } finally {
      if (!(await this.#writeKey(event, "exit", Buffer.from(String(exitCode))))) {
        log.error("failed to write exit code for remote exec job");
      }
    }
  }

  /** A stale read first (cheap on any server), then a consistent one if the spec is not there yet. */
  async #readSpec(event: JobEvent): Promise<JobSpec | undefined> {
    const log = this.#deps.logger;
    const key = posix.join(event.Prefix, event.Session, "job");
    for (const consistency of ["stale", ""]) {
      const answer = await this.#deps.request({ method: "GET", path: `/v1/kv/${escapeKeyPath(key)}`, rawQuery: consistency === "" ? "raw" : "raw&stale", token: this.#token() });
      if (answer.status === 404) {
        if (consistency === "stale") log.debug("trying consistent fetch of remote exec job spec");
        continue;
      }
      if (answer.status !== 200) {
        log.error("failed to get remote exec job", { error: Buffer.from(answer.body).toString("utf8").trim() });
        return undefined;
      }
      const spec = decodeSpec(Buffer.from(answer.body));
      if (!spec) log.error("failed to decode remote exec spec");
      return spec;
    }
    log.debug("remote exec aborted, job spec missing");
    return undefined;
  }

  #token(): string | undefined {
    const token = this.#deps.agentToken();
    return token === "" ? undefined : token;
  }

  async #writeKey(event: JobEvent, suffix: string, value: Buffer): Promise<boolean> {
    const key = posix.join(event.Prefix, event.Session, this.#deps.nodeName, suffix);
    try {
      const answer = await this.#deps.request({
        method: "PUT",
        path: `/v1/kv/${escapeKeyPath(key)}`,
        rawQuery: `acquire=${encodeURIComponent(event.Session)}`,
        body: value,
        token: this.#token(),
      });
      return answer.status === 200 && Buffer.from(answer.body).toString("utf8").trim() === "true";
    } catch {
      return false;
    }
  }

  /** Runs the job, streaming its output; resolves with the exit code to report. */
  async #execute(event: JobEvent, spec: JobSpec): Promise<number> {
    const { logger: log, clock } = this.#deps;
    let script: TempScript | undefined;
    let command = spec.Command;
    if (spec.Script.length > 0) {
      try {
        script = await writeTempScript(spec.Script);
      } catch (err) {
        log.debug("failed to make tmp file", { error: err instanceof Error ? err.message : String(err) });
        return 255;
      }
      command = script.path;
    }
    try {
      log.info("remote exec script", { script: spec.Args.length > 0 ? spec.Args.join(" ") : command });
      const [file, ...args] = spec.Args.length > 0 ? spec.Args : [this.#deps.shell, "-c", command];
      const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });

      // Output goes up in order, one write at a time; a failed write ends the job (exit 255).
      let num = 0;
      let uploads: Promise<boolean> = Promise.resolve(true);
      let failed = false;
      let heartbeat: TimerHandle | undefined;
      const upload = (chunk: Buffer): void => {
        const suffix = `out/${(num++).toString(16).padStart(5, "0")}`;
        uploads = uploads.then(async (ok) => {
          if (!ok) return false;
          const written = await this.#writeKey(event, suffix, chunk);
          if (!written && !failed) {
            failed = true;
            log.error("failed to write output for remote exec job");
            child.kill("SIGKILL");
          }
          return written;
        });
        armHeartbeat();
      };
      const armHeartbeat = (): void => {
        heartbeat?.cancel();
        heartbeat = clock.setTimer(spec.WaitMs, () => upload(Buffer.alloc(0)));
      };

      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let idle: TimerHandle | undefined;
      /** Uploads every full 4 KiB chunk, and the remainder too when `all` (idle or exit). */
      const flush = (all: boolean): void => {
        idle?.cancel();
        idle = undefined;
        if (pendingBytes === 0) return;
        const bytes = Buffer.concat(pending, pendingBytes);
        let at = 0;
        for (; bytes.length - at >= OUTPUT_CHUNK_BYTES; at += OUTPUT_CHUNK_BYTES) upload(bytes.subarray(at, at + OUTPUT_CHUNK_BYTES));
        if (all && at < bytes.length) {
          upload(bytes.subarray(at));
          at = bytes.length;
        }
        pending = at < bytes.length ? [bytes.subarray(at)] : [];
        pendingBytes = bytes.length - at;
      };
      const collect = (data: Buffer): void => {
        pending.push(data);
        pendingBytes += data.length;
        if (pendingBytes >= OUTPUT_CHUNK_BYTES) flush(false);
        // A quiet spell of 500 ms sends what is buffered (re-armed by each write, as Consul's).
        idle?.cancel();
        idle = pendingBytes > 0 ? clock.setTimer(OUTPUT_IDLE_MS, () => flush(true)) : undefined;
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      armHeartbeat();

      const code = await new Promise<number>((resolve) => {
        child.once("error", (err) => {
          log.debug("failed to start remote exec", { error: err.message });
          resolve(255);
        });
        // "close": both pipes drained, so every byte of output was collected.
        child.once("close", (status) => resolve(status ?? -1));
      });
      flush(true);
      heartbeat?.cancel();
      const allWritten = await uploads;
      return allWritten && !failed ? code : 255;
    } finally {
      await script?.remove();
    }
  }
}
