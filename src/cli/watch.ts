// `consul watch -type=<t> [options] [child...]`: blocking queries on one data view. With a
// child, runs it on every real change with the JSON on stdin and CONSUL_INDEX set, until
// interrupted or the child fails; without one, prints the current value as indented JSON
// and exits, exactly as consul does.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, repeatableFlag, stringFlag } from "./go-flags.ts";
import { consulIndexOf } from "./consul-index.ts";
import { runBlockingWatch } from "./blocking-watch.ts";
import { startHandler } from "./handler-process.ts";
import type { ConsulHttpClient, QueryValue } from "./http-client.ts";
import { agentReachable, connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, UnexpectedStatusError } from "./http-client.ts";
import { kvEntryJson, parseKVEntries } from "./kv-entry.ts";
import { encodeJson, parseJsonWithBigInts } from "../http/json.ts";
import { formatGoDuration } from "../model/duration.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";

const FLAGS = {
  type: stringFlag("Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, agent_service, or event."),
  service_id: stringFlag("Specifies the local service instance to watch. Required for 'agent_service' type."),
  key: stringFlag("Specifies the key to watch. Only for 'key' type."),
  prefix: stringFlag("Specifies the key prefix to watch. Only for 'keyprefix' type."),
  service: stringFlag("Specifies the service to watch. Required for 'service' type, optional for 'checks' type."),
  tag: repeatableFlag("Specifies the service tag(s) to filter on. Optional for 'service' type. May be specified multiple times"),
  passingonly: stringFlag(
    "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, must be one of `[true|false]`. Defaults false.",
  ),
  shell: boolFlag("Use a shell to run the command (can set a custom shell via the SHELL environment variable).", true),
  state: stringFlag("Specifies the states to watch. Optional for 'checks' type."),
  name: stringFlag("Specifies an event name to watch. Only for 'event' type."),
  ...HTTP_CLIENT_FLAGS,
  ...HTTP_SERVER_FLAGS,
} as const;

const HELP = `
Usage: consulate watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
`;

/** The parameters consul's watch.Parse receives from the flags (only the non-empty ones). */
export interface WatchParams {
  readonly type: string;
  readonly key?: string;
  readonly prefix?: string;
  readonly service?: string;
  readonly tag?: readonly string[];
  readonly passingonly?: boolean;
  readonly stale?: boolean;
  readonly state?: string;
  readonly name?: string;
  readonly service_id?: string;
}

export interface WatchPlan {
  readonly type: string;
  readonly ordered: boolean;
  fetch(client: ConsulHttpClient, index: bigint, signal: AbortSignal, waitMs: number | undefined): Promise<{ index: bigint; value: unknown }>;
}

const HEALTH_STATES = new Set(["any", "passing", "warning", "critical"]);

function blockingQuery(index: bigint, waitMs: number | undefined): Record<string, QueryValue> {
  return {
    index: index > 0n ? index.toString() : undefined,
    wait: index > 0n && waitMs !== undefined ? `${Math.max(1, Math.floor(waitMs))}ms` : undefined,
  };
}

async function getView(
  client: ConsulHttpClient,
  path: string,
  query: Record<string, QueryValue>,
  signal: AbortSignal,
  notFoundIsNull = false,
): Promise<{ index: bigint; body: Buffer | undefined }> {
  const response = await client.send({ method: "GET", path, query, read: true, signal });
  if (notFoundIsNull && response.statusCode === 404) return { index: consulIndexOf(response), body: undefined };
  if (response.statusCode !== 200) throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
  return { index: consulIndexOf(response), body: response.body };
}

function jsonOf(body: Buffer | undefined): unknown {
  if (body === undefined) return null;
  const text = body.toString("utf8");
  return text.trim() === "" ? null : parseJsonWithBigInts(text);
}

/** api.Event().IDToIndex: XOR of the two 64-bit halves of the UUID. */
export function eventIdToIndex(id: string): bigint {
  const hex = id.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return 0n;
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}

function simplePlan(type: string, path: string, extra: Record<string, QueryValue> = {}): WatchPlan {
  return {
    type,
    ordered: true,
    async fetch(client, index, signal, waitMs) {
      const view = await getView(client, path, { ...extra, ...blockingQuery(index, waitMs) }, signal);
      return { index: view.index, value: jsonOf(view.body) };
    },
  };
}

/**
 * watch.Parse: validates the parameters for the type, failing with consul's messages
 * (`Must specify a single key to watch`, `Invalid parameters: [...]`, ...).
 */
