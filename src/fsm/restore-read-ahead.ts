import type { SlicedWork } from "../runtime/sliced-work.ts";
import type { PreparedRestore } from "../state/snapshot.ts";

// An operator restore is read twice on the server that takes it: the handler decodes the
// archive's state and builds its catalog to refuse a bad one before it enters the log, then
// the snapshot-restore entry's preparation does the same again from the entry's bytes (at
// 170,000 instances ~2 s of CPU each). The handler offers what it built here; the state
// machine's preparation takes it instead of decoding again only when the entry carries the
// very same bytes (compared in full), so the result is exactly what decoding them gives, as
// on every other server. An offer is used once, and withdrawn by the handler when its
// proposal settles.

/** Bytes compared per pause: a memcmp of a few milliseconds. */
const COMPARE_SLICE_BYTES = 4 * 1024 * 1024;

interface Offer {
  data: Uint8Array;
  prepared: PreparedRestore;
}

export class RestoreReadAhead {
  #offers: Offer[] = [];

  /** Offers `prepared` (prepareRestore of `data`, never loaded since); returns the withdrawal. */
  offer(data: Uint8Array, prepared: PreparedRestore): () => void {
    const offer: Offer = { data, prepared };
    this.#offers.push(offer);
    return () => {
      this.#offers = this.#offers.filter((o) => o !== offer);
    };
  }

  /** Takes the offer read from exactly these bytes, if any, comparing them in slices. */
  *take(data: Uint8Array): SlicedWork<PreparedRestore | undefined> {
    for (const offer of [...this.#offers]) {
      if (offer.data.byteLength !== data.byteLength) continue;
      if (!(yield* sameBytes(offer.data, data))) continue;
      // Withdrawn while we compared: its handler gave up on it.
      if (!this.#offers.includes(offer)) continue;
      this.#offers = this.#offers.filter((o) => o !== offer);
      return offer.prepared;
    }
    return undefined;
  }

  get size(): number {
    return this.#offers.length;
  }
}

function* sameBytes(a: Uint8Array, b: Uint8Array): SlicedWork<boolean> {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at < x.length; at += COMPARE_SLICE_BYTES) {
    const end = Math.min(x.length, at + COMPARE_SLICE_BYTES);
    if (x.compare(y, at, end, at, end) !== 0) return false;
    yield;
  }
  return true;
}
