// `consul intention create|delete|get|list|match|check` (spec/connect.md §6; Consul's
// command/intention). Intentions are addressed by "SRC DST" or by a legacy ID.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { columnize } from "./columns.ts";
import { boolFlag, mapFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, parseJSONBody, type ConsulHttpClient } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

interface Intention {
  ID: string;
  Description?: string;
  SourceName: string;
  DestinationName: string;
  Action?: string;
  Permissions?: unknown[];
  Meta?: Record<string, string>;
  Precedence: number;
  CreatedAt: string;
}

const GROUP_HELP = `
Usage: consulate intention <subcommand> [options] [args]

  This command has subcommands for interacting with intentions. Intentions
  are permissions describing which services are allowed to communicate via
  Connect.

  Create an intention to allow "web" to talk to "db":

      $ consulate intention create web db

  Test whether a "web" is allowed to connect to "db":

      $ consulate intention check web db

  Find all intentions for communicating to the "db" service:

      $ consulate intention match db
`;

function usage(text: string): string {
  return `\nUsage: consulate intention ${text}\n`;
}

function describeAction(i: Intention): string {
  return i.Permissions && i.Permissions.length > 0 ? "<L7>" : (i.Action ?? "");
}

async function client(values: Parameters<typeof connectOrReport>[0], io: CommandIO): Promise<ConsulHttpClient | undefined> {
  return connectOrReport(values, io);
}

/** SRC DST, or a single legacy ID. */
async function lookup(c: ConsulHttpClient, args: string[]): Promise<Intention> {
  if (args.length === 1) return (await c.getJSON(`/v1/connect/intentions/${encodeURIComponent(args[0])}`)) as Intention;
  return (await c.getJSON("/v1/connect/intentions/exact", { source: args[0], destination: args[1] })) as Intention;
}

const CREATE_FLAGS = {
  allow: boolFlag("Create an intention that allows when matched."),
  deny: boolFlag("Create an intention that denies when matched."),
  replace: boolFlag("Replace matching intentions."),
  meta: mapFlag("Metadata to set on the intention, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.", "key=value"),
  ...HTTP_FLAGS,
} as const;