export function compileWatchPlan(params: WatchParams): WatchPlan {
  const remaining = new Set<string>();
  if (params.key !== undefined) remaining.add("key");
  if (params.prefix !== undefined) remaining.add("prefix");
  if (params.service !== undefined) remaining.add("service");
  if (params.tag !== undefined) remaining.add("tag");
  if (params.passingonly !== undefined) remaining.add("passingonly");
  if (params.stale !== undefined) remaining.add("stale");
  if (params.state !== undefined) remaining.add("state");
  if (params.name !== undefined) remaining.add("name");
  if (params.service_id !== undefined) remaining.add("service_id");
  const take = (name: string): void => void remaining.delete(name);

  let plan: WatchPlan;
  switch (params.type) {
    case "key": {
      take("stale");
      take("key");
      const key = params.key ?? "";
      if (key === "") throw new Error("Must specify a single key to watch");
      plan = {
        type: "key",
        ordered: true,
        async fetch(client, index, signal, waitMs) {
          const path = `/v1/kv/${escapePath(key.startsWith("/") ? key.slice(1) : key)}`;
          const view = await getView(client, path, blockingQuery(index, waitMs), signal, true);
          const entry = view.body === undefined ? undefined : parseKVEntries(view.body)[0];
          return { index: view.index, value: entry === undefined ? null : kvEntryJson(entry) };
        },
      };
      break;
    }
    case "keyprefix": {
      take("stale");
      take("prefix");
      const prefix = params.prefix ?? "";
      if (prefix === "") throw new Error("Must specify a single prefix to watch");
      plan = {
        type: "keyprefix",
        ordered: true,
        async fetch(client, index, signal, waitMs) {
          const path = `/v1/kv/${escapePath(prefix.startsWith("/") ? prefix.slice(1) : prefix)}`;
          const view = await getView(client, path, { recurse: "", ...blockingQuery(index, waitMs) }, signal, true);
          return { index: view.index, value: view.body === undefined ? null : parseKVEntries(view.body).map(kvEntryJson) };
        },
      };
      break;
    }
    case "services":
      take("stale");
      plan = simplePlan("services", "/v1/catalog/services");
      break;
    case "nodes":
      take("stale");
      plan = simplePlan("nodes", "/v1/catalog/nodes");
      break;
    case "service": {
      take("stale");
      take("service");
      const service = params.service ?? "";
      if (service === "") throw new Error("Must specify a single service to watch");
      take("tag");
      take("passingonly");
      plan = simplePlan("service", `/v1/health/service/${escapePath(service)}`, {
        tag: params.tag,
        passing: params.passingonly === true ? "1" : undefined,
      });
      break;
    }
    case "checks": {
      take("stale");
      take("service");
      take("state");
      const service = params.service ?? "";
      let state = params.state ?? "";
      if (service !== "" && state !== "") throw new Error("Cannot specify service and state");
      if (service === "" && state === "") state = "any";
      take("tag");
      if (state !== "") {
        const checked = state;
        const inner = simplePlan("checks", `/v1/health/state/${escapePath(checked)}`);
        plan = {
          ...inner,
          fetch(client, index, signal, waitMs) {
            if (!HEALTH_STATES.has(checked)) return Promise.reject(new Error(`Unsupported state: ${checked}`));
            return inner.fetch(client, index, signal, waitMs);
          },
        };
      } else {
        plan = simplePlan("checks", `/v1/health/checks/${escapePath(service)}`);
      }
      break;
    }
    case "event": {
      take("name");
      const name = params.name ?? "";
      plan = {
        type: "event",
        ordered: false,
        async fetch(client, index, signal, waitMs) {
          const view = await getView(client, "/v1/event/list", { name: name === "" ? undefined : name, ...blockingQuery(index, waitMs) }, signal);
          let events = jsonOf(view.body);
          if (Array.isArray(events)) {
            // Only the events newer than the one the last answer ended with.
            const seen = events.findIndex((e: unknown) => eventIdToIndex(String((e as { ID?: unknown } | null)?.ID ?? "")) === index);
            if (index > 0n && seen !== -1) events = events.slice(seen + 1);
          }
          return { index: view.index, value: events };
        },
      };
      break;
    }
    case "agent_service": {
      take("service_id");
      const id = params.service_id ?? "";
      if (id === "") throw new Error("Must specify a single service_id to watch");
      plan = agentServicePlan(id);
      break;
    }
    case "connect_roots":
      plan = simplePlan("connect_roots", "/v1/agent/connect/ca/roots");
      break;
    case "connect_leaf": {
      take("service");
      plan = simplePlan("connect_leaf", `/v1/agent/connect/ca/leaf/${escapePath(params.service ?? "")}`);
      break;
    }
    default:
      throw new Error(`Unsupported watch type: ${params.type}`);
  }
  if (remaining.size > 0) throw new Error(`Invalid parameters: [${[...remaining].sort().join(" ")}]`);
  return plan;
}

/**
 * agent_service: agent-local state has no Raft index, so (as consul's watch does) it blocks on
 * the service's ContentHash (`?hash=`); the hash stands in for the index the runner compares.
 */
function agentServicePlan(id: string): WatchPlan {
  const hashes = new Map<bigint, string>();
  return {
    type: "agent_service",
    ordered: false,
    async fetch(client, index, signal, waitMs) {
      const hash = index > 0n ? hashes.get(index) : undefined;
      const wait = hash !== undefined && waitMs !== undefined ? `${Math.max(1, Math.floor(waitMs))}ms` : undefined;
      const view = await getView(client, `/v1/agent/service/${escapePath(id)}`, { hash, wait }, signal);
      const value = jsonOf(view.body);
      const contentHash = String((value as { ContentHash?: unknown } | null)?.ContentHash ?? "");
      const asIndex = /^[0-9a-f]{1,16}$/i.test(contentHash) ? BigInt(`0x${contentHash}`) : 0n;
      hashes.clear();
      if (asIndex > 0n) hashes.set(asIndex, contentHash);
      return { index: asIndex, value };
    },
  };
}

