// `consul config write|read|list|delete` (Consul's command/config): config entries from HCL or
// JSON files, through /v1/config.
import { readFile } from "node:fs/promises";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine, readAll } from "./command-io.ts";
import { boolFlag, stringFlag, uint64Flag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, parseJSONBody } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

const GROUP_HELP = `
Usage: consulate config <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's centralized
  configuration entries.

  Write a config entry from a file:

      $ consulate config write web-defaults.hcl

  Read, list or delete entries:

      $ consulate config read -kind service-defaults -name web
      $ consulate config list -kind service-defaults
      $ consulate config delete -kind service-defaults -name web
`;

const WRITE_HELP = `
Usage: consulate config write [options] <configuration>

  Request a config entry to be created or updated. The configuration argument
  is either a file path or '-' to indicate that the config should be read from
  stdin. The data should be either in HCL or JSON form.
`;

const KIND_FLAGS = {
  kind: stringFlag("The kind of configuration to read."),
  ...HTTP_FLAGS,
} as const;

const NAMED_FLAGS = {
  kind: stringFlag("The kind of configuration."),
  name: stringFlag("The name of configuration."),
  ...HTTP_FLAGS,
} as const;

const CAS_FLAGS = {
  cas: boolFlag("Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set."),
  "modify-index": uint64Flag("Unsigned integer representing the ModifyIndex of the config entry. This is used in combination with the -cas flag."),
} as const;

const WRITE_FLAGS = { ...CAS_FLAGS, ...HTTP_FLAGS } as const;
const DELETE_FLAGS = { ...CAS_FLAGS, ...NAMED_FLAGS } as const;

/** The entry in a file or stdin, HCL or JSON (as Consul's config write accepts). */
async function readEntry(path: string, io: CommandIO): Promise<Record<string, unknown>> {
  const text = path === "-" ? (await readAll(io.stdin)).toString("utf8") : await readFile(path, "utf8");
  const trimmed = text.trimStart();
  let value: unknown;
  if (trimmed.startsWith("{")) value = JSON.parse(text);
  else {
    const { parseHcl } = await import("../config/hcl.ts");
    value = await parseHcl(path === "-" ? "stdin.hcl" : path, text);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("the configuration is not an object");
  return value as Record<string, unknown>;
}

function kindAndName(entry: Record<string, unknown>): { kind: string; name: string } {
  const get = (k: string): string => {
    const found = Object.entries(entry).find(([key]) => key.toLowerCase() === k);
    return typeof found?.[1] === "string" ? found[1] : "";
  };
  const kind = get("kind");
  // A mesh entry's name is always "mesh" (Consul's MeshConfigEntry.GetName).
  return { kind, name: kind === "mesh" ? "mesh" : get("name") };
}

async function runWrite(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(WRITE_FLAGS, WRITE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length !== 1) {
    printLine(io.stderr, "Must provide exactly one positional argument to specify the config entry to write");
    return 1;
  }
  let entry: Record<string, unknown>;
  try {
    entry = await readEntry(parsed.args[0], io);
  } catch (err) {
    printLine(io.stderr, `Failed to decode config entry input: ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  const { kind, name } = kindAndName(entry);
  const cas = parsed.values.cas;
  try {
    const res = await client.sendOK({ method: "PUT", path: "/v1/config", body: JSON.stringify(entry), query: cas ? { cas: String(parsed.values["modify-index"]) } : undefined });
    if (parseJSONBody(res.body) !== true) {
      printLine(io.stderr, `Config entry not updated: ${kind}/${name}`);
      return 1;
    }
  } catch (err) {
    printLine(io.stderr, `Error writing config entry ${kind}/${name}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Config entry written: ${kind}/${name}`);
  return 0;
}

async function runRead(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(NAMED_FLAGS, "\nUsage: consulate config read -kind <config kind> -name <config name> [options]\n", args, io);
  if (typeof parsed === "number") return parsed;
  const { kind, name } = parsed.values;
  if (kind === "") {
    printLine(io.stderr, "Must specify the -kind parameter");
    return 1;
  }
  if (name === "") {
    printLine(io.stderr, "Must specify the -name parameter");
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  try {
    const entry = await client.getJSON(`/v1/config/${escapePath(kind)}/${escapePath(name)}`);
    printLine(io.stdout, JSON.stringify(entry, null, 4));
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error reading config entry ${kind}/${name}: ${errorMessage(err)}`);
    return 1;
  }
}

async function runList(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(KIND_FLAGS, "\nUsage: consulate config list -kind <config kind> [options]\n", args, io);
  if (typeof parsed === "number") return parsed;
  const kind = parsed.values.kind;
  if (kind === "") {
    printLine(io.stderr, "Must specify the -kind parameter");
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  try {
    const entries = (await client.getJSON(`/v1/config/${escapePath(kind)}`)) as { Name: string }[];
    for (const e of entries) printLine(io.stdout, e.Name);
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error listing config entries for kind "${kind}": ${errorMessage(err)}`);
    return 1;
  }
}

async function runDelete(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(DELETE_FLAGS, "\nUsage: consulate config delete -kind <config kind> -name <config name> [options]\n", args, io);
  if (typeof parsed === "number") return parsed;
  const { kind, name, cas } = parsed.values;
  if (kind === "" || name === "") {
    printLine(io.stderr, kind === "" ? "Must specify the -kind parameter" : "Must specify the -name parameter");
    return 1;
  }
  if (cas && !parsed.explicit.has("modify-index")) {
    printLine(io.stderr, "Must specify a -modify-index greater than 0 with -cas");
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  try {
    const res = await client.sendOK({ method: "DELETE", path: `/v1/config/${escapePath(kind)}/${escapePath(name)}`, query: cas ? { cas: String(parsed.values["modify-index"]) } : undefined });
    if (cas && parseJSONBody(res.body) !== true) {
      printLine(io.stderr, `Config entry not deleted: ${kind}/${name}`);
      return 1;
    }
  } catch (err) {
    printLine(io.stderr, `Error deleting config entry ${kind}/${name}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Config entry deleted: ${kind}/${name}`);
  return 0;
}

export const configEntryCommands: Readonly<Record<string, CommandDefinition>> = {
  config: { synopsis: "Interact with Consul's Centralized Configurations", help: helpFor(GROUP_HELP, undefined) },
  "config write": { synopsis: "Create or update a centralized config entry", help: helpFor(WRITE_HELP, WRITE_FLAGS), run: runWrite },
  "config read": { synopsis: "Read a centralized config entry", help: helpFor("\nUsage: consulate config read -kind <config kind> -name <config name> [options]\n", NAMED_FLAGS), run: runRead },
  "config list": { synopsis: "List centralized config entries of a given kind", help: helpFor("\nUsage: consulate config list -kind <config kind> [options]\n", KIND_FLAGS), run: runList },
  "config delete": { synopsis: "Delete a centralized config entry", help: helpFor("\nUsage: consulate config delete -kind <config kind> -name <config name> [options]\n", DELETE_FLAGS), run: runDelete },
};
