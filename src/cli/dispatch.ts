// Top-level argument handling with the rules of mitchellh/cli, which consul uses: `-v` and
// `--version` anywhere mean `version`; `-h`/`-help`/`--help` anywhere before `--` show help;
// nested commands are matched by the longest run of plain words; no or an unknown command
// prints the command list and exits 127.
import type { CommandDefinition } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";

export const APP_NAME = "consulate";

const HELP_ARGS = new Set(["-h", "-help", "--help"]);

function alignedList(entries: readonly [string, string][]): string[] {
  const width = Math.max(0, ...entries.map(([name]) => name.length));
  return entries.map(([name, synopsis]) => `    ${name.padEnd(width)}    ${synopsis}`);
}

/** The command list of `parent` ("" for the top level): direct children only. */
function childrenOf(registry: Readonly<Record<string, CommandDefinition>>, parent: string): [string, string][] {
  const prefix = parent === "" ? "" : `${parent} `;
  return Object.keys(registry)
    .filter((name) => name.startsWith(prefix) && name !== parent && !name.slice(prefix.length).includes(" "))
    .sort()
    .map((name) => [name.slice(prefix.length), registry[name].synopsis]);
}

export function topLevelHelp(registry: Readonly<Record<string, CommandDefinition>>): string {
  return (
    `Usage: ${APP_NAME} [--version] [--help] <command> [<args>]\n\n` +
    "Available commands are:\n" +
    alignedList(childrenOf(registry, "")).join("\n") +
    "\n"
  );
}

function commandHelp(registry: Readonly<Record<string, CommandDefinition>>, name: string): string {
  const children = childrenOf(registry, name);
  const help = registry[name].help();
  if (children.length === 0) return help;
  return `${help}\n\nSubcommands:\n${alignedList(children).join("\n")}`;
}

interface ProcessedArgs {
  readonly help: boolean;
  readonly topFlags: string[];
  readonly command: string;
  readonly commandArgs: string[];
}

function processArgs(registry: Readonly<Record<string, CommandDefinition>>, args: readonly string[]): ProcessedArgs {
  let help = false;
  const topFlags: string[] = [];
  let command = "";
  let commandArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (HELP_ARGS.has(arg)) {
      help = true;
      continue;
    }
    if (command !== "") continue;
    if (arg.startsWith("-")) {
      topFlags.push(arg);
      continue;
    }
    if (arg === "") continue;
    // The longest registered name made of consecutive plain words.
    let end = i;
    while (end < args.length && args[end] !== "" && !args[end].startsWith("-") && !args[end].includes(" ")) end++;
    let matched = arg;
    for (let j = end; j > i; j--) {
      const candidate = args.slice(i, j).join(" ");
      if (Object.hasOwn(registry, candidate)) {
        matched = candidate;
        break;
      }
    }
    command = matched;
    commandArgs = args.slice(i + matched.split(" ").length);
  }
  return { help, topFlags, command, commandArgs };
}

/** Runs the CLI for `argv` (without the program name) and returns the exit code. */
export async function dispatch(
  registry: Readonly<Record<string, CommandDefinition>>,
  argv: readonly string[],
  io: CommandIO,
): Promise<number> {
  let args = [...argv];
  if (args.some((arg) => arg === "-v" || arg === "--version")) args = ["version", ...args];

  const processed = processArgs(registry, args);
  if (processed.command === "") {
    io.stdout.write(`${topLevelHelp(registry)}\n`);
    return processed.help ? 0 : 127;
  }
  if (!Object.hasOwn(registry, processed.command)) {
    io.stdout.write(`${topLevelHelp(registry)}\n`);
    return 127;
  }
  if (processed.help && registry[processed.command].handlesHelp !== true) {
    printLine(io.stdout, commandHelp(registry, processed.command));
    return 0;
  }
  if (processed.topFlags.length > 0) {
    io.stdout.write(
      "Invalid flags before the subcommand. If these flags are for\n" +
        "the subcommand, please put them after the subcommand.\n\n",
    );
    printLine(io.stdout, commandHelp(registry, processed.command));
    return 1;
  }
  const definition = registry[processed.command];
  if (definition.run === undefined) {
    printLine(io.stdout, commandHelp(registry, processed.command));
    return 1;
  }
  return definition.run(processed.commandArgs, io);
}
