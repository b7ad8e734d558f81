// Lifeguard's local health awareness: a member that misses nacks or has to refute suspicions
// of itself is probably the slow one, so it stretches its own probe intervals and timeouts
// instead of accusing healthy peers. Score 0 is healthy; timeouts scale by (score + 1).

export class Awareness {
  readonly max: number;
  #score = 0;

  constructor(maxMultiplier: number) {
    this.max = maxMultiplier;
  }

  get score(): number {
    return this.#score;
  }

  /** Moves the score by delta, clamped to [0, max - 1]. */
  applyDelta(delta: number): void {
    this.#score = Math.min(this.max - 1, Math.max(0, this.#score + delta));
  }

  scaleTimeoutMs(timeoutMs: number): number {
    return timeoutMs * (this.#score + 1);
  }
}
