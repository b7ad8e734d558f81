// User events (serf's `consul event`): a Lamport clock orders them across members and a ring
// of recent Lamport slots de-duplicates them, so an event gossiped many times is delivered
// once. Events older than the ring are dropped: they cannot be told from duplicates any more.

export interface RecentEvent {
  readonly ltime: number;
  readonly name: string;
  readonly payload: Uint8Array;
}

interface Slot {
  ltime: number;
  events: RecentEvent[];
}

export class LamportClock {
  #time = 0;

  get time(): number {
    return this.#time;
  }

  /** Returns the current time and moves past it, for stamping a new local event. */
  stamp(): number {
    return this.#time++;
  }

  /** Moves the clock past a remote time, as Lamport's rule requires. */
  witness(remote: number): void {
    if (remote >= this.#time) this.#time = remote + 1;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class UserEventBuffer {
  readonly clock = new LamportClock();
  readonly #slots: (Slot | undefined)[];

  constructor(size: number) {
    this.#slots = new Array<Slot | undefined>(size).fill(undefined);
  }

  /** Records an event; true when it is new and should be delivered and re-gossiped. */
  admit(event: RecentEvent): boolean {
    this.clock.witness(event.ltime);
    const size = this.#slots.length;
    const now = this.clock.time;
    if (now > size && event.ltime < now - size) return false;
    const index = event.ltime % size;
    const slot = this.#slots[index];
    if (slot && slot.ltime === event.ltime) {
      if (slot.events.some((e) => e.name === event.name && sameBytes(e.payload, event.payload))) return false;
      slot.events.push(event);
      return true;
    }
    this.#slots[index] = { ltime: event.ltime, events: [event] };
    return true;
  }

  /** Remembered events, oldest first, for push-pull anti-entropy. */
  recent(): RecentEvent[] {
    const out: RecentEvent[] = [];
    for (const slot of this.#slots) if (slot) out.push(...slot.events);
    return out.sort((a, b) => a.ltime - b.ltime);
  }
}
