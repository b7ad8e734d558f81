import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import type { CatalogTables, ServiceInstance } from "../state/catalog-tables.ts";
import type { DatacenterRouter } from "../server/datacenter-router.ts";
import type { RawApiRequest } from "../http/dispatch-request.ts";

// DNS names of another datacenter (`web.service.dc2.consul`, `n1.node.dc2.consul`): the
// question's rows are fetched from that datacenter through the DatacenterRouter (the same
// path as `?dc=`: HTTP.Forward to one of its servers, `?stale` when dns_config.allow_stale),
// and the ordinary resolver then answers from this small read-only view of them, with the
// remote datacenter's name in every record it builds.

/** The catalog reads the resolver makes: the live tables, or a view of another datacenter's rows. */
export type DnsCatalog = Pick<CatalogTables, "serviceInstances" | "connectInstances" | "instanceChecks" | "getNode" | "listNodes" | "allInstances">;

/** What a remote question needs fetched: a service's instances or one node. */
export type RemoteLookup = { kind: "service"; name: string } | { kind: "node"; name: string };

/** Why a remote question could not be answered: unknown datacenter (NXDOMAIN) or anything else (SERVFAIL). */
export class RemoteLookupError extends Error {
  readonly noPath: boolean;
  constructor(message: string, noPath: boolean) {
    super(message);
    this.name = "RemoteLookupError";
    this.noPath = noPath;
  }
}

interface HealthEntry {
  Node: Node;
  Service: NodeService;
  Checks: HealthCheck[];
}

/** A read-only catalog holding only what one remote answer carried. */
export class RemoteCatalogView implements DnsCatalog {
  readonly #instances: ServiceInstance[] = [];
  readonly #checks = new Map<string, HealthCheck[]>();
  readonly #nodes = new Map<string, Node>();

  static ofHealthEntries(entries: readonly HealthEntry[]): RemoteCatalogView {
    const view = new RemoteCatalogView();
    for (const e of entries) {
      view.#instances.push({ node: e.Node, service: e.Service });
      view.#nodes.set(e.Node.Node.toLowerCase(), e.Node);
      view.#checks.set(`${e.Node.Node.toLowerCase()}|${e.Service.ID}`, e.Checks);
    }
    return view;
  }

  static ofNode(node: Node | undefined): RemoteCatalogView {
    const view = new RemoteCatalogView();
    if (node) view.#nodes.set(node.Node.toLowerCase(), node);
    return view;
  }

  serviceInstances(name: string): ServiceInstance[] {
    const lower = name.toLowerCase();
    return this.#instances.filter((i) => i.service.Service.toLowerCase() === lower);
  }

  connectInstances(): ServiceInstance[] {
    return [];
  }

  instanceChecks(nodeName: string, serviceId: string): readonly HealthCheck[] {
    return this.#checks.get(`${nodeName.toLowerCase()}|${serviceId}`) ?? [];
  }

  getNode(name: string): Node | undefined {
    return this.#nodes.get(name.toLowerCase());
  }

  listNodes(): Node[] {
    return [...this.#nodes.values()];
  }

  allInstances(): ServiceInstance[] {
    return [...this.#instances];
  }
}

/**
 * Fetches the rows a remote question needs from datacenter `dc`: `?stale` with
 * dns_config.allow_stale, asked again without it when the answering server's last contact with
 * its leader is past dns_config.max_stale (as Consul's DNS does).
 */
export async function fetchRemoteCatalog(
  router: DatacenterRouter,
  dc: string,
  lookup: RemoteLookup,
  stale: { allowStale: boolean; maxStaleMs: number },
): Promise<RemoteCatalogView> {
  const path = lookup.kind === "service" ? `/v1/health/service/${encodeURIComponent(lookup.name)}` : `/v1/catalog/node/${encodeURIComponent(lookup.name)}`;
  const ask = async (allowStale: boolean): Promise<{ status: number; text: string; lastContactMs: number }> => {
    const params = new URLSearchParams({ dc });
    if (allowStale) params.set("stale", "");
    const req: RawApiRequest = { method: "GET", path, rawQuery: params.toString(), headers: {}, body: undefined, remoteAddress: "" };
    try {
      const res = await router.forward(dc, req);
      const text = typeof res.body === "string" ? res.body : res.body.toString("utf8");
      return { status: res.status, text, lastContactMs: Number(res.headers["X-Consul-LastContact"] ?? 0) || 0 };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RemoteLookupError(message, message === "No path to datacenter");
    }
  };
  let answer = await ask(stale.allowStale);
  if (stale.allowStale && answer.status === 200 && answer.lastContactMs > stale.maxStaleMs) answer = await ask(false);
  const { status, text } = answer;
  if (status !== 200) throw new RemoteLookupError(`${status} ${text}`, text.trim() === "No path to datacenter");
  const parsed = JSON.parse(text) as unknown;
  if (lookup.kind === "service") return RemoteCatalogView.ofHealthEntries(Array.isArray(parsed) ? (parsed as HealthEntry[]) : []);
  const node = (parsed as { Node?: Node } | null)?.Node;
  return RemoteCatalogView.ofNode(node ?? undefined);
}
