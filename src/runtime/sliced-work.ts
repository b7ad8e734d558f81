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
/**
 * Whether the check phase that ends the open budget is the next loop iteration's. A turn is a
 * whole iteration (timers, poll, check: what a Raft tick or a socket waits behind), and the
 * marker queued by setImmediate runs in the check phase of the iteration it was queued in when
 * queued from the timers or poll phase (a request's body arriving): closing the budget there
 * gave the slices resumed in that check phase a second budget in the same iteration (a 512 KiB
 * txn's parse ran 2 ms in the poll phase and its decode 2 ms more in the check phase).
 */
let closesInNextIteration = false;

function endTurn(): void {
  if (!closesInNextIteration) {
    // Queued from this iteration's timers or poll phase: queued again from here, the marker
    // runs in the next iteration's check phase, still ahead of the slices resumed there.
    closesInNextIteration = true;
    setImmediate(endTurn);
    return;
  }
  turnStartedAt = undefined;
}

/**
 * The start of this turn's budget, opened now if no sliced work opened it yet. `inCheckPhase`:
 * the caller runs in a check phase (a slice resumed by setImmediate), so the marker queued now
 * runs in the next iteration's check phase, ahead of any slice resumed there (those are queued
 * later). Otherwise the phase is not known and the marker makes sure it closes no earlier than
 * the next iteration's check phase.
 */
function turnBudgetStart(inCheckPhase: boolean): number {
  if (turnStartedAt === undefined) {
    turnStartedAt = performance.now();
    closesInNextIteration = inCheckPhase;
    setImmediate(endTurn);
  }
  return turnStartedAt;
}

/** Waits for the next check phase and opens its budget if no sliced work opened it yet. */
async function nextTurn(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  turnBudgetStart(true);
}

/**
 * Runs the work in slices, yielding to the event loop (setImmediate: I/O and timers first)
 * whenever the turn's budget of about `sliceMs` is spent — the budget every runSliced in the
 * turn shares, so work started in a turn that already ran its share waits for the next one.
 * A work resumed after yielding takes one step whatever is left of the budget, so works
 * running side by side all go on (a long restore cannot hold back a WAL write's checksums):
 * a turn runs the budget plus at most one step of each other work in progress. Work that ends
 * after the budget is spent resolves in the next turn: what its caller does next (propose,
 * apply, answer: whole steps, not sliced) then starts with a budget of its own instead of
 * running on in a turn already full.
 */
export async function runSliced<T>(work: SlicedWork<T>, sliceMs: number = DEFAULT_SLICE_MS): Promise<T> {
  let spent = performance.now() - turnBudgetStart(false) >= sliceMs;
  for (;;) {
    if (spent) await nextTurn();
    const step = work.next();
    spent = performance.now() - turnBudgetStart(false) >= sliceMs;
    if (step.done === true) {
      if (spent) await nextTurn();
      return step.value;
    }
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
