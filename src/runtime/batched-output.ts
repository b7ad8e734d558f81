// Log lines gathered for a few milliseconds (or until a chunk's worth is pending) and written
// in one call.
//
// Node writes stdout to a file or pipe synchronously, one syscall per write: at DEBUG (the
// level -dev runs at, as Consul's does) the per-request "Request finished" line alone cost a
// quarter of the agent's request rate. Writing once per event-loop turn still cost 2–3 µs of
// a ~45 µs request under load (a turn answers only a few requests), so lines now wait up to
// FLUSH_DELAY_MS — too short for a person or a polling test to notice. Batching keeps the
// lines' order and loses nothing on a normal or error exit (the `exit` handler writes what is
// left, synchronously); only a SIGKILL can drop the last few milliseconds' lines.

export interface BatchedOutput {
  write(line: string): void;
  /** Writes whatever is pending now. */
  flush(): void;
}

const FLUSH_DELAY_MS = 15;
/** Past this many pending characters the lines go out at once, whatever the delay. */
const FLUSH_CHARS = 64 * 1024;

export function batchedOutput(write: (chunk: string) => void): BatchedOutput {
  let pending: string[] = [];
  let pendingChars = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const chunk = pending.length === 1 ? pending[0] : pending.join("");
    pending = [];
    pendingChars = 0;
    write(chunk);
  };
  process.on("exit", flush);
  return {
    write(line) {
      pending.push(line);
      pendingChars += line.length;
      if (pendingChars >= FLUSH_CHARS) flush();
      // Unref'd: pending lines never keep a finished process alive (exit writes them).
      else timer ??= setTimeout(flush, FLUSH_DELAY_MS).unref();
    },
    flush,
  };
}
