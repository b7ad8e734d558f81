// Long work that can be split is written once, as a generator that yields at points where it
// may pause (between array elements, between rows), and run either whole (startup replay,
// tests, small inputs) or in slices of a few milliseconds with a turn of the event loop between
// them, so Raft heartbeats, gossip acks and other requests are served meanwhile (issue 12 item
// 6). The generator decides where a pause is safe; the driver decides whether to pause there.

/** Work that may pause at each `yield`; its return value is the result. */
export type SlicedWork<T> = Generator<void, T, void>;

/** How long one slice runs before the event loop gets a turn. */
export const DEFAULT_SLICE_MS = 2;

/** Runs the work to completion now, in this turn. */
export function runWhole<T>(work: SlicedWork<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done === true) return step.value;
  }
}

/**
 * When sliced work first ran in the current turn of the event loop (performance.now()), shared
 * by every runSliced: one large request passes through several sliced stages (parse, decode,
 * encode, prepare), chained by promise reactions in one turn, and when each stage counted its
 * own 2 ms from its own start, a turn ran one slice per stage plus the whole steps between them
 * (10–15 ms at the body cap, issue 12 item 6). Undefined until sliced work runs in a turn.
 */
let turnStartedAt: number | undefined;

function endTurn(): void {
  turnStartedAt = undefined;
}

/**
 * The start of this turn's budget. The marker that ends it is queued when the budget opens, so
 * it runs in the next check phase ahead of any slice resumed there (those are queued later).
 */
function turnBudgetStart(): number {
  if (turnStartedAt === undefined) {
    turnStartedAt = performance.now();
    setImmediate(endTurn);
  }
  return turnStartedAt;
}

/**
 * Runs the work in slices, yielding to the event loop (setImmediate: I/O and timers first)
 * whenever the turn's budget of about `sliceMs` is spent — the budget every runSliced in the
 * turn shares, so work started in a turn that already ran its share waits for the next one.
 * A work resumed after yielding takes one step whatever is left of the budget, so works
 * running side by side all go on (a long restore cannot hold back a WAL write's checksums):
 * a turn runs the budget plus at most one step of each other work in progress.
 */
export async function runSliced<T>(work: SlicedWork<T>, sliceMs: number = DEFAULT_SLICE_MS): Promise<T> {
  let spent = performance.now() - turnBudgetStart() >= sliceMs;
  for (;;) {
    if (spent) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Opens this turn's budget, if no work opened it yet, before the step taken regardless.
      turnBudgetStart();
    }
    const step = work.next();
    if (step.done === true) return step.value;
    spent = performance.now() - turnBudgetStart() >= sliceMs;
  }
}

/** Calls `each` on every item, pausing after every `perStep` of them. */
export function* forEachInSteps<T>(items: Iterable<T>, perStep: number, each: (item: T) => void): SlicedWork<void> {
  let n = 0;
  for (const item of items) {
    each(item);
    if (++n % perStep === 0) yield;
  }
}