/** Go's json.Marshal escapes these even inside strings; keep byte-identical output. */
function goEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** json.MarshalIndent(data, "", "    ") as `consul watch` prints it (no trailing newline). */
export function formatWatchOutput(value: unknown): string {
  return goEscape(encodeJson(value, true)).replace(/\n$/, "");
}

/** json.NewEncoder(...).Encode(data): compact plus a newline, the handler's stdin. */
export function encodeHandlerInput(value: unknown): string {
  return `${goEscape(encodeJson(value, false))}\n`;
}

/** strconv.ParseBool with its error text. */
function parseGoBool(text: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
}

/** hclog's default line, as consul's watch logger prints retries. */
function logLine(level: string, message: string, fields: Record<string, string>): string {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  const stamp =
    `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}${zone}`;
  const rendered = Object.entries(fields)
    .map(([k, v]) => `${k}=${/[\s"=]/.test(v) ? JSON.stringify(v) : v}`)
    .join(" ");
  return `${stamp} [${level}] watch: ${message}: ${rendered}`;
}

export interface WatchCommandOptions {
  /** `?wait=` for each blocking read; consul sends none (the agent's 5 min default). */
  readonly waitMs?: number;
  readonly minIntervalMs?: number;
  readonly retryBaseMs?: number;
}

class HandlerFailed extends Error {
  override readonly name = "HandlerFailed";
}

export async function runWatch(args: string[], io: CommandIO, shutdown: AbortSignal, options: WatchCommandOptions = {}): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  if (flags.type === "") {
    printLine(io.stderr, "Watch type must be specified");
    printLine(io.stderr, "");
    printLine(io.stderr, helpFor(HELP, FLAGS)());
    return 1;
  }
  let passingonly: boolean | undefined;
  if (flags.passingonly !== "") {
    try {
      passingonly = parseGoBool(flags.passingonly);
    } catch (err) {
      printLine(io.stderr, `Failed to parse passingonly flag: ${errorMessage(err)}`);
      return 1;
    }
  }
  const nonEmpty = (value: string): string | undefined => (value === "" ? undefined : value);
  let plan: WatchPlan;
  try {
    plan = compileWatchPlan({
      type: flags.type,
      key: nonEmpty(flags.key),
      prefix: nonEmpty(flags.prefix),
      service: nonEmpty(flags.service),
      tag: flags.tag.length > 0 ? flags.tag : undefined,
      passingonly,
      stale: flags.stale ? true : undefined,
      state: nonEmpty(flags.state),
      name: nonEmpty(flags.name),
      service_id: nonEmpty(flags.service_id),
    });
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }

  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  if (!(await agentReachable(client, io, shutdown))) return 1;

  const stop = new AbortController();
  const onShutdown = (): void => stop.abort();
  shutdown.addEventListener("abort", onShutdown, { once: true });
  if (shutdown.aborted) stop.abort();
  const handlerArgs = parsed.args;
  let exitCode = 0;

  const onChange = async (index: bigint, value: unknown): Promise<void> => {
    if (handlerArgs.length === 0) {
      printLine(io.stdout, formatWatchOutput(value));
      stop.abort();
      return;
    }
    let failure: string | undefined;
    try {
      const handler = startHandler({
        args: handlerArgs,
        shell: flags.shell,
        env: { ...io.env, CONSUL_INDEX: index.toString() },
        stdin: Buffer.from(encodeHandlerInput(value)),
        io,
      });
      const forward = (): void => handler.signal("SIGTERM");
      shutdown.addEventListener("abort", forward, { once: true });
      failure = await handler.done;
      shutdown.removeEventListener("abort", forward);
    } catch (err) {
      failure = errorMessage(err);
    }
    if (failure !== undefined && !shutdown.aborted) {
      printLine(io.stderr, `Error executing handler: ${failure}`);
      throw new HandlerFailed(failure);
    }
  };

  try {
    await runBlockingWatch({
      fetch: (index, signal) => plan.fetch(client, index, signal, options.waitMs),
      onChange,
      signal: stop.signal,
      ordered: plan.ordered,
      minIntervalMs: options.minIntervalMs,
      retryBaseMs: options.retryBaseMs,
      onError: (err, retryMs) =>
        printLine(io.stderr, logLine("ERROR", "Watch errored", { type: plan.type, error: errorMessage(err), retry: formatGoDuration(retryMs) })),
    });
  } catch (err) {
    if (!(err instanceof HandlerFailed)) printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    exitCode = 1;
  } finally {
    shutdown.removeEventListener("abort", onShutdown);
    stop.abort();
  }
  return exitCode;
}

export const watchCommand: CommandDefinition = {
  synopsis: "Watch for changes in Consul",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runWatch(args, io, shutdown)),
};
