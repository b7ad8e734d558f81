// Splices two sockets byte for byte, keeping half-closes (one side's FIN is passed on while
// the other may still answer), and tracks open relays so a listener can drain them.
import type { Socket } from "node:net";

type Pair = readonly [Socket, Socket];

export class RelaySet {
  readonly #open = new Set<Pair>();
  #drained: (() => void) | undefined;

  get size(): number {
    return this.#open.size;
  }

  /** Pipes a ⇄ b. An error on either side tears both down; a side that closes lets the other
   * flush what it still holds, then closes it too. */
  relay(a: Socket, b: Socket): void {
    a.setNoDelay(true);
    b.setNoDelay(true);
    const pair: Pair = [a, b];
    this.#open.add(pair);
    let closed = 0;
    const onClose = (other: Socket) => (): void => {
      closed++;
      if (!other.destroyed) {
        other.end();
        if (other.writableFinished) other.destroy();
        else other.once("finish", () => other.destroy());
      }
      if (closed === 2) {
        this.#open.delete(pair);
        if (this.#open.size === 0) this.#drained?.();
      }
    };
    const onError = (): void => {
      a.destroy();
      b.destroy();
    };
    a.on("error", onError);
    b.on("error", onError);
    a.once("close", onClose(b));
    b.once("close", onClose(a));
    a.pipe(b);
    b.pipe(a);
  }

  /** Resolves when every relay has ended, or destroys what is left after `timeoutMs`. */
  drain(timeoutMs: number, setTimer: (ms: number, fn: () => void) => { cancel(): void }): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimer(timeoutMs, () => {
        this.destroyAll();
        resolve();
      });
      this.#drained = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  destroyAll(): void {
    for (const [a, b] of [...this.#open]) {
      a.destroy();
      b.destroy();
    }
  }
}
