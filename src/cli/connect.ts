// `consul connect ca get-config|set-config` (spec/connect.md §3).
import { readFile } from "node:fs/promises";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { stringFlag } from "./go-flags.ts";
import { connectProxyCommand } from "./connect-proxy.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

const CONNECT_HELP = `
Usage: consulate connect <subcommand> [options] [args]

  This command has subcommands for interacting with Consul Service Mesh.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  View the current CA configuration:

      $ consulate connect ca get-config

  For more examples, ask for subcommand help or view the documentation.
`;

const CA_HELP = `
Usage: consulate connect ca <subcommand> [options] [args]

  This command has subcommands for interacting with Consul Service Mesh's
  Certificate Authority (CA).

  Get the configuration:

      $ consulate connect ca get-config

  Update the configuration:

      $ consulate connect ca set-config -config-file ca.json
`;

const GET_HELP = `
Usage: consulate connect ca get-config [options]

  Displays the current service mesh Certificate Authority (CA) configuration.
`;

const SET_HELP = `
Usage: consulate connect ca set-config [options]

  Modifies the current service mesh Certificate Authority (CA) configuration.
`;

const SET_FLAGS = {
  "config-file": stringFlag("The path to the config file to use."),
  ...HTTP_FLAGS,
} as const;

async function runGetConfig(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, GET_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  try {
    const config = await client.getJSON("/v1/connect/ca/configuration");
    printLine(io.stdout, JSON.stringify(config, null, "\t"));
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error request CA configuration: ${errorMessage(err)}`);
    return 1;
  }
}

async function runSetConfig(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(SET_FLAGS, SET_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const file = parsed.values["config-file"];
  if (file === "") {
    printLine(io.stderr, "The -config-file flag is required");
    return 1;
  }
  let body: string;
  try {
    body = await readFile(file, "utf8");
    JSON.parse(body);
  } catch (err) {
    printLine(io.stderr, `Error parsing config file: ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  try {
    await client.sendOK({ method: "PUT", path: "/v1/connect/ca/configuration", body });
  } catch (err) {
    printLine(io.stderr, `Error setting CA configuration: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, "Configuration updated!");
  return 0;
}

export const connectCommands: Readonly<Record<string, CommandDefinition>> = {
  connect: { synopsis: "Interact with Consul Service Mesh", help: helpFor(CONNECT_HELP, undefined) },
  "connect ca": { synopsis: "Interact with the Consul Connect Certificate Authority (CA)", help: helpFor(CA_HELP, undefined) },
  "connect ca get-config": { synopsis: "Display the current Connect Certificate Authority (CA) configuration", help: helpFor(GET_HELP, HTTP_FLAGS), run: runGetConfig },
  "connect proxy": connectProxyCommand,
  "connect ca set-config": { synopsis: "Modify the current Connect CA configuration", help: helpFor(SET_HELP, SET_FLAGS), run: runSetConfig },
};
