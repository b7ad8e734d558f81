import { Readable } from "node:stream";
import { requestWork, type CooperativeTask, type StepOutcome } from "../runtime/cooperative-scheduler.ts";

// A big answer's body, handed to the socket one piece at a time through the request-work
// scheduler: a piece is produced (and written, since the response pipe writes what is pushed)
// only when the socket has taken the previous one (the pipe asks for more after 'drain') and
// the scheduler gives this answer a step. Eight clients pulling 16 MB answers therefore cost
// the event loop at most one turn budget of piece writes per turn, not one piece per client.
// A piece is a list of buffers (views of the entries' slabs, not a copy; views/instance-fragments.ts)
// pushed together in one step. An empty piece is a pause: the producer did a step's work
// (encoding entries of a cold answer) and has nothing to send yet.

/** Where the body is written, when it can hold writes back to send them in one go. */
export interface CorkableSink {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer): boolean;
}

class ScheduledBody extends Readable implements CooperativeTask {
  /** Set by writeCoalesced. */
  sink: CorkableSink | undefined;
  readonly #pieces: Iterator<readonly Buffer[]>;
  readonly #done: ((pieces: (readonly Buffer[])[]) => void) | undefined;
  readonly #produced: (readonly Buffer[])[] | undefined;
  /** Pieces wait in this stream's buffer while the socket is busy (produced ahead). */
  readonly #readAhead: boolean;
  /** Without read-ahead, the stream asked for a piece while its pipe was paused. */
  #wanted = false;
  #queued = false;

  constructor(pieces: Iterator<readonly Buffer[]>, done: ((pieces: (readonly Buffer[])[]) => void) | undefined, readAheadBytes: number | undefined) {
    super(readAheadBytes === undefined ? undefined : { highWaterMark: readAheadBytes });
    this.#pieces = pieces;
    this.#done = done;
    this.#produced = done ? [] : undefined;
    this.#readAhead = readAheadBytes !== undefined;
    // The pipe resumes its source once the socket drained: the piece asked for goes then.
    if (!this.#readAhead) {
      this.on("resume", () => {
        if (!this.#wanted) return;
        this.#wanted = false;
        this.#queue();
      });
    }
  }

  override _read(): void {
    // Without read-ahead a piece is produced only for a flowing pipe: produced for a paused
    // one, it would wait in this stream's buffer and be written from the socket's 'drain'
    // callbacks, in the poll phase (see step).
    if (!this.#readAhead && this.#pipePaused()) {
      this.#wanted = true;
      return;
    }
    this.#queue();
  }

  /**
   * A 'data' consumer (a pipe) paused for its destination; it resumes, with a 'resume' event,
   * once the destination drained. A consumer reading through 'readable' or async iteration
   * also leaves the stream not flowing, but it asks with read() and is served at once.
   */
  #pipePaused(): boolean {
    return this.readableFlowing === false && this.listenerCount("data") > 0;
  }

  #queue(): void {
    if (this.#queued || this.destroyed) return;
    this.#queued = true;
    requestWork.enqueue(this);
  }

  step(): StepOutcome {
    if (this.destroyed) {
      this.#queued = false;
      return "done";
    }
    const next = this.#pieces.next();
    // An empty piece: work was done (entries encoded) but there is nothing to send yet; the
    // next step continues it in a later round, without waiting for the socket to ask.
    if (next.done !== true && next.value.length === 0) return "again";
    this.#queued = false;
    if (next.done === true) {
      this.push(null);
      if (this.#produced) this.#done?.(this.#produced);
      return "done";
    }
    this.#produced?.push(next.value);
    // A flowing pipe writes each part as it is pushed, and a chunked response frames each
    // write: corked, a piece's parts and their frames leave in one vectored write instead of
    // one per part (issue 17, S4: the socket writes were ~6 % of a cold read).
    const sink = this.sink;
    if (sink === undefined || this.#readAhead) {
      sink?.cork();
      for (const part of next.value) this.push(part);
      sink?.uncork();
      return "done";
    }
    sink.cork();
    const parts = next.value;
    let i = 0;
    // Pushed, a part reaches the sink through the pipe until the sink is over its high-water
    // mark and the pipe pauses (usually after the first part of a piece).
    while (i < parts.length && !this.#pipePaused()) this.push(parts[i++]);
    // The rest of the piece goes to the sink here, in the same corked write. Pushed, it would
    // wait in this stream's buffer and be written from the sink's 'drain' callbacks, in the
    // poll phase: outside the scheduler's budget and its one step per turn while a write's
    // Raft round is in flight, ahead of the acknowledgements read in that phase (issue 17 C2:
    // about half of a loaded leader's answer bytes went out that way). The pipe still waits
    // for the drain before it asks for the next piece.
    while (i < parts.length) sink.write(parts[i++]);
    sink.uncork();
    return "done";
  }

  fail(err: unknown): void {
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * A body streaming `pieces` through the scheduler. `done`, when given, receives every piece
 * once the last one was produced (a body abandoned midway never calls it). With
 * `readAheadBytes`, pieces keep being produced while the socket has not yet taken the last
 * one, until that many bytes wait: for pieces that are costly to produce (entries encoded as
 * they are sent), so producing the next overlaps sending the last instead of following it.
 */
export function scheduledBody(pieces: Iterator<readonly Buffer[]>, done?: (pieces: (readonly Buffer[])[]) => void, readAheadBytes?: number): Readable {
  return new ScheduledBody(pieces, done, readAheadBytes);
}

/**
 * Lets a body from scheduledBody hold `sink`'s writes while it pushes one piece's parts, so
 * they are sent together; any other body is left as it is.
 */
export function writeCoalesced(body: Readable, sink: CorkableSink): void {
  if (body instanceof ScheduledBody) body.sink = sink;
}
