import type { AgentProcess } from "../../test/support/agent-process.ts";
import { checkLinearizable } from "../../test/lin/checker.ts";
import { kvModel, type KvOperation } from "../../test/lin/kv-model.ts";

// Concurrent KV clients against real server processes, recording what they saw:
// - writers create unique keys (`chaos/<run>/w<client>/<n>` with ?cas=0); every write answered
//   `true` is acknowledged and must be readable at the end, whatever was killed meanwhile;
// - register clients put and read a few shared keys; every operation's invoke and response
//   time (this process's monotonic clock, so one timeline across clients) goes into a history
//   that the project's linearizability checker (test/lin) must accept.
// Each client sends to one server at a time and moves to the next on a failure, as a client
// with several agent addresses does; a follower forwards writes to the leader.

export interface WorkloadOptions {
  /** Unique-key writers. */
  writers: number;
  /** Clients of the shared registers (linearizability history). */
  registerClients: number;
  /** Shared register keys. */
  registers: number;
  /** Request timeout: a write unanswered by then has an unknown outcome. */
  requestTimeoutMs: number;
}

export const WORKLOAD_DEFAULTS: WorkloadOptions = { writers: 3, registerClients: 3, registers: 3, requestTimeoutMs: 3000 };

export interface WorkloadReport {
  acknowledged: number;
  /** Acknowledged writes missing (or holding another value) at the end. */
  lost: string[];
  /** Writes with an unknown outcome (timeout, connection reset). */
  unknown: number;
  history: KvOperation[];
  linearizable: boolean | "skipped";
}

type Outcome = { kind: "ok"; status: number; body: string } | { kind: "refused" } | { kind: "unknown" };

/** ECONNREFUSED: nothing reached the server, so nothing can have been applied. */
function isRefused(err: unknown): boolean {
  const cause = err instanceof Error ? (err.cause as { code?: string } | undefined) : undefined;
  return cause?.code === "ECONNREFUSED";
}

