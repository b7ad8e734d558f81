// Process entry point: `consulate <command> [args]`. Exit codes follow consul's (0, 1, 2, 127).
import { processIO } from "./command-io.ts";
import { COMMANDS } from "./commands.ts";
import { dispatch } from "./dispatch.ts";

try {
  process.exitCode = await dispatch(COMMANDS, process.argv.slice(2), processIO());
} catch (err) {
  process.stderr.write(`Error executing CLI: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
