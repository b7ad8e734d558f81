import type { SlicedWork } from "./sliced-work.ts";

// One scheduler for the request work that can be split: encoding the entries of a big answer,
// producing the next piece of a big answer for its socket. Node gives consensus, gossip and
// requests one thread; if every heavy reader ran its own slices (each yielding with its own
// setImmediate), a turn of the event loop would run one slice *per reader*, and eight readers
// would hold the loop for eight slices between two looks at the sockets. Here all such work
// shares one queue and one budget per turn: the scheduler runs in the check phase, takes small
// steps from its tasks in turn (round robin, so a 16 MB answer does not starve a 1 MB one) and
// stops when the turn's budget is spent. Raft messages, gossip, timers and small requests are
// handled in the poll and timer phases around it, so they never wait behind more than one
// budget of bulk work, however many heavy readers there are. While a write waits for its Raft
// round (urgent()), a turn is a single step: the round's acknowledgements and log write land
// in the poll phase, and each turn of bulk work they wait behind is time added to the write.

/** How long bulk work may hold one turn of the event loop. */
export const TURN_BUDGET_MS = 1;
/** How long one step of sliced work runs before the next task gets its turn. */
const STEP_MS = 0.5;

/** What a step tells the scheduler: call me again in a later round, or I am finished. */
export type StepOutcome = "again" | "done";

export interface CooperativeTask {
  /** A small piece of the work (well under the budget). */
  step(): StepOutcome;
  /** The step threw: the task is dropped and told why. */
  fail(err: unknown): void;
}

export class CooperativeScheduler {
  readonly #budgetMs: number;
  #queue: CooperativeTask[] = [];
  #head = 0;
  #scheduled = false;
  /** Open urgent() marks: while any is open, a turn takes one step only. */
  #urgent = 0;

  constructor(budgetMs: number = TURN_BUDGET_MS) {
    this.#budgetMs = budgetMs;
  }

  /** Tasks waiting for a turn. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Urgent marks open now. */
  get urgentMarks(): number {
    return this.#urgent;
  }

  /**
   * Marks work in flight that waits on I/O and must not wait behind bulk work (a write
   * waiting for its Raft round: the followers' acknowledgements and its own log write land in
   * the poll phase). Until the returned function is called, each turn takes a single step, so
   * the loop is back in the poll phase after one piece of bulk work instead of a whole budget;
   * bulk work still advances a step per turn, so readers slow down but never stop.
   */
  urgent(): () => void {
    this.#urgent++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#urgent--;
    };
  }

  /** Queues a task; it runs in a later check phase, never in the caller's turn. */
  enqueue(task: CooperativeTask): void {
    this.#queue.push(task);
    this.#schedule();
  }

  /** Runs a generator's work in steps on the scheduler; resolves with its result. */
  runSliced<T>(work: SlicedWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue({
        step: () => {
          const until = performance.now() + STEP_MS;
          for (;;) {
            const next = work.next();
            if (next.done === true) {
              resolve(next.value);
              return "done";
            }
            if (performance.now() >= until) return "again";
          }
        },
        fail: reject,
      });
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    const started = performance.now();
    while (this.#head < this.#queue.length) {
      const task = this.#queue[this.#head++];
      let outcome: StepOutcome;
      try {
        outcome = task.step();
      } catch (err) {
        task.fail(err);
        outcome = "done";
      }
      if (outcome === "again") this.#queue.push(task);
      if (this.#urgent > 0 || performance.now() - started >= this.#budgetMs) break;
    }
    // Compact the consumed head now and then, so the array does not grow without bound.
    if (this.#head > 1024 || this.#head === this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head < this.#queue.length) this.#schedule();
  };
}

/** The process's one scheduler: every agent in a process shares its one event loop. */
export const requestWork = new CooperativeScheduler();
