// What the dispatcher knows about a command: its synopsis for the command list, its help
// text, and how to run it. Flag parsing failures are reported the way Go's FlagSet does.
import type { Command, CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { parseGoFlags } from "./go-flags.ts";
import type { FlagTable, FlagValues } from "./go-flags.ts";
import { HTTP_FLAG_NAMES } from "./http-client.ts";
import { renderUsage } from "./usage.ts";

export interface CommandDefinition {
  readonly synopsis: string;
  readonly help: () => string;
  /** Absent for groups like `kv`, which only print their help (exit 1, as consul does). */
  readonly run?: Command;
  /** The command prints its own help for `-h` (the agent does), so `-h` is passed through. */
  readonly handlesHelp?: boolean;
}

export interface ParsedCommandLine<T extends FlagTable> {
  readonly values: FlagValues<T>;
  readonly explicit: ReadonlySet<string>;
  readonly args: string[];
}

export function helpFor(text: string, flags: FlagTable | undefined): () => string {
  return () => renderUsage(text, flags, HTTP_FLAG_NAMES);
}

/**
 * Parses the command's flags. On `-h` prints help and yields exit code 0; on a bad flag prints
 * the Go error line and the usage to stderr and yields 1. `usageFlags` are the flags the usage
 * lists, when some accepted ones (deprecated) stay out of it as in consul.
 */
export function parseCommandLine<T extends FlagTable>(
  flags: T,
  helpText: string,
  args: readonly string[],
  io: CommandIO,
  usageFlags: FlagTable = flags,
): ParsedCommandLine<T> | number {
  const result = parseGoFlags(flags, args);
  if (result.ok) return result;
  const usage = renderUsage(helpText, usageFlags, HTTP_FLAG_NAMES);
  if (result.help) {
    printLine(io.stdout, usage);
    return 0;
  }
  printLine(io.stderr, result.error);
  printLine(io.stderr, usage);
  return 1;
}
