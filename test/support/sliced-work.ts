import type { SlicedWork } from "../../src/runtime/sliced-work.ts";

/**
 * Runs sliced work to its end in one go, as runWhole does, counting its pauses (the steps
 * that did not finish it): tests prove work is done in steps by this count, never by time.
 */
export function runCounted<T>(work: SlicedWork<T>): { value: T; pauses: number } {
  let pauses = 0;
  for (;;) {
    const step = work.next();
    if (step.done === true) return { value: step.value, pauses };
    pauses++;
  }
}
