/**
 * Concurrent HTTP connections per client IP (Consul's limits.http_max_conns_per_client, after
 * go-connlimit): a connection past the limit is refused as it arrives; one that closes frees
 * its place. The limit is read on every admission, so a reload takes effect for new
 * connections (open ones above a lowered limit stay, as in Consul). 0 or less: no limit.
 */
export class ClientConnectionLimit {
  readonly #limit: () => number;
  readonly #open = new Map<string, number>();
  /** Connections refused since start. */
  refused = 0;

  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Counts the connection in, or answers false when its address is at the limit. */
  admit(address: string): boolean {
    const open = this.#open.get(address) ?? 0;
    const limit = this.#limit();
    if (limit > 0 && open >= limit) {
      this.refused++;
      return false;
    }
    this.#open.set(address, open + 1);
    return true;
  }

  /** An admitted connection closed. */
  release(address: string): void {
    const open = this.#open.get(address) ?? 0;
    if (open <= 1) this.#open.delete(address);
    else this.#open.set(address, open - 1);
  }

  openFrom(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
