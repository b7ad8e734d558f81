// The seam that makes every command runnable in-process: commands never touch `process`
// directly, so tests hand them buffers and a fake environment.

export interface TextSink {
  write(chunk: string | Uint8Array): unknown;
}

export interface CommandIO {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: AsyncIterable<Uint8Array | string>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A command takes its own arguments (after the command name) and returns an exit code. */
export type Command = (args: string[], io: CommandIO) => Promise<number>;

/** Like mitchellh/cli's Ui.Output / Ui.Error: the message plus a newline. */
export function printLine(sink: TextSink, message: string): void {
  sink.write(`${message}\n`);
}

export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
