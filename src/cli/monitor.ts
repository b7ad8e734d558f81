// `consul monitor`: streams the agent's logs (GET /v1/agent/monitor) until interrupted; when
// the agent ends the stream, says so and exits 1, as consul's command does.
import { Writable } from "node:stream";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, RequestAbortedError, UnexpectedStatusError } from "./http-client.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";

const FLAGS = {
  "log-level": stringFlag("Log level of the agent.", "INFO"),
  "log-json": boolFlag("Output logs in JSON format."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate monitor [options]

  Shows recent log messages of a Consul agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the Consul agent. For
  example your agent may only be logging at INFO level, but with the monitor
  you can see the DEBUG level logs.
`;

async function runMonitor(args: string[], io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      io.stdout.write(chunk.toString("utf8"));
      callback();
    },
  });
  const query: Record<string, string | undefined> = { loglevel: parsed.values["log-level"], logjson: parsed.values["log-json"] ? "" : undefined };
  try {
    const res = await client.send({ method: "GET", path: "/v1/agent/monitor", query, signal: shutdown, responseSink: sink });
    if (res.statusCode !== 200) throw new UnexpectedStatusError(res.statusCode, res.body.toString("utf8").trim());
  } catch (err) {
    if (err instanceof RequestAbortedError) return 0;
    printLine(io.stderr, `Error starting monitor: ${errorMessage(err)}`);
    return 1;
  }
  if (shutdown.aborted) return 0;
  printLine(io.stderr, "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.");
  return 1;
}

export const monitorCommand: CommandDefinition = {
  synopsis: "Stream logs from a Consul agent",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runMonitor(args, io, shutdown)),
};
