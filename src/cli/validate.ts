// `consul validate`: parse and validate config files/directories without starting an agent.
// The config module is loaded lazily so other commands do not pay for it.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, stringFlag } from "./go-flags.ts";
import { errorMessage } from "./http-client.ts";

const FLAGS = {
  "config-format": stringFlag(
    "Config files are in this format irrespective of their extension. Must be 'hcl' or 'json'",
    "",
    "string",
  ),
  quiet: boolFlag("When given, a successful run will produce no output."),
} as const;

const HELP = `
Usage: consulate validate [options] FILE_OR_DIRECTORY...

  Performs a basic sanity test on Consul configuration files. For each file
  or directory given, the validate command will attempt to parse the
  contents just as the "consulate agent" command would, and catch any errors.
  This is useful to do a test of the configuration only, without actually
  starting the agent.

  Returns 0 if the configuration is valid, or 1 if there are problems.
`;

export type ConfigValidator = (paths: string[], configFormat?: "json" | "hcl") => Promise<void>;

async function loadValidator(): Promise<ConfigValidator> {
  const { validateConfigFiles } = await import("../config/load.ts");
  return (paths, configFormat) => validateConfigFiles(paths, configFormat ? { configFormat } : {});
}

export function makeValidateCommand(getValidator: () => Promise<ConfigValidator>) {
  return async function runValidate(args: string[], io: CommandIO): Promise<number> {
    const parsed = parseCommandLine(FLAGS, HELP, args, io);
    if (typeof parsed === "number") return parsed;
    const format = parsed.values["config-format"];
    if (format !== "" && format !== "hcl" && format !== "json") {
      printLine(io.stderr, `Config validation failed: -config-format must be either 'hcl' or 'json'`);
      return 1;
    }
    if (parsed.args.length < 1) {
      printLine(io.stderr, "Must specify at least one config file or directory");
      return 1;
    }
    try {
      const validate = await getValidator();
      await validate(parsed.args, format === "" ? undefined : format);
    } catch (err) {
      printLine(io.stderr, `Config validation failed: ${errorMessage(err)}`);
      return 1;
    }
    if (!parsed.values.quiet) printLine(io.stdout, "Configuration is valid!");
    return 0;
  };
}

export const validateCommand: CommandDefinition = {
  synopsis: "Validate config files/directories",
  help: helpFor(HELP, FLAGS),
  run: makeValidateCommand(loadValidator),
};
