// Flow control for one follower: the MsgApp messages sent but not yet acknowledged, bounded
// by count and by bytes. A ring buffer so the steady state allocates nothing.

export class Inflights {
  private start = 0;
  private countValue = 0;
  private bytesValue = 0;
  private readonly indexes: number[];
  private readonly sizes: number[];
  readonly maxCount: number;
  /** 0 means no byte limit. */
  readonly maxBytes: number;

  constructor(maxCount: number, maxBytes = 0) {
    if (maxCount <= 0) throw new Error("inflights: maxCount must be positive");
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
    this.indexes = new Array<number>(maxCount).fill(0);
    this.sizes = new Array<number>(maxCount).fill(0);
  }

  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  /** Records a MsgApp whose last entry is `index`; indexes must increase. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error("cannot add into a full inflights");
    const next = (this.start + this.countValue) % this.maxCount;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.countValue++;
    this.bytesValue += bytes;
  }

  /** Frees every inflight message whose last index is ≤ to. */
  freeLE(to: number): void {
    if (this.countValue === 0 || to < this.indexes[this.start]) return;
    let i = 0;
    let idx = this.start;
    let bytes = 0;
    for (; i < this.countValue; i++) {
      if (to < this.indexes[idx]) break;
      bytes += this.sizes[idx];
      idx = (idx + 1) % this.maxCount;
    }
    this.countValue -= i;
    this.bytesValue -= bytes;
    this.start = idx;
    if (this.countValue === 0) this.start = 0;
  }

  /** Frees the oldest inflight message, so a stalled pipeline can probe again. */
  freeFirstOne(): void {
    if (this.countValue === 0) return;
    this.freeLE(this.indexes[this.start]);
  }

  full(): boolean {
    return this.countValue === this.maxCount || (this.maxBytes !== 0 && this.bytesValue >= this.maxBytes);
  }

  reset(): void {
    this.countValue = 0;
    this.bytesValue = 0;
    this.start = 0;
  }
}
