import type { Socket } from "node:net";
import { plainDialer, tlsFailureReason, type ServerPortDialer } from "./server-port-tls.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import { encodeFrame, FrameDecoder } from "./frame.ts";
import { TurnBatchedWriter } from "./turn-batched-writer.ts";
import { reconnectDelayMs } from "./raft-transport.ts";
import { parseHostPort, RPC_PROTOCOL_BYTE, RpcError, RpcErrorCode, type RpcErrorBody, type RpcFrame } from "./rpc.ts";

// The calling side of the RPC mux: one multiplexed connection per server, opened on first use.
// A call is a request frame with a fresh id; its promise settles on the matching answer, on
// its own timeout or abort (which also sends a cancel frame), or when the connection dies
// (rpc-connection: the outcome is unknown, unless the connection never opened: `notSent`).
// A server whose connection failed is not dialled again until an exponential, jittered
// backoff has passed; calls meanwhile fail fast (also `notSent`) so the caller can try
// another server.

export interface RpcCallOptions {
  /** Aborting cancels the call on the server too (e.g. the HTTP client went away). */
  signal?: AbortSignal;
  /** 0 or absent: no timeout (blocking queries bound themselves). */
  timeoutMs?: number;
}

export interface RpcPoolOptions {
  clock: Clock;
  rng: Rng;
  /** Default port for addresses given without one. */
  defaultPort: number;
  connectTimeoutMs: number;
  /** Calls in flight per connection; more wait in a queue of at most `maxQueuedCalls`. */
  maxInFlightPerConnection: number;
  maxQueuedCalls: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** How a server port is dialled (plain, or TLS with verify_outgoing); plain when absent. */
  dial?: ServerPortDialer;
}

export const defaultRpcPoolOptions = {
  defaultPort: 8300,
  connectTimeoutMs: 5000,
  maxInFlightPerConnection: 1024,
  maxQueuedCalls: 8192,
  reconnectBaseMs: 100,
  reconnectMaxMs: 10_000,
} as const;

const NOT_SENT = { notSent: true } as const;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
}

interface Queued {
  start: () => void;
  reject: (err: Error) => void;
}

class RpcConnection {
  readonly #socket: Socket;
  readonly #writer: TurnBatchedWriter;
  readonly #options: RpcPoolOptions;
  readonly #address: string;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: Queued[] = [];
  readonly #onClose: (connected: boolean) => void;
  #nextId = 1;
  #connected = false;
  #closed = false;
  #connectTimer: TimerHandle | undefined;

  constructor(address: string, options: RpcPoolOptions, onClose: (connected: boolean) => void) {
    this.#address = address;
    this.#options = options;
    this.#onClose = onClose;
    const { host, port } = parseHostPort(address, options.defaultPort);
    const dialed = (options.dial ?? plainDialer)(host, port);
    this.#socket = dialed.socket;
    this.#socket.setNoDelay(true);
    this.#socket.write(Buffer.of(RPC_PROTOCOL_BYTE));
    this.#writer = new TurnBatchedWriter(this.#socket);
    this.#connectTimer = options.clock.setTimer(options.connectTimeoutMs, () => {
      if (!this.#connected) this.#fail(`rpc: connecting to ${address} timed out`);
    });
    this.#socket.once(dialed.readyEvent, () => {
      this.#connected = true;
      this.#connectTimer?.cancel();
    });
    const decoder = new FrameDecoder();
    this.#socket.on("data", (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.#fail(`rpc: bad frame from ${address}: ${String(err)}`);
        return;
      }
      for (const f of frames) this.#onFrame(f as Partial<RpcFrame>);
    });
    this.#socket.on("error", (err) => this.#fail(`rpc: connection to ${address} failed: ${tlsFailureReason(err)}`));
    this.#socket.on("close", () => this.#fail(`rpc: connection to ${address} closed`));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  call(method: string, args: unknown, options: RpcCallOptions): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RpcError(RpcErrorCode.Connection, `rpc: connection to ${this.#address} closed`, "", NOT_SENT));
    if (options.signal?.aborted) return Promise.reject(new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled"));
    return new Promise<unknown>((resolve, reject) => {
      const start = (): void => this.#start(method, args, options, resolve, reject);
      if (this.#pending.size < this.#options.maxInFlightPerConnection) return start();
      if (this.#queue.length >= this.#options.maxQueuedCalls) {
        reject(new RpcError(RpcErrorCode.Busy, `rpc: too many calls queued for ${this.#address}`));
        return;
      }
      const queued: Queued = {
        start: () => {
          options.signal?.removeEventListener("abort", onAbortQueued);
          start();
        },
        reject,
      };
      const onAbortQueued = (): void => {
        const at = this.#queue.indexOf(queued);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled"));
      };
      options.signal?.addEventListener("abort", onAbortQueued, { once: true });
      this.#queue.push(queued);
    });
  }

  close(): void {
    this.#fail(`rpc: connection to ${this.#address} closed`);
  }

  #start(method: string, args: unknown, options: RpcCallOptions, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    if (this.#closed) return reject(new RpcError(RpcErrorCode.Connection, `rpc: connection to ${this.#address} closed`, "", NOT_SENT));
    if (options.signal?.aborted) return reject(new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled"));
    const id = this.#nextId++;
    let timer: TimerHandle | undefined;
    const giveUp = (err: RpcError): void => {
      if (!this.#pending.has(id)) return;
      this.#settle(id);
      if (!this.#closed) this.#writer.write(encodeFrame({ t: "cancel", id } satisfies RpcFrame));
      reject(err);
    };
    const onAbort = (): void => giveUp(new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled"));
    if (options.timeoutMs && options.timeoutMs > 0) {
      timer = this.#options.clock.setTimer(options.timeoutMs, () => giveUp(new RpcError(RpcErrorCode.Timeout, `rpc: ${method} to ${this.#address} timed out`)));
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.#pending.set(id, {
      resolve,
      reject,
      cleanup: () => {
        timer?.cancel();
        options.signal?.removeEventListener("abort", onAbort);
      },
    });
    this.#writer.write(encodeFrame({ t: "req", id, m: method, a: args } satisfies RpcFrame));
  }

  /** Forgets a call and lets the next queued one start. */
  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    p.cleanup();
    const next = this.#queue.shift();
    if (next) next.start();
    return p;
  }

  #onFrame(frame: Partial<RpcFrame>): void {
    if (frame.t !== "res" || typeof frame.id !== "number") return;
    const p = this.#settle(frame.id);
    if (!p) return; // cancelled or timed out meanwhile
    if (frame.e) {
      const e: RpcErrorBody = frame.e;
      p.reject(new RpcError(e.code, e.message, e.leader ?? ""));
    } else p.resolve(frame.r);
  }

  #fail(message: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connectTimer?.cancel();
    this.#socket.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const queued = this.#queue.splice(0);
    // Requests written before the connection was established never reached the server.
    const sent = this.#connected ? {} : NOT_SENT;
    for (const p of pending) {
      p.cleanup();
      p.reject(new RpcError(RpcErrorCode.Connection, message, "", sent));
    }
    for (const q of queued) q.reject(new RpcError(RpcErrorCode.Connection, message, "", NOT_SENT));
    this.#onClose(this.#connected);
  }
}

