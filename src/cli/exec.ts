// `consul exec [options] [-|command...]`: runs a command on the agents whose node, service and
// tag filters match, through KV and a user event (Consul's command/exec/exec.go):
//   1. create a session ("Remote Exec", behavior delete, TTL 15s; renewed when the target
//      datacenter is not the agent's, where it is bound to a server node without checks);
//   2. store the job spec at <prefix>/<session>/job (a lock acquire with that session);
//   3. wait -wait-repl so followers have it for stale reads, then fire the `_rexec` event
//      carrying {"Prefix","Session"} with the filters;
//   4. follow <prefix>/<session>/ with blocking key listings, printing acks, output and exit
//      codes per node, until -wait passes with nothing new (twice -wait while a node that
//      acknowledged has not finished);
//   5. destroy the session and delete the tree.
// Exit status: 0 when every node that acknowledged exited 0, 2 when one did not (or never
// finished), 1 on an error or interrupt. Agents run jobs only with disable_remote_exec = false.
import { posix } from "node:path";
import { sleep } from "./abortable-sleep.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO, TextSink } from "./command-io.ts";
import { printLine, readAll } from "./command-io.ts";
import { boolFlag, durationFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, parseJSONBody, RequestAbortedError, type ConsulHttpClient } from "./http-client.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";

const JOB_FILE = "job";
const ACK_SUFFIX = "/ack";
const EXIT_SUFFIX = "/exit";
const OUTPUT_DIVIDER = "/out/";
const SESSION_TTL = "15s";
const RENEW_INTERVAL_MS = 5_000;

const FLAGS = {
  node: stringFlag("Regular expression to filter on node names."),
  service: stringFlag("Regular expression to filter on service instances."),
  tag: stringFlag("Regular expression to filter on service tags. Must be used with -service."),
  prefix: stringFlag("Prefix in the KV store to use for request data.", "_rexec"),
  shell: boolFlag("Use a shell to run the command.", true),
  wait: durationFlag("Period to wait with no responses before terminating execution.", 2_000),
  "wait-repl": durationFlag("Period to wait for replication before firing event. This is an optimization to allow stale reads to be performed.", 200),
  verbose: boolFlag("Enables verbose output."),
  ...HTTP_CLIENT_FLAGS,
  ...HTTP_SERVER_FLAGS,
} as const;

const HELP = `
Usage: consulate exec [options] [-|command...]

  Evaluates a command on remote Consul nodes. The nodes responding can
  be filtered using regular expressions on node name, service, and tag
  definitions. If a command is '-', stdin will be read until EOF
  and used as a script input.
`;

/** Go's regexp.Compile failure, approximated with the JS engine's verdict. */
function regexpError(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
    return undefined;
  } catch (err) {
    return `error parsing regexp: ${errorMessage(err).replace(/^Invalid regular expression: /, "")}`;
  }
}

/** mitchellh/cli's prefixed UI as `consul exec` uses it: "==> node: msg" and "    node: line". */
function targeted(sink: TextSink, node: string, arrow: boolean, message: string): void {
  const lead = arrow ? "==>" : "   ";
  const text = message
    .split("\n")
    .map((line) => `${lead} ${node}: ${line}`)
    .join("\n")
    .trimEnd();
  printLine(sink, text);
}

type JobUpdate =
  | { kind: "ack"; node: string }
  | { kind: "heartbeat"; node: string }
  | { kind: "output"; node: string; output: Buffer }
  | { kind: "exit"; node: string; code: number }
  | { kind: "error" };

/** A queue the result stream fills and the wait loop drains, with a timeout per take. */
class UpdateQueue {
  readonly #items: JobUpdate[] = [];
  #wake: (() => void) | undefined;

  push(update: JobUpdate): void {
    this.#items.push(update);
    this.#wake?.();
  }

  /** The next update, or undefined once `timeoutMs` passes (or `signal` aborts) with none. */
  async take(timeoutMs: number, signal: AbortSignal): Promise<JobUpdate | undefined> {
    const ready = this.#items.shift();
    if (ready !== undefined) return ready;
    const wait = new AbortController();
    const onAbort = (): void => wait.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#wake = () => wait.abort();
    try {
      await sleep(timeoutMs, wait.signal);
    } finally {
      this.#wake = undefined;
      signal.removeEventListener("abort", onAbort);
    }
    return this.#items.shift();
  }
}

