// User events (spec/status-event-coordinate.md §2) are agent-local, not Raft state: each
// agent keeps the most recent ones it accepted in a bounded ring and wakes its listers.

export const EVENT_BUFFER_CAPACITY = 256;

export interface UserEvent {
  ID: string;
  Name: string;
  /** Empty when no body was sent (rendered as `"Payload": null`). */
  Payload: Buffer;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

export class EventBuffer {
  readonly #capacity: number;
  readonly #ring: (UserEvent | undefined)[];
  #next = 0;
  #count = 0;
  #ltime = 0;
  #listeners = new Set<() => void>();

  constructor(capacity = EVENT_BUFFER_CAPACITY) {
    this.#capacity = capacity;
    this.#ring = new Array<UserEvent | undefined>(capacity);
  }

  get size(): number {
    return this.#count;
  }

  /** Stores an event, assigning the next Lamport time, and wakes every waiting lister. */
  add(event: Omit<UserEvent, "LTime">): UserEvent {
    const stored = { ...event, LTime: ++this.#ltime };
    this.#ring[this.#next] = stored;
    this.#next = (this.#next + 1) % this.#capacity;
    this.#count = Math.min(this.#count + 1, this.#capacity);
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const wake of listeners) wake();
    return stored;
  }

  /** Oldest first; `name` filters by exact event name. */
  list(name = ""): UserEvent[] {
    const out: UserEvent[] = [];
    const start = (this.#next - this.#count + this.#capacity) % this.#capacity;
    for (let i = 0; i < this.#count; i++) {
      const e = this.#ring[(start + i) % this.#capacity];
      if (e && (name === "" || e.Name === name)) out.push(e);
    }
    return out;
  }

  /** One-shot wake on the next added event; returns a function that cancels it. */
  onNextEvent(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }
}

/**
 * The X-Consul-Index of an event list: 1 when empty, else the XOR of the two 64-bit halves of
 * the last event's ID (Consul's IDToIndex; opaque, only compared for equality).
 */
export function eventListIndex(events: readonly UserEvent[]): bigint {
  const last = events.at(-1);
  if (!last) return 1n;
  const hex = last.ID.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return 1n;
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}