async function call(base: string, path: string, init: RequestInit, timeoutMs: number): Promise<Outcome> {
  try {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return { kind: "ok", status: res.status, body: await res.text() };
  } catch (err) {
    return isRefused(err) ? { kind: "refused" } : { kind: "unknown" };
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KvWorkload {
  readonly #servers: () => AgentProcess[];
  readonly #options: WorkloadOptions;
  readonly #prefix: string;
  readonly #acked = new Map<string, string>();
  readonly #history: KvOperation[] = [];
  #unknown = 0;
  #stopping = false;
  #clients: Promise<void>[] = [];

  constructor(servers: () => AgentProcess[], prefix: string, options: Partial<WorkloadOptions> = {}) {
    this.#servers = servers;
    this.#prefix = prefix;
    this.#options = { ...WORKLOAD_DEFAULTS, ...options };
  }

  get acknowledged(): number {
    return this.#acked.size;
  }

  start(): void {
    for (let c = 0; c < this.#options.writers; c++) this.#clients.push(this.#writer(c));
    for (let c = 0; c < this.#options.registerClients; c++) this.#clients.push(this.#registerClient(100 + c));
  }

  /** Resolves once `count` more writes have been acknowledged (or rejects after timeoutMs). */
  async progress(count: number, timeoutMs: number): Promise<void> {
    const target = this.#acked.size + count;
    const deadline = performance.now() + timeoutMs;
    while (this.#acked.size < target) {
      if (performance.now() > deadline) throw new Error(`only ${this.#acked.size - (target - count)} of ${count} writes acknowledged in ${timeoutMs} ms`);
      await pause(50);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#clients);
  }

  #target(turn: number): AgentProcess | undefined {
    const pool = this.#servers();
    return pool.length === 0 ? undefined : pool[turn % pool.length];
  }

  async #writer(client: number): Promise<void> {
    let turn = client;
    for (let n = 0; !this.#stopping; n++) {
      const key = `${this.#prefix}/w${client}/${String(n).padStart(6, "0")}`;
      const value = `${client}-${n}`;
      // Retry the same key until it is acknowledged, found to exist (an earlier unanswered
      // attempt committed: present, never acknowledged), or the run stops.
      for (;;) {
        const target = this.#target(turn);
        if (target === undefined) {
          await pause(100);
          if (this.#stopping) return;
          continue;
        }
        const out = await call(target.base, `/v1/kv/${key}?cas=0`, { method: "PUT", body: value }, this.#options.requestTimeoutMs);
        if (out.kind === "ok" && out.status === 200) {
          if (out.body.trim() === "true") this.#acked.set(key, value);
          break;
        }
        if (out.kind === "unknown") this.#unknown++;
        turn++;
        if (this.#stopping) return;
        await pause(out.kind === "refused" ? 20 : 100);
      }
    }
  }

  async #registerClient(clientId: number): Promise<void> {
    let turn = clientId;
    for (let n = 0; !this.#stopping; n++) {
      const target = this.#target(turn);
      if (target === undefined) {
        await pause(100);
        continue;
      }
      const key = `${this.#prefix}/reg/${n % this.#options.registers}`;
      const started = performance.now();
      if ((n + clientId) % 2 === 0) {
        const value = `c${clientId}-${n}`;
        const out = await call(target.base, `/v1/kv/${key}`, { method: "PUT", body: value }, this.#options.requestTimeoutMs);
        if (out.kind === "refused") {
          turn++;
          await pause(20);
          continue;
        }
        const acked = out.kind === "ok" && out.status === 200 && out.body.trim() === "true";
        // Not acknowledged: it may still take effect at any later time, or never.
        this.#history.push({ clientId, input: { op: "put", key, value }, output: acked ? null : undefined, call: started, return: acked ? performance.now() : Infinity });
        if (!acked) {
          this.#unknown++;
          turn++;
          // Each unknown put costs the checker exponentially: back off while the cluster
          // fails over rather than piling them up.
          await pause(300);
        }
      } else {
        // Default consistency, what clients use: it must never be stale either.
        const out = await call(target.base, `/v1/kv/${key}?raw`, {}, this.#options.requestTimeoutMs);
        if (out.kind === "ok" && (out.status === 200 || out.status === 404)) {
          this.#history.push({ clientId, input: { op: "get", key }, output: out.status === 404 ? null : out.body, call: started, return: performance.now() });
        } else {
          // A failed read observed nothing: it stays out of the history.
          turn++;
          await pause(50);
        }
      }
      await pause(5);
    }
  }

  /**
   * Reads every acknowledged key back (?consistent, from any server that answers) and checks
   * the register history. Call after stop(), with the cluster healthy.
   */
  async verify(options: { checkHistory: boolean }): Promise<WorkloadReport> {
    const found = await this.#readBack();
    const lost: string[] = [];
    for (const [key, value] of this.#acked) if (found.get(key) !== value) lost.push(key);
    let linearizable: boolean | "skipped" = "skipped";
    if (options.checkHistory) linearizable = checkLinearizable(kvModel, this.#history).ok;
    return { acknowledged: this.#acked.size, lost, unknown: this.#unknown, history: this.#history, linearizable };
  }

  async #readBack(): Promise<Map<string, string>> {
    const deadline = performance.now() + 30_000;
    for (let turn = 0; ; turn++) {
      const target = this.#target(turn);
      if (target !== undefined) {
        const out = await call(target.base, `/v1/kv/${this.#prefix}/?recurse&consistent`, {}, 10_000);
        if (out.kind === "ok" && (out.status === 200 || out.status === 404)) {
          const rows = out.status === 404 ? [] : (JSON.parse(out.body) as { Key: string; Value: string | null }[]);
          return new Map(rows.map((r) => [r.Key, r.Value === null ? "" : Buffer.from(r.Value, "base64").toString()]));
        }
      }
      if (performance.now() > deadline) throw new Error("could not read the keys back from any server");
      await pause(200);
    }
  }
}
