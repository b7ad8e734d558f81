// Linearizable reads without writing to the log (§6.4 of Ongaro's thesis): the leader
// records its commit index when the request arrives, then confirms it is still the leader
// with a round of heartbeats carrying the request id before releasing the read.
import type { Message } from "./messages.ts";

export const ReadOnlyOption = {
  /** Confirm leadership with a heartbeat round for every read batch. */
  Safe: "ReadOnlySafe",
  /** Trust the leader lease (bounded clock drift) and answer at once while it holds. */
  LeaseBased: "ReadOnlyLeaseBased",
} as const;
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

/** A read that may proceed once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<number>;
}

export function contextKey(ctx: Uint8Array | undefined): string {
  if (!ctx) return "";
  let s = "";
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Queues a read at commit index `index`; duplicates of a pending id are ignored. */
  addRequest(index: number, m: Message): void {
    const key = contextKey(m.entries[0]?.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req: m, acks: new Set() });
    this.queue.push(key);
  }

  /** Records a heartbeat ack carrying ctx; returns who has acked that read. */
  recvAck(id: number, ctx: Uint8Array | undefined): Set<number> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /**
   * Releases the read confirmed by ctx and every read queued before it (a quorum that
   * confirms a later heartbeat round also confirms the earlier ones).
   */
  advance(ctx: Uint8Array | undefined): { req: Message; index: number }[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: { req: Message; index: number }[] = [];
    for (const k of released) {
      const rs = this.pending.get(k);
      if (!rs) throw new Error("cannot find corresponding read state from pending map");
      this.pending.delete(k);
      out.push({ req: rs.req, index: rs.index });
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.req.entries[0]?.data;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
