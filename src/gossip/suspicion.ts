import { assert } from "./assert.ts";

// Lifeguard's dynamic suspicion timeout. A suspicion starts at the maximum timeout and shrinks
// toward the minimum as independent members confirm it (log-scaled): a member that many peers
// cannot reach is declared dead quickly, one that a single (perhaps unhealthy) prober suspects
// gets the long timeout and so the time to refute. The timeout is never shorter than `minMs`.

/** Remaining time before a suspicion with `confirmations` of `expected` fires; may be ≤ 0. */
export function remainingSuspicionMs(
  confirmations: number,
  expected: number,
  elapsedMs: number,
  bounds: { minMs: number; maxMs: number },
): number {
  const fraction = expected < 1 ? 1 : Math.log(confirmations + 1) / Math.log(expected + 1);
  const raw = bounds.maxMs - fraction * (bounds.maxMs - bounds.minMs);
  const timeoutMs = Math.max(bounds.minMs, Math.floor(raw));
  return timeoutMs - elapsedMs;
}

export class Suspicion {
  readonly startedMs: number;
  /** Independent confirmations needed to reach the minimum timeout. */
  readonly expected: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly #suspectors = new Set<string>();
  #confirmations = 0;
  #deadlineMs: number;

  constructor(from: string, nowMs: number, options: { expected: number; minMs: number; maxMs: number }) {
    assert(options.minMs <= options.maxMs, "suspicion min timeout above max");
    this.startedMs = nowMs;
    this.expected = options.expected;
    this.minMs = options.minMs;
    this.maxMs = options.maxMs;
    this.#suspectors.add(from);
    this.#deadlineMs = nowMs + (options.expected < 1 ? options.minMs : options.maxMs);
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  get confirmations(): number {
    return this.#confirmations;
  }

  /**
   * Records a suspicion from another member. Returns true when it is new and independent (so
   * it is worth re-gossiping), false for a repeat or once enough confirmations are in.
   */
  confirm(from: string, nowMs: number): boolean {
    if (this.#confirmations >= this.expected) return false;
    if (this.#suspectors.has(from)) return false;
    this.#suspectors.add(from);
    this.#confirmations++;
    const elapsed = nowMs - this.startedMs;
    const remaining = remainingSuspicionMs(this.#confirmations, this.expected, elapsed, this);
    this.#deadlineMs = nowMs + Math.max(0, remaining);
    return true;
  }
}
