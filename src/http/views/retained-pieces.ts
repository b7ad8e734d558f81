// The socket pieces of the biggest memoised answers, kept so that a repeat of the same answer
// at the same index writes the same buffers again instead of concatenating 16 MB of entries
// anew (under two looping readers that copy was a tenth of the agent's time, and its garbage
// most of the collector's). Memory is bounded by bytes over all answers: the oldest answers'
// pieces are dropped first, and an answer whose index moved on is simply never asked for
// again and ages out.

/** Most bytes of pieces kept over every answer together. */
const RETAINED_BYTES_MAX = 64 * 1024 * 1024;

export class RetainedPieces {
  readonly #held = new Map<object, { pieces: (readonly Buffer[])[]; bytes: number }>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number = RETAINED_BYTES_MAX) {
    this.#maxBytes = maxBytes;
  }

  get(key: object): (readonly Buffer[])[] | undefined {
    return this.#held.get(key)?.pieces;
  }

  put(key: object, pieces: (readonly Buffer[])[]): void {
    let bytes = 0;
    for (const p of pieces) for (const part of p) bytes += part.length;
    // One answer may take at most half the budget, so two big services can alternate.
    if (bytes > this.#maxBytes / 2 || this.#held.has(key)) return;
    for (const [oldKey, old] of this.#held) {
      if (this.#bytes + bytes <= this.#maxBytes) break;
      this.#held.delete(oldKey);
      this.#bytes -= old.bytes;
    }
    this.#held.set(key, { pieces, bytes });
    this.#bytes += bytes;
  }
}
