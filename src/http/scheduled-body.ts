import { Readable } from "node:stream";
import { requestWork, type CooperativeTask, type StepOutcome } from "../runtime/cooperative-scheduler.ts";

// A big answer's body, handed to the socket one piece at a time through the request-work
// scheduler: a piece is produced (and written, since the response pipe writes what is pushed)
// only when the socket has taken the previous one (the pipe asks for more after 'drain') and
// the scheduler gives this answer a step. Eight clients pulling 16 MB answers therefore cost
// the event loop at most one turn budget of piece writes per turn, not one piece per client.

class ScheduledBody extends Readable implements CooperativeTask {
  readonly #pieces: Iterator<Buffer>;
  readonly #done: ((pieces: Buffer[]) => void) | undefined;
  readonly #produced: Buffer[] | undefined;
  #queued = false;

  constructor(pieces: Iterator<Buffer>, done: ((pieces: Buffer[]) => void) | undefined) {
    super();
    this.#pieces = pieces;
    this.#done = done;
    this.#produced = done ? [] : undefined;
  }

  override _read(): void {
    if (this.#queued) return;
    this.#queued = true;
    requestWork.enqueue(this);
  }

  step(): StepOutcome {
    this.#queued = false;
    if (this.destroyed) return "done";
    const next = this.#pieces.next();
    if (next.done === true) {
      this.push(null);
      if (this.#produced) this.#done?.(this.#produced);
      return "done";
    }
    this.#produced?.push(next.value);
    this.push(next.value);
    return "done";
  }

  fail(err: unknown): void {
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * A body streaming `pieces` through the scheduler. `done`, when given, receives every piece
 * once the last one was produced (a body abandoned midway never calls it).
 */
export function scheduledBody(pieces: Iterator<Buffer>, done?: (pieces: Buffer[]) => void): Readable {
  return new ScheduledBody(pieces, done);
}
