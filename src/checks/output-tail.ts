// Check output capture (Consul's circbuf): keeps the *last* `max` bytes written and counts
// everything, so a chatty check costs bounded memory however much it prints.

export class OutputTail {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor(maxBytes: number) {
    this.#max = Math.max(1, maxBytes);
  }

  get totalBytes(): number {
    return this.#total;
  }

  get truncated(): boolean {
    return this.#total > this.#max;
  }

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#total += buf.byteLength;
    if (buf.byteLength >= this.#max) {
      this.#chunks = [buf.subarray(buf.byteLength - this.#max)];
      this.#kept = this.#max;
      return;
    }
    this.#chunks.push(buf);
    this.#kept += buf.byteLength;
    while (this.#kept > this.#max) {
      const excess = this.#kept - this.#max;
      const head = this.#chunks[0];
      if (head.byteLength <= excess) {
        this.#chunks.shift();
        this.#kept -= head.byteLength;
      } else {
        this.#chunks[0] = head.subarray(excess);
        this.#kept -= excess;
      }
    }
  }

  /** The kept bytes as text (a cut multi-byte character at the start becomes U+FFFD, as Go prints it). */
  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }

  /** Script/docker form: a truncated capture is prefixed with what was dropped. */
  scriptText(): string {
    const kept = this.text();
    if (!this.truncated) return kept;
    return `Captured ${Math.min(this.#max, this.#total)} of ${this.#total} bytes\n...\n${kept}`;
  }
}