interface Backoff {
  attempts: number;
  retryAtMs: number;
}

/** One multiplexed connection per server address, redialled with backoff after a failure. */
export class RpcPool {
  readonly #options: RpcPoolOptions;
  readonly #connections = new Map<string, RpcConnection>();
  readonly #backoff = new Map<string, Backoff>();
  #closed = false;

  constructor(options: Partial<RpcPoolOptions> & Pick<RpcPoolOptions, "clock" | "rng">) {
    this.#options = { ...defaultRpcPoolOptions, ...options };
  }

  /** Calls `method` on the server at `address` ("host" or "host:port"). */
  call(address: string, method: string, args: unknown, options: RpcCallOptions = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RpcError(RpcErrorCode.Connection, "rpc: pool closed", "", NOT_SENT));
    let conn = this.#connections.get(address);
    if (!conn || conn.closed) {
      const backoff = this.#backoff.get(address);
      const now = this.#options.clock.monotonicMs();
      if (backoff && backoff.retryAtMs > now) {
        return Promise.reject(new RpcError(RpcErrorCode.Connection, `rpc: ${address} unreachable, redialling in ${Math.ceil(backoff.retryAtMs - now)}ms`, "", NOT_SENT));
      }
      conn = this.#dial(address);
    }
    return conn.call(method, args, options);
  }

  /** True unless the address failed recently and is still backing off. */
  available(address: string): boolean {
    const backoff = this.#backoff.get(address);
    return !backoff || backoff.retryAtMs <= this.#options.clock.monotonicMs() || this.#connections.has(address);
  }

  inFlight(address: string): number {
    return this.#connections.get(address)?.inFlight ?? 0;
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  #dial(address: string): RpcConnection {
    const conn = new RpcConnection(address, this.#options, (connected) => {
      if (this.#connections.get(address) === conn) this.#connections.delete(address);
      if (this.#closed) return;
      // A connection that worked and then closed is redialled at once; one that never
      // connected backs off exponentially.
      const prev = this.#backoff.get(address);
      const attempts = connected ? 0 : (prev?.attempts ?? 0) + 1;
      if (attempts === 0) {
        this.#backoff.delete(address);
        return;
      }
      const delay = reconnectDelayMs(attempts, { baseMs: this.#options.reconnectBaseMs, maxMs: this.#options.reconnectMaxMs }, this.#options.rng.float());
      this.#backoff.set(address, { attempts, retryAtMs: this.#options.clock.monotonicMs() + delay });
    });
    this.#connections.set(address, conn);
    return conn;
  }
}
