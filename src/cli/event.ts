// `consul event -name=<name> [-node/-service/-tag regexps] [payload]`: fires a user event
// through the local agent and prints `Event ID: <id>`.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, parseJSONBody } from "./http-client.ts";

const FLAGS = {
  name: stringFlag("Name of the event."),
  node: stringFlag("Regular expression to filter on node names."),
  service: stringFlag("Regular expression to filter on service instances."),
  tag: stringFlag("Regular expression to filter on service tags. Must be used with -service."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
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

async function runEvent(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  const help = helpFor(HELP, FLAGS);
  if (flags.name === "") {
    printLine(io.stderr, "Event name must be specified");
    printLine(io.stderr, "");
    printLine(io.stderr, help());
    return 1;
  }
  for (const [value, what] of [
    [flags.node, "node"],
    [flags.service, "service"],
    [flags.tag, "tag"],
  ] as const) {
    if (value === "") continue;
    const failure = regexpError(value);
    if (failure !== undefined) {
      printLine(io.stderr, `Failed to compile ${what} filter regexp: ${failure}`);
      return 1;
    }
  }
  if (flags.tag !== "" && flags.service === "") {
    printLine(io.stderr, "Cannot provide tag filter without service filter.");
    return 1;
  }
  if (parsed.args.length > 1) {
    printLine(io.stderr, "Too many command line arguments.");
    printLine(io.stderr, "");
    printLine(io.stderr, help());
    return 1;
  }
  const payload = parsed.args[0];

  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  try {
    await client.getJSON("/v1/agent/self");
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return 1;
  }

  let id: string;
  try {
    const response = await client.sendOK({
      method: "PUT",
      path: `/v1/event/fire/${escapePath(flags.name)}`,
      query: {
        node: flags.node === "" ? undefined : flags.node,
        service: flags.service === "" ? undefined : flags.service,
        tag: flags.tag === "" ? undefined : flags.tag,
      },
      body: payload === undefined ? undefined : Buffer.from(payload),
    });
    const event = parseJSONBody(response.body) as { ID?: unknown } | null;
    id = typeof event?.ID === "string" ? event.ID : "";
  } catch (err) {
    printLine(io.stderr, `Error firing event: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Event ID: ${id}`);
  return 0;
}

export const eventCommand: CommandDefinition = {
  synopsis: "Fire a new event",
  help: helpFor(HELP, FLAGS),
  run: runEvent,
};
