// Splices two sockets byte for byte, keeping half-closes (one side's FIN is passed on while
// the other may still answer), and tracks open relays so a listener can drain them.
import type { Socket } from "node:net";

/** Something open that a drain waits for and may have to cut. */
interface Open {
  destroy(): void;
}

export class RelaySet {
  readonly #open = new Set<Open>();
  #drained: (() => void) | undefined;

  get size(): number {
    return this.#open.size;
  }

  /** Pipes a ⇄ b. An error on either side tears both down; a side that closes lets the other
   * flush what it still holds, then closes it too. */
  relay(a: Socket, b: Socket): void {
    a.setNoDelay(true);
    b.setNoDelay(true);
    const pair: Open = {
      destroy: () => {
        a.destroy();
        b.destroy();
      },
    };
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

  /** Counts something else as open (a framed stream) until the returned function is called. */
  hold(destroy: () => void): () => void {
    const entry: Open = { destroy };
    this.#open.add(entry);
    return () => {
      if (!this.#open.delete(entry)) return;
      if (this.#open.size === 0) this.#drained?.();
    };
  }

  destroyAll(): void {
    for (const entry of [...this.#open]) entry.destroy();
  }
}
