// `consul version`: no agent needed. Consul's exact lines (scripts parse `Consul vX.Y.Z` and
// the protocol line), then one line naming this implementation and its own version.
import { CONSULATE_VERSION, CONSUL_COMPAT_VERSION, BUILD_DATE_RFC3339 } from "../version.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { stringFlag } from "./go-flags.ts";

export const PRODUCT_NAME = "Consulate";

/** The RPC protocol range consul 1.x advertises; clients compare against it. */
export const RPC_PROTOCOL = { Default: 2, Min: 2, Max: 3 } as const;


export interface VersionInfo {
  readonly Version: string;
  readonly Revision: string;
  readonly Prerelease: string;
  readonly BuildDate: string;
  readonly RPC: typeof RPC_PROTOCOL;
}

export function versionInfo(env: Readonly<Record<string, string | undefined>>): VersionInfo {
  return {
    Version: CONSUL_COMPAT_VERSION,
    // The agent banner's Revision too: which Consulate build answers as this Consul version.
    Revision: env.CONSULATE_REVISION ?? `consulate-${CONSULATE_VERSION}`,
    Prerelease: "",
    BuildDate: env.CONSULATE_BUILD_DATE ?? BUILD_DATE_RFC3339,
    RPC: RPC_PROTOCOL,
  };
}

export function formatPrettyVersion(info: VersionInfo): string {
  const rpc = info.RPC;
  const supplement =
    rpc.Default < rpc.Max ? ` (agent will automatically use protocol >${rpc.Default} when speaking to compatible agents)` : "";
  return (
    `Consul v${info.Version}${info.Prerelease === "" ? "" : `-${info.Prerelease}`}\n` +
    (info.Revision === "" ? "" : `Revision ${info.Revision}\n`) +
    `Build Date ${info.BuildDate}\n` +
    `Protocol ${rpc.Default} spoken by default, understands ${rpc.Min} to ${rpc.Max}${supplement}\n` +
    `${PRODUCT_NAME} v${CONSULATE_VERSION} (a Consul-compatible agent in TypeScript)\n`
  );
}

/** Go's json.MarshalIndent(info, "", "   "). */
export function formatJSONVersion(info: VersionInfo): string {
  return JSON.stringify(info, null, "   ");
}

const FLAGS = { format: stringFlag("Output format {pretty|json}", "pretty") } as const;
const HELP = `
Usage: consulate version [options]
`;

async function runVersion(args: string[], io: CommandIO): Promise<number> {
  // `consul -v` is rewritten to `consul version -v ...`; those extra words are not flags here.
  const own = args.filter((arg) => arg !== "-v" && arg !== "--version" && arg !== "-version");
  const parsed = parseCommandLine(FLAGS, HELP, own, io);
  if (typeof parsed === "number") return parsed;
  const info = versionInfo(io.env);
  if (parsed.values.format === "pretty") {
    // UI.Output adds a newline after the already newline-terminated text, as consul's does.
    printLine(io.stdout, formatPrettyVersion(info));
    return 0;
  }
  if (parsed.values.format === "json") {
    printLine(io.stdout, formatJSONVersion(info));
    return 0;
  }
  printLine(io.stderr, `Unknown format: ${parsed.values.format}`);
  return 1;
}

export const versionCommand: CommandDefinition = {
  synopsis: "Prints the Consul version",
  help: helpFor(HELP, FLAGS),
  run: runVersion,
};
