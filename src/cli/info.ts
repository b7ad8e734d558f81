// `consul info`: the agent's Stats map from /v1/agent/self, sections and keys sorted.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS } from "./http-client.ts";

const FLAGS = { ...HTTP_CLIENT_FLAGS } as const;

const HELP = `
Usage: consulate info [options]

  Provides debugging information for operators
`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Renders `section:` lines followed by tab-indented `key = value` lines, all sorted. */
export function formatStats(stats: Record<string, unknown>): string[] | { error: string } {
  const lines: string[] = [];
  for (const section of Object.keys(stats).sort()) {
    lines.push(`${section}:`);
    const values = stats[section];
    if (!isRecord(values)) return { error: `Got invalid subkey in stats: ${JSON.stringify(values)}` };
    for (const key of Object.keys(values).sort()) {
      const value = values[key];
      lines.push(`\t${key} = ${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
  }
  return lines;
}

async function runInfo(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  let self: unknown;
  try {
    self = await client.getJSON("/v1/agent/self");
  } catch (err) {
    printLine(io.stderr, `Error querying agent: ${errorMessage(err)}`);
    return 1;
  }
  const stats = isRecord(self) ? self.Stats : undefined;
  if (!isRecord(stats)) {
    printLine(io.stderr, `Agent response did not contain 'Stats' key: ${JSON.stringify(self)}`);
    return 1;
  }
  const lines = formatStats(stats);
  if (!Array.isArray(lines)) {
    printLine(io.stderr, lines.error);
    return 1;
  }
  for (const line of lines) printLine(io.stdout, line);
  return 0;
}

export const infoCommand: CommandDefinition = {
  synopsis: "Provides debugging information for operators.",
  help: helpFor(HELP, FLAGS),
  run: runInfo,
};
