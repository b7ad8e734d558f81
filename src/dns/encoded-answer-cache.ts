// Fully encoded service answers, reused until the service they describe changes.
//
// Key: the question bytes as received (name case preserved, type, class) plus everything else
// the reply bytes depend on — transport, the RD bit and the EDNS0 UDP size echoed in the OPT
// record. Validity: the service name's modify index (moved by any write to its instances, their
// nodes or their checks), the catalog generation (snapshot restores) and a settings generation.
//
// Shuffling: Consul shuffles answers on every query. An entry therefore holds a pool of
// independently shuffled replies and hands them out in rotation; every REFRESH_EVERY-th hit is
// reported as a miss so the caller resolves afresh and the new reply replaces the oldest pool
// slot. The pool keeps drifting through the permutations (every instance keeps reaching the
// front of a trimmed UDP answer) while only 1 in REFRESH_EVERY queries pays for resolving and
// encoding. A hit costs one copy of ~100-500 bytes and a 2-byte ID patch.

/** What an entry's bytes were computed from; any difference makes the entry stale. */
export interface AnswerStamp {
  /** Lower-cased service name whose index guards the entry. */
  serviceName: string;
  nameIndex: number;
  catalogGeneration: number;
  settingsGeneration: number;
}

interface Entry {
  stamp: AnswerStamp;
  variants: Buffer[];
  /** Next variant handed out. */
  next: number;
  /** Slot the next fresh reply overwrites once the pool is full. */
  replace: number;
  hits: number;
}

export interface EncodedAnswerCacheLimits {
  /** Differently shuffled replies kept per question. */
  poolSize: number;
  /** Once the pool is full, one hit in this many is turned into a miss to refresh a slot. */
  refreshEvery: number;
  /** Distinct questions kept; past this the cache starts over (bounded memory). */
  maxEntries: number;
}

export const ENCODED_ANSWER_CACHE_DEFAULTS: EncodedAnswerCacheLimits = { poolSize: 16, refreshEvery: 16, maxEntries: 10_000 };

function sameStamp(a: AnswerStamp, b: AnswerStamp): boolean {
  return (
    a.nameIndex === b.nameIndex &&
    a.catalogGeneration === b.catalogGeneration &&
    a.settingsGeneration === b.settingsGeneration &&
    a.serviceName === b.serviceName
  );
}

export class EncodedAnswerCache {
  readonly #limits: EncodedAnswerCacheLimits;
  readonly #entries = new Map<string, Entry>();

  constructor(limits: EncodedAnswerCacheLimits = ENCODED_ANSWER_CACHE_DEFAULTS) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * A reply for `key` with its ID set to `id`, or undefined when the caller must resolve (no
   * entry, a stale one, a pool still filling, or a refresh turn). `currentStamp` computes the
   * stamp the entry must still carry, given the service name it was stored under.
   */
  take(key: string, id: number, currentStamp: (serviceName: string) => AnswerStamp): Buffer | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (!sameStamp(entry.stamp, currentStamp(entry.stamp.serviceName))) {
      this.#entries.delete(key);
      return undefined;
    }
    const { poolSize, refreshEvery } = this.#limits;
    if (entry.variants.length < poolSize) return undefined;
    if (++entry.hits % refreshEvery === 0) return undefined;
    const variant = entry.variants[entry.next];
    entry.next = (entry.next + 1) % entry.variants.length;
    // The stored bytes stay untouched: a send may still be reading an earlier copy.
    const reply = Buffer.allocUnsafe(variant.length);
    variant.copy(reply);
    reply.writeUInt16BE(id, 0);
    return reply;
  }

  /** Records a freshly resolved reply computed under `stamp`. The bytes are copied. */
  offer(key: string, stamp: AnswerStamp, reply: Buffer): void {
    const bytes = Buffer.from(reply);
    let entry = this.#entries.get(key);
    if (entry && !sameStamp(entry.stamp, stamp)) entry = undefined;
    if (!entry) {
      if (this.#entries.size >= this.#limits.maxEntries) this.#entries.clear();
      this.#entries.set(key, { stamp, variants: [bytes], next: 0, replace: 0, hits: 0 });
      return;
    }
    if (entry.variants.length < this.#limits.poolSize) {
      entry.variants.push(bytes);
      return;
    }
    entry.variants[entry.replace] = bytes;
    entry.replace = (entry.replace + 1) % entry.variants.length;
  }

  clear(): void {
    this.#entries.clear();
  }
}
