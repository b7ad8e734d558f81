// The CLI's ShutdownCh: commands that run until interrupted (lock, watch) take an AbortSignal;
// this adapter ties it to SIGINT/SIGTERM for the real process and detaches afterwards, so
// in-process runs leave no listeners behind.
import type { Command, CommandIO } from "./command-io.ts";

export type ShutdownAwareCommand = (args: string[], io: CommandIO, shutdown: AbortSignal) => Promise<number>;

export function withProcessShutdown(command: ShutdownAwareCommand): Command {
  return async (args, io) => {
    const controller = new AbortController();
    const onSignal = (): void => controller.abort();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      return await command(args, io, controller.signal);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  };
}
