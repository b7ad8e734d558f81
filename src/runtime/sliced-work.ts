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
 * Runs the work in slices of about `sliceMs`, yielding to the event loop (setImmediate: I/O and
 * timers first) between them. The first slice starts at once, in the caller's turn.
 */
export async function runSliced<T>(work: SlicedWork<T>, sliceMs: number = DEFAULT_SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = work.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  }
}
