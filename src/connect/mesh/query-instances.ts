// Connect-capable instances answered by a prepared query (an upstream with DestinationType
// "prepared_query"): GET /v1/query/<name>/execute?connect=true. Prepared queries have no
// blocking form, so the answer is fetched when a dial needs it (as Consul's resolver does) and
// reused for at most `maxAgeMs`, which bounds the agent calls a burst of new connections makes
// to one per second while failover and health changes still show within that second.
import type { Clock } from "../../runtime/clock.ts";
import type { Rng } from "../../runtime/rng.ts";
import type { AgentClient } from "./agent-client.ts";
import { pickInstance, type MeshInstance } from "./upstream-instances.ts";

interface QueryEntry {
  Node?: { Node?: string; Address?: string; Datacenter?: string };
  Service?: {
    ID?: string;
    Service?: string;
    Kind?: string;
    Address?: string;
    Port?: number;
    Proxy?: { DestinationServiceName?: string };
    Connect?: { Native?: boolean };
  };
}

interface ExecuteAnswer {
  Datacenter?: string;
  Nodes?: QueryEntry[] | null;
}

/**
 * The instances of an answer with the identity each must present: a sidecar speaks for its
 * destination service, a Connect-native instance for itself; other entries cannot be dialled.
 */
export function queryInstancesOf(answer: ExecuteAnswer): MeshInstance[] {
  const out: MeshInstance[] = [];
  for (const e of answer.Nodes ?? []) {
    const s = e.Service;
    const host = s?.Address || e.Node?.Address || "";
    const port = s?.Port ?? 0;
    const service = s?.Connect?.Native === true ? s.Service : s?.Kind === "connect-proxy" ? s.Proxy?.DestinationServiceName : undefined;
    if (host === "" || port <= 0 || !service) continue;
    out.push({ host, port, datacenter: e.Node?.Datacenter || answer.Datacenter || "", node: e.Node?.Node ?? "", serviceId: s?.ID ?? "", service });
  }
  return out;
}

export class QueryInstances {
  readonly #client: AgentClient;
  readonly #path: string;
  readonly #datacenter: string | undefined;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #maxAgeMs: number;
  #instances: MeshInstance[] = [];
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;

  constructor(opts: { client: AgentClient; query: string; datacenter?: string; clock: Clock; rng: Rng; maxAgeMs?: number }) {
    this.#client = opts.client;
    this.#path = `/v1/query/${encodeURIComponent(opts.query)}/execute`;
    this.#datacenter = opts.datacenter === "" ? undefined : opts.datacenter;
    this.#clock = opts.clock;
    this.#rng = opts.rng;
    this.#maxAgeMs = opts.maxAgeMs ?? 1000;
  }

  /** Resolves once an answer no older than maxAgeMs is in; rejects when the agent refuses the query. */
  ready(): Promise<void> {
    if (this.#clock.monotonicMs() - this.#fetchedAt < this.#maxAgeMs) return Promise.resolve();
    this.#inflight ??= this.#fetch().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async #fetch(): Promise<void> {
    const answer = await this.#client.get<ExecuteAnswer>(this.#path, { connect: "true", dc: this.#datacenter });
    this.#instances = queryInstancesOf(answer.body ?? {});
    this.#fetchedAt = this.#clock.monotonicMs();
  }

  get all(): readonly MeshInstance[] {
    return this.#instances;
  }

  /** A uniformly random instance not in `exclude` (keyed by host:port); undefined when none is left. */
  pick(exclude: ReadonlySet<string>): MeshInstance | undefined {
    return pickInstance(this.#instances, exclude, this.#rng);
  }

  stop(): void {
    this.#instances = [];
  }
}