interface ExecSettings {
  prefix: string;
  waitMs: number;
  verbose: boolean;
}

/** Follows <prefix>/<session>/ with blocking key listings and reports each new key once. */
async function streamResults(client: ConsulHttpClient, settings: ExecSettings, session: string, queue: UpdateQueue, io: CommandIO, signal: AbortSignal): Promise<void> {
  const dir = `${posix.join(settings.prefix, session)}/`;
  const seen = new Set<string>();
  let index = "0";
  const readValue = async (key: string): Promise<Buffer | undefined> => {
    const res = await client.send({ method: "GET", path: `/v1/kv/${escapePath(key)}`, query: { raw: "" }, signal });
    if (res.statusCode === 200) return res.body;
    printLine(io.stderr, `Failed to read key '${key}': ${res.statusCode === 404 ? "<nil>" : res.body.toString("utf8").trim()}`);
    return undefined;
  };
  try {
    while (!signal.aborted) {
      const res = await client.send({
        method: "GET",
        path: `/v1/kv/${escapePath(dir)}`,
        query: { keys: "", index, wait: `${settings.waitMs}ms` },
        signal,
      });
      if (res.statusCode !== 200 && res.statusCode !== 404) {
        printLine(io.stderr, `Failed to read results: Unexpected response code: ${res.statusCode} (${res.body.toString("utf8").trim()})`);
        queue.push({ kind: "error" });
        return;
      }
      const next = String(res.headers["x-consul-index"] ?? index);
      if (next === index) continue;
      index = next;
      const keys = res.statusCode === 200 ? (parseJSONBody(res.body) as string[] | null) ?? [] : [];
      // Keys list in byte order, where a node's `exit` sorts before its `out/…`: within one
      // listing, report acks, then output, then exit codes, so output never trails its exit.
      const rank = (k: string): number => (k.endsWith(ACK_SUFFIX) ? 0 : k.endsWith(EXIT_SUFFIX) ? 2 : 1);
      keys.sort((a, b) => rank(a) - rank(b));
      for (const full of keys) {
        if (seen.has(full)) continue;
        seen.add(full);
        const key = full.startsWith(dir) ? full.slice(dir.length) : full;
        if (key === JOB_FILE) continue;
        if (key.endsWith(ACK_SUFFIX)) {
          queue.push({ kind: "ack", node: key.slice(0, -ACK_SUFFIX.length) });
        } else if (key.endsWith(EXIT_SUFFIX)) {
          const value = await readValue(full);
          if (value === undefined) continue;
          const text = value.toString("utf8");
          const code = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
          if (!Number.isSafeInteger(code) || code > 2 ** 31 - 1 || code < -(2 ** 31)) {
            printLine(io.stderr, `Failed to parse exit code '${text}': strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
            continue;
          }
          queue.push({ kind: "exit", node: key.slice(0, -EXIT_SUFFIX.length), code });
        } else if (key.lastIndexOf(OUTPUT_DIVIDER) !== -1) {
          const value = await readValue(full);
          if (value === undefined) continue;
          const node = key.slice(0, key.lastIndexOf(OUTPUT_DIVIDER));
          queue.push(value.length === 0 ? { kind: "heartbeat", node } : { kind: "output", node, output: value });
        } else {
          printLine(io.stderr, `Unknown key '${key}', ignoring.`);
        }
      }
    }
  } catch (err) {
    if (err instanceof RequestAbortedError) return;
    printLine(io.stderr, `Failed to read results: ${errorMessage(err)}`);
    queue.push({ kind: "error" });
  }
}

async function waitForJob(client: ConsulHttpClient, settings: ExecSettings, session: string, io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const started = Date.now();
  const queue = new UpdateQueue();
  const stop = new AbortController();
  const onShutdown = (): void => stop.abort();
  shutdown.addEventListener("abort", onShutdown, { once: true });
  const stream = streamResults(client, settings, session, queue, io, stop.signal);
  let acks = 0;
  let exits = 0;
  let badExit = 0;
  try {
    for (;;) {
      // A node that acknowledged and has not finished gets a longer window.
      const waitMs = acks > exits ? settings.waitMs * 2 : settings.waitMs;
      const update = await queue.take(waitMs, stop.signal);
      if (shutdown.aborted) return 1;
      if (update === undefined) {
        printLine(io.stdout, `${exits} / ${acks} node(s) completed / acknowledged`);
        if (settings.verbose) printLine(io.stdout, `Completed in ${((Date.now() - started) / 1000).toFixed(2)} seconds`);
        if (exits < acks) badExit++;
        break;
      }
      switch (update.kind) {
        case "ack":
          acks++;
          if (settings.verbose) targeted(io.stdout, update.node, true, "acknowledged");
          break;
        case "heartbeat":
          if (settings.verbose) targeted(io.stdout, update.node, true, "heartbeat received");
          break;
        case "output":
          targeted(io.stdout, update.node, false, update.output.toString("utf8"));
          break;
        case "exit":
          exits++;
          targeted(io.stdout, update.node, true, `finished with exit code ${update.code}`);
          if (update.code !== 0) badExit++;
          break;
        case "error":
          return 1;
      }
    }
  } finally {
    shutdown.removeEventListener("abort", onShutdown);
    stop.abort();
    await stream;
  }
  return badExit > 0 ? 2 : 0;
}

async function createSession(client: ConsulHttpClient, foreign: { localNode: string; localDc: string; dc: string } | undefined, verbose: boolean, io: CommandIO): Promise<string> {
  let body: Record<string, unknown> = { Name: "Remote Exec", Behavior: "delete", TTL: SESSION_TTL };
  if (foreign) {
    // The local agent is no node of the remote datacenter: bind to one of its servers, no checks.
    let node: string | undefined;
    try {
      const services = (await client.getJSON("/v1/health/service/consul", { passing: "1" })) as { Node?: { Node?: string } }[] | null;
      node = services?.[0]?.Node?.Node;
    } catch (err) {
      throw new Error(`Failed to find Consul server in remote datacenter: ${errorMessage(err)}`);
    }
    if (node === undefined) throw new Error("Failed to find Consul server in remote datacenter");
    if (verbose) printLine(io.stdout, `Binding session to remote node ${node}@${foreign.dc}`);
    body = { Name: `Remote Exec via ${foreign.localNode}@${foreign.localDc}`, Node: node, NodeChecks: [], Behavior: "delete", TTL: SESSION_TTL };
  }
  const res = await client.sendOK({ method: "PUT", path: "/v1/session/create", body: JSON.stringify(body) });
  const id = (parseJSONBody(res.body) as { ID?: unknown } | null)?.ID;
  if (typeof id !== "string") throw new Error("Failed to decode response: no session ID");
  return id;
}

async function renewSession(client: ConsulHttpClient, session: string, io: CommandIO, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(RENEW_INTERVAL_MS, signal);
    if (signal.aborted) return;
    try {
      await client.sendOK({ method: "PUT", path: `/v1/session/renew/${escapePath(session)}`, signal });
    } catch (err) {
      if (err instanceof RequestAbortedError) return;
      printLine(io.stderr, `Session renew failed: ${errorMessage(err)}`);
      return;
    }
  }
}

async function runExec(args: string[], io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const help = helpFor(HELP, FLAGS);
  let command = parsed.args.join(" ");
  let commandArgs: string[] = [];
  let script: Buffer = Buffer.alloc(0);
  if (command === "-") {
    if (!f.shell) {
      printLine(io.stderr, "Cannot configure -shell=false when reading from stdin");
      return 1;
    }
    command = "";
    try {
      script = await readAll(io.stdin);
    } catch (err) {
      printLine(io.stderr, `Failed to read stdin: ${errorMessage(err)}`);
      printLine(io.stderr, "");
      printLine(io.stderr, help());
      return 1;
    }
  } else if (!f.shell) {
    command = "";
    commandArgs = parsed.args;
  }
  if (command === "" && script.length === 0 && commandArgs.length === 0) {
    printLine(io.stderr, "Must specify a command to execute");
    printLine(io.stderr, "");
    printLine(io.stderr, help());
    return 1;
  }
  for (const [value, what] of [
    [f.node, "node"],
    [f.service, "service"],
    [f.tag, "tag"],
  ] as const) {
    const failure = value === "" ? undefined : regexpError(value);
    if (failure !== undefined) {
      printLine(io.stderr, `Failed to compile ${what} filter regexp: ${failure}`);
      return 1;
    }
  }
  if (f.tag !== "" && f.service === "") {
    printLine(io.stderr, "Cannot provide tag filter without service filter.");
    return 1;
  }

  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let self: { Config?: { Datacenter?: string; NodeName?: string } };
  try {
    self = (await client.getJSON("/v1/agent/self")) as typeof self;
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return 1;
  }
  const localDc = self.Config?.Datacenter ?? "";
  const foreign = f.datacenter !== "" && f.datacenter !== localDc ? { localNode: self.Config?.NodeName ?? "", localDc, dc: f.datacenter } : undefined;
  if (foreign && f.verbose) printLine(io.stdout, "Remote exec in foreign datacenter, using Session TTL");

  // Go marshals time.Duration as integer nanoseconds and []byte as base64.
  const spec: Record<string, unknown> = {};
  if (command !== "") spec.Command = command;
  if (commandArgs.length > 0) spec.Args = commandArgs;
  if (script.length > 0) spec.Script = script.toString("base64");
  spec.Wait = f.wait * 1_000_000;

  let session: string;
  try {
    session = await createSession(client, foreign, f.verbose, io);
  } catch (err) {
    printLine(io.stderr, `Failed to create session: ${errorMessage(err)}`);
    return 1;
  }
  const renewStop = new AbortController();
  const renewing = foreign ? renewSession(client, session, io, renewStop.signal) : Promise.resolve();
  const destroySession = async (): Promise<void> => {
    renewStop.abort();
    await renewing;
    await client.send({ method: "PUT", path: `/v1/session/destroy/${escapePath(session)}` }).catch(() => undefined);
  };
  const dir = posix.join(f.prefix, session);
  let uploaded = false;
  try {
    if (f.verbose) printLine(io.stdout, `Created remote execution session: ${session}`);
    try {
      const res = await client.sendOK({ method: "PUT", path: `/v1/kv/${escapePath(posix.join(dir, JOB_FILE))}`, query: { acquire: session }, body: JSON.stringify(spec) });
      if (res.body.toString("utf8").trim() !== "true") throw new Error(`failed to acquire key ${posix.join(dir, JOB_FILE)}`);
      uploaded = true;
    } catch (err) {
      printLine(io.stderr, `Failed to create job file: ${errorMessage(err)}`);
      return 1;
    }
    if (f.verbose) printLine(io.stdout, "Uploaded remote execution spec");
    // Time for followers to replicate the spec, so agents can read it with a stale read.
    await sleep(f["wait-repl"], shutdown);
    if (shutdown.aborted) return 1;
    let eventId = "";
    try {
      const res = await client.sendOK({
        method: "PUT",
        path: "/v1/event/fire/_rexec",
        query: { node: f.node || undefined, service: f.service || undefined, tag: f.tag || undefined },
        body: JSON.stringify({ Prefix: f.prefix, Session: session }),
      });
      const id = (parseJSONBody(res.body) as { ID?: unknown } | null)?.ID;
      eventId = typeof id === "string" ? id : "";
    } catch (err) {
      printLine(io.stderr, `Failed to fire event: ${errorMessage(err)}`);
      return 1;
    }
    if (f.verbose) printLine(io.stdout, `Fired remote execution event: ${eventId}`);
    const settings: ExecSettings = { prefix: f.prefix, waitMs: f.wait, verbose: f.verbose };
    return await waitForJob(client, settings, session, io, shutdown);
  } finally {
    // The session goes first, so no agent can still acquire a key under the tree being deleted.
    await destroySession();
    if (uploaded) await client.send({ method: "DELETE", path: `/v1/kv/${escapePath(dir)}`, query: { recurse: "" } }).catch(() => undefined);
  }
}

export const execCommand: CommandDefinition = {
  synopsis: "Executes a command on Consul nodes",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runExec(args, io, shutdown)),
};