async function runCreate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(CREATE_FLAGS, usage("create [options] SRC DST"), args, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (parsed.args.length !== 2) {
    printLine(io.stderr, "Must specify two arguments: source and destination");
    return 1;
  }
  if (v.allow && v.deny) {
    printLine(io.stderr, "Only one of -allow or -deny may be specified");
    return 1;
  }
  const [source, destination] = parsed.args;
  const action = v.deny ? "deny" : "allow";
  const c = await client(v, io);
  if (!c) return 1;
  try {
    if (v.replace) await c.sendOK({ method: "DELETE", path: "/v1/connect/intentions/exact", query: { source, destination } });
    await c.sendOK({
      method: "POST",
      path: "/v1/connect/intentions",
      body: JSON.stringify({ SourceName: source, DestinationName: destination, SourceType: "consul", Action: action, Meta: v.meta }),
    });
  } catch (err) {
    printLine(io.stderr, `Error creating intention "${source} => ${destination} (${action})": ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Created: ${source} => ${destination} (${action})`);
  return 0;
}

async function runDelete(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, usage("delete [options] SRC DST\n       consulate intention delete [options] ID"), args, io);
  if (typeof parsed === "number") return parsed;
  const rest = parsed.args;
  if (rest.length < 1 || rest.length > 2) {
    printLine(io.stderr, "Error: command requires exactly 1 or 2 arguments");
    return 1;
  }
  const c = await client(parsed.values, io);
  if (!c) return 1;
  try {
    if (rest.length === 1) await c.sendOK({ method: "DELETE", path: `/v1/connect/intentions/${encodeURIComponent(rest[0])}` });
    else await c.sendOK({ method: "DELETE", path: "/v1/connect/intentions/exact", query: { source: rest[0], destination: rest[1] } });
  } catch (err) {
    printLine(io.stderr, `Error deleting intention: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, "Intention deleted.");
  return 0;
}

async function runGet(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, usage("get [options] SRC DST\n       consulate intention get [options] ID"), args, io);
  if (typeof parsed === "number") return parsed;
  const rest = parsed.args;
  if (rest.length < 1 || rest.length > 2) {
    printLine(io.stderr, "Error: command requires exactly 1 or 2 arguments");
    return 1;
  }
  const c = await client(parsed.values, io);
  if (!c) return 1;
  let ixn: Intention;
  try {
    ixn = await lookup(c, rest);
  } catch (err) {
    printLine(io.stderr, `Error: ${errorMessage(err)}`);
    return 1;
  }
  const lines = [`Source:\x1f${ixn.SourceName}`, `Destination:\x1f${ixn.DestinationName}`, `Action:\x1f${describeAction(ixn)}`];
  if (ixn.ID) lines.push(`ID:\x1f${ixn.ID}`);
  if (ixn.Description) lines.push(`Description:\x1f${ixn.Description}`);
  for (const k of Object.keys(ixn.Meta ?? {}).sort()) lines.push(`Meta[${k}]:\x1f${ixn.Meta?.[k] ?? ""}`);
  lines.push(`Created At:\x1f${ixn.CreatedAt}`);
  printLine(io.stdout, columnize(lines, "\x1f"));
  return 0;
}

async function runList(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, usage("list [options]"), args, io);
  if (typeof parsed === "number") return parsed;
  const c = await client(parsed.values, io);
  if (!c) return 1;
  let list: Intention[];
  try {
    list = (await c.getJSON("/v1/connect/intentions")) as Intention[];
  } catch (err) {
    printLine(io.stderr, `Failed to retrieve the intention list: ${errorMessage(err)}`);
    return 1;
  }
  if (list.length === 0) {
    printLine(io.stdout, "There are no intentions.");
    return 0;
  }
  const lines = ["ID\x1fSource\x1fAction\x1fDestination\x1fPrecedence"];
  for (const i of list) lines.push([i.ID, i.SourceName, describeAction(i), i.DestinationName, String(i.Precedence)].join("\x1f"));
  printLine(io.stdout, columnize(lines, "\x1f"));
  return 0;
}

const MATCH_FLAGS = {
  destination: boolFlag("Match intentions by destination (default).", true),
  source: boolFlag("Match intentions by source."),
  ...HTTP_FLAGS,
} as const;

async function runMatch(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(MATCH_FLAGS, usage("match [options] SRC|DST"), args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length !== 1) {
    printLine(io.stderr, "Error: command requires exactly one argument: src or dst");
    return 1;
  }
  const name = parsed.args[0];
  const by = parsed.values.source ? "source" : "destination";
  const c = await client(parsed.values, io);
  if (!c) return 1;
  try {
    const res = await c.sendOK({ method: "GET", path: "/v1/connect/intentions/match", query: { by, name }, read: true });
    const matches = (parseJSONBody(res.body) as Record<string, Intention[]>)[name] ?? [];
    for (const i of matches) printLine(io.stdout, `${i.SourceName} => ${i.DestinationName} (${describeAction(i)})`);
  } catch (err) {
    printLine(io.stderr, `Error matching the intention: ${errorMessage(err)}`);
    return 1;
  }
  return 0;
}

async function runCheck(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, usage("check [options] SRC DST"), args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length !== 2) {
    printLine(io.stderr, "Error: command requires exactly two arguments: src and dst");
    return 1;
  }
  const c = await client(parsed.values, io);
  if (!c) return 1;
  let allowed: boolean;
  try {
    const res = await c.sendOK({ method: "GET", path: "/v1/connect/intentions/check", query: { source: parsed.args[0], destination: parsed.args[1] }, read: true });
    allowed = (parseJSONBody(res.body) as { Allowed?: boolean }).Allowed === true;
  } catch (err) {
    printLine(io.stderr, `Error checking the connection: ${errorMessage(err)}`);
    return 2;
  }
  // Consul's exit codes: 0 allowed, 2 denied (1 is reserved for errors).
  printLine(io.stdout, allowed ? "Allowed" : "Denied");
  return allowed ? 0 : 2;
}

export const intentionCommands: Readonly<Record<string, CommandDefinition>> = {
  intention: { synopsis: "Interact with Connect service intentions", help: helpFor(GROUP_HELP, undefined) },
  "intention create": { synopsis: "Create intentions for service connections.", help: helpFor(usage("create [options] SRC DST"), CREATE_FLAGS), run: runCreate },
  "intention delete": { synopsis: "Delete an intention.", help: helpFor(usage("delete [options] SRC DST"), HTTP_FLAGS), run: runDelete },
  "intention get": { synopsis: "Show information about an intention.", help: helpFor(usage("get [options] SRC DST"), HTTP_FLAGS), run: runGet },
  "intention list": { synopsis: "List intentions.", help: helpFor(usage("list [options]"), HTTP_FLAGS), run: runList },
  "intention match": { synopsis: "Show intentions that match a source or destination.", help: helpFor(usage("match [options] SRC|DST"), MATCH_FLAGS), run: runMatch },
  "intention check": { synopsis: "Check whether a connection between two services is allowed.", help: helpFor(usage("check [options] SRC DST"), HTTP_FLAGS), run: runCheck },
};
