// Transmit-limited broadcast queue (memberlist queue.go). Every outgoing packet piggybacks
// broadcasts from here: least-transmitted first, newest first among equals, each sent at most
// `limit` times. A broadcast with a key (a member name) invalidates any queued older one for
// the same key, so only the newest news about a member is spread. Depth is bounded: past
// `maxDepth` the most-transmitted items are dropped (they have already spread the furthest).

/** Broadcasts serf queues apart from memberlist's (serf.queue.Intent / Event); the rest are memberlist's. */
export type BroadcastCategory = "intent" | "event";

export interface QueuedBroadcast {
  readonly bytes: Uint8Array;
  /** Invalidation key; undefined for broadcasts that never supersede each other. */
  readonly key: string | undefined;
  /** Called once when the item leaves the queue, sent out or superseded. */
  readonly onFinished: (() => void) | undefined;
  readonly category?: BroadcastCategory;
}

interface Item extends QueuedBroadcast {
  readonly id: number;
  transmits: number;
  finished: boolean;
}

export class BroadcastQueue {
  readonly maxDepth: number;
  /** tiers[t] holds live and finished items sent t times, in insertion order (oldest first). */
  readonly #tiers: Item[][] = [];
  readonly #byKey = new Map<string, Item>();
  #nextId = 0;
  #size = 0;
  #droppedTotal = 0;
  readonly #depthByCategory = new Map<BroadcastCategory, number>();

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth;
  }

  get size(): number {
    return this.#size;
  }

  /** Items dropped because the queue was full (a limit metric). */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /** Queued (not yet finished) broadcasts of one category. */
  depthOf(category: BroadcastCategory): number {
    return this.#depthByCategory.get(category) ?? 0;
  }

  enqueue(broadcast: QueuedBroadcast): void {
    if (broadcast.key !== undefined) {
      const older = this.#byKey.get(broadcast.key);
      if (older) this.#finish(older);
    }
    const item: Item = { ...broadcast, id: this.#nextId++, transmits: 0, finished: false };
    if (item.key !== undefined) this.#byKey.set(item.key, item);
    this.#tier(0).push(item);
    this.#size++;
    if (item.category) this.#depthByCategory.set(item.category, this.depthOf(item.category) + 1);
    if (this.#size > this.maxDepth) this.#prune();
  }

  /**
   * Takes broadcasts whose encoded sizes plus `overheadBytes` each fit in `limitBytes`, counts
   * a transmit for each, and retires those that reached `transmitLimit`.
   */
  take(overheadBytes: number, limitBytes: number, transmitLimit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let used = 0;
    const moved: Item[] = [];
    for (let t = 0; t < this.#tiers.length && used + overheadBytes < limitBytes; t++) {
      const tier = this.#tiers[t];
      for (let i = tier.length - 1; i >= 0; i--) {
        const item = tier[i];
        if (item.finished) continue;
        const cost = overheadBytes + item.bytes.length;
        if (used + cost > limitBytes) continue;
        used += cost;
        out.push(item.bytes);
        moved.push(item);
        if (used + overheadBytes >= limitBytes) break;
      }
    }
    for (const item of moved) {
      const from = this.#tiers[item.transmits];
      from.splice(from.indexOf(item), 1);
      item.transmits++;
      if (item.transmits >= transmitLimit) {
        this.#finish(item, false);
      } else {
        this.#insertSorted(this.#tier(item.transmits), item);
      }
    }
    return out;
  }

  /** Drops everything (used when leaving the cluster is abandoned or on shutdown). */
  reset(): void {
    for (const tier of this.#tiers) for (const item of tier) if (!item.finished) this.#finish(item, false);
    this.#tiers.length = 0;
  }

  #tier(t: number): Item[] {
    while (this.#tiers.length <= t) this.#tiers.push([]);
    return this.#tiers[t];
  }

  /** Keeps a tier ordered by id so "newest first" holds after items move between tiers. */
  #insertSorted(tier: Item[], item: Item): void {
    let i = tier.length;
    while (i > 0 && tier[i - 1].id > item.id) i--;
    tier.splice(i, 0, item);
  }

  #finish(item: Item, removeFromTier = true): void {
    if (item.finished) return;
    item.finished = true;
    this.#size--;
    if (item.category) this.#depthByCategory.set(item.category, this.depthOf(item.category) - 1);
    if (item.key !== undefined && this.#byKey.get(item.key) === item) this.#byKey.delete(item.key);
    if (removeFromTier) {
      const tier = this.#tiers[item.transmits];
      const index = tier.indexOf(item);
      if (index >= 0) tier.splice(index, 1);
    }
    item.onFinished?.();
  }

  #prune(): void {
    for (let t = this.#tiers.length - 1; t >= 0 && this.#size > this.maxDepth; t--) {
      const tier = this.#tiers[t];
      while (tier.length > 0 && this.#size > this.maxDepth) {
        const oldest = tier[0];
        this.#droppedTotal++;
        this.#finish(oldest);
      }
    }
  }
}
