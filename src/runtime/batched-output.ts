// Log lines gathered over one event-loop turn and written in one call at its end.
//
// Node writes stdout to a file or pipe synchronously, one syscall per write: at DEBUG (the
// level -dev runs at, as Consul's does) the per-request "Request finished" line alone cost a
// quarter of the agent's request rate. Batching keeps the lines' order and loses nothing on a
// normal or error exit (the `exit` handler writes what is left, synchronously); only a
// SIGKILL can drop the current turn's lines.

export interface BatchedOutput {
  write(line: string): void;
  /** Writes whatever is pending now. */
  flush(): void;
}

export function batchedOutput(write: (chunk: string) => void): BatchedOutput {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.length === 1 ? pending[0] : pending.join("");
    pending = [];
    write(chunk);
  };
  process.on("exit", flush);
  return {
    write(line) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
