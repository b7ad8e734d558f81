// Decisions of POST /v1/agent/connect/authorize for one destination, cached per client URI.
// A decision is kept for at most `ttlMs` (1 s) and dropped at once when the destination's
// intentions change (the owner calls invalidate() from a blocking watch on
// /v1/connect/intentions/match), so a new deny refuses new connections within a second even if
// that watch is broken, and usually within milliseconds. Concurrent misses share one request.
import type { Clock } from "../../runtime/clock.ts";
import type { AgentClient } from "./agent-client.ts";

export interface AuthorizeDecision {
  authorized: boolean;
  reason: string;
}

interface Entry {
  expiresAt: number;
  epoch: number;
  decision: Promise<AuthorizeDecision>;
}

const CACHE_LIMIT = 4096;

export class AuthorizeCache {
  readonly #client: AgentClient;
  readonly #target: string;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  #epoch = 0;

  constructor(client: AgentClient, target: string, clock: Clock, ttlMs = 1000) {
    this.#client = client;
    this.#target = target;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  invalidate(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  authorize(clientCertUri: string, clientCertSerial: string): Promise<AuthorizeDecision> {
    const now = this.#clock.monotonicMs();
    const hit = this.#entries.get(clientCertUri);
    if (hit && hit.expiresAt > now && hit.epoch === this.#epoch) return hit.decision;
    const epoch = this.#epoch;
    const decision = this.#ask(clientCertUri, clientCertSerial);
    const entry: Entry = { expiresAt: now + this.#ttlMs, epoch, decision };
    if (this.#entries.size >= CACHE_LIMIT) this.#entries.clear();
    this.#entries.set(clientCertUri, entry);
    // A failed call is not a decision: forget it so the next connection asks again.
    decision.then(
      (d) => {
        if (d.reason.startsWith("authorize call failed") && this.#entries.get(clientCertUri) === entry) this.#entries.delete(clientCertUri);
      },
      () => undefined,
    );
    return decision;
  }

  async #ask(uri: string, serial: string): Promise<AuthorizeDecision> {
    try {
      const answer = await this.#client.send<{ Authorized?: boolean; Reason?: string }>("POST", "/v1/agent/connect/authorize", {
        Target: this.#target,
        ClientCertURI: uri,
        ClientCertSerial: serial,
      });
      return { authorized: answer.body?.Authorized === true, reason: answer.body?.Reason ?? "" };
    } catch (err) {
      // Fail closed: an agent that cannot answer authorises nothing.
      return { authorized: false, reason: `authorize call failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}
