// Runs the CLI in-process the way main.ts does, against a fake agent address.
import { COMMANDS } from "../../../src/cli/commands.ts";
import { dispatch } from "../../../src/cli/dispatch.ts";
import { captureIO } from "./fake-consul.ts";

export async function runCli(
  argv: string[],
  options: { address?: string; env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<{ code: number; out: string; err: string }> {
  const env = { ...(options.address ? { CONSUL_HTTP_ADDR: options.address } : {}), ...options.env };
  const io = captureIO(env, options.stdin ?? "");
  const code = await dispatch(COMMANDS, argv, io);
  return { code, out: io.out(), err: io.err() };
}
