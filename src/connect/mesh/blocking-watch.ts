// Follows one agent endpoint with blocking queries (?index= or ?hash=), the way Consul's own
// proxy and Go connect package keep leaf, roots and registrations fresh. Transient failures
// back off and retry; the first answer settles `ready`, and a refusal by the agent (4xx)
// before that rejects it, so a caller with a bad token or name hears about it at once.
import type { Clock, TimerHandle } from "../../runtime/clock.ts";
import { AgentStatusError, ConnectError } from "../../errors/connect-errors.ts";
import type { AgentAnswer, AgentClient, QueryParams } from "./agent-client.ts";

export interface BlockingWatchOptions<T> {
  client: AgentClient;
  path: string;
  query?: QueryParams;
  /** "index" follows X-Consul-Index; "hash" follows X-Consul-ContentHash (agent/service/<id>). */
  mode?: "index" | "hash";
  /** The blocking query's wait; the agent answers by then even without a change. */
  waitSeconds?: number;
  clock: Clock;
  /** Called with each new value (the first one included). */
  onChange: (value: T, answer: AgentAnswer<T>) => void;
  /** Called on every failed attempt (the watch keeps retrying). */
  onError?: (err: unknown) => void;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

export class BlockingWatch<T> {
  readonly ready: Promise<T>;
  readonly #opts: BlockingWatchOptions<T>;
  readonly #abort = new AbortController();
  #settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };
  #settled = false;
  #timer: TimerHandle | undefined;
  #wake: (() => void) | undefined;

  constructor(opts: BlockingWatchOptions<T>) {
    this.#opts = opts;
    this.ready = new Promise<T>((resolve, reject) => (this.#settle = { resolve, reject }));
    // A caller that never awaits `ready` must not crash the process with an unhandled rejection.
    this.ready.catch(() => undefined);
    void this.#run();
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  stop(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    this.#timer?.cancel();
    this.#wake?.();
    if (!this.#settled) {
      this.#settled = true;
      this.#settle.reject(new ConnectError("Closed", `watch on ${this.#opts.path} stopped`));
    }
  }

  async #run(): Promise<void> {
    const { client, path } = this.#opts;
    const mode = this.#opts.mode ?? "index";
    const wait = `${this.#opts.waitSeconds ?? 60}s`;
    let index = 0;
    let hash = "";
    let backoff = MIN_BACKOFF_MS;
    while (!this.stopped) {
      const blocking = mode === "index" ? index > 0 : hash !== "";
      const query: Record<string, string | undefined> = { ...this.#opts.query };
      if (blocking) {
        query.wait = wait;
        if (mode === "index") query.index = String(index);
        else query.hash = hash;
      }
      try {
        const answer = await client.get<T>(path, query, this.#abort.signal);
        backoff = MIN_BACKOFF_MS;
        if (this.stopped) return;
        const changed = mode === "index" ? answer.index !== index || !blocking : answer.contentHash !== hash || !blocking;
        // An index that goes backwards (snapshot restore, new leader) restarts from scratch.
        index = answer.index < index ? 0 : Math.max(answer.index, 1);
        hash = answer.contentHash;
        if (changed) {
          this.#opts.onChange(answer.body, answer);
          if (!this.#settled) {
            this.#settled = true;
            this.#settle.resolve(answer.body);
          }
        }
      } catch (err) {
        if (this.stopped) return;
        this.#opts.onError?.(err);
        if (!this.#settled && err instanceof AgentStatusError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429) {
          this.#settled = true;
          this.#settle.reject(err);
        }
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#opts.clock.setTimer(ms, resolve);
    });
  }
}
