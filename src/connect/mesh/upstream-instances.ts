// Healthy Connect-capable instances of one destination (sidecar proxies and Connect-native
// services), followed with a blocking query on /v1/health/connect/<dest>?passing.
import type { Clock } from "../../runtime/clock.ts";
import type { Rng } from "../../runtime/rng.ts";
import type { AgentClient } from "./agent-client.ts";
import { BlockingWatch } from "./blocking-watch.ts";

export interface MeshInstance {
  /** Where to dial: the service address, else the node address. */
  host: string;
  port: number;
  /** The instance's datacenter: part of the SPIFFE ID its certificate must carry. */
  datacenter: string;
  node: string;
  serviceId: string;
  /** The service its certificate must name when that is not the destination dialled (a prepared query's answer). */
  service?: string;
  /** Its registration advertises stream reuse (a Consulate sidecar with Proxy.Config.consulate_stream_reuse). */
  streamReuse?: boolean;
}

/** The Proxy.Config key with which a sidecar registration advertises stream reuse. */
export const STREAM_REUSE_CONFIG_KEY = "consulate_stream_reuse";

interface HealthEntry {
  Node?: { Node?: string; Address?: string; Datacenter?: string };
  Service?: { ID?: string; Address?: string; Port?: number; Proxy?: { Config?: Record<string, unknown> | null } };
}

export function instancesOf(entries: readonly HealthEntry[] | null, fallbackDatacenter: string): MeshInstance[] {
  const out: MeshInstance[] = [];
  for (const e of entries ?? []) {
    const host = e.Service?.Address || e.Node?.Address || "";
    const port = e.Service?.Port ?? 0;
    if (host === "" || port <= 0) continue;
    const instance: MeshInstance = { host, port, datacenter: e.Node?.Datacenter || fallbackDatacenter, node: e.Node?.Node ?? "", serviceId: e.Service?.ID ?? "" };
    if (e.Service?.Proxy?.Config?.[STREAM_REUSE_CONFIG_KEY] === true) instance.streamReuse = true;
    out.push(instance);
  }
  return out;
}

export class UpstreamInstances {
  readonly destination: string;
  readonly #watch: BlockingWatch<HealthEntry[]>;
  readonly #rng: Rng;
  #instances: MeshInstance[] = [];

  constructor(opts: { client: AgentClient; destination: string; datacenter?: string; clock: Clock; rng: Rng; onError?: (err: unknown) => void }) {
    this.destination = opts.destination;
    this.#rng = opts.rng;
    const dc = opts.datacenter ?? "";
    this.#watch = new BlockingWatch<HealthEntry[]>({
      client: opts.client,
      path: `/v1/health/connect/${encodeURIComponent(opts.destination)}`,
      query: { passing: "1", dc: dc === "" ? undefined : dc },
      clock: opts.clock,
      onChange: (entries) => (this.#instances = instancesOf(entries, dc)),
      onError: opts.onError,
    });
  }

  /** Resolves once the first answer is in. */
  async ready(): Promise<void> {
    await this.#watch.ready;
  }

  get all(): readonly MeshInstance[] {
    return this.#instances;
  }

  /** A uniformly random instance not in `exclude` (keyed by host:port); undefined when none is left. */
  pick(exclude: ReadonlySet<string>): MeshInstance | undefined {
    return pickInstance(this.#instances, exclude, this.#rng);
  }

  stop(): void {
    this.#watch.stop();
  }
}

/** A uniformly random one of `instances` not in `exclude` (keyed by host:port); undefined when none is left. */
export function pickInstance(instances: readonly MeshInstance[], exclude: ReadonlySet<string>, rng: Rng): MeshInstance | undefined {
  const left = instances.filter((i) => !exclude.has(instanceKey(i)));
  if (left.length === 0) return undefined;
  return left[Math.floor(rng.float() * left.length)];
}

export function instanceKey(i: MeshInstance): string {
  return `${i.host}:${i.port}`;
}
