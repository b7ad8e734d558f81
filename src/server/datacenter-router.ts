import { errors } from "../errors/catalog.ts";
import type { RawApiRequest, RawApiResponse, RequestForwarder } from "../http/dispatch-request.ts";
import type { Logger } from "../runtime/logger.ts";
import { METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { RpcPool } from "../transport/rpc-client.ts";
import { RpcError, RpcErrorCode } from "../transport/rpc.ts";
import { datacentersByDistance } from "../model/datacenters-by-distance.ts";
import { LARGE_BODY_BYTES, parseJsonBodyInTurns } from "../decode/json-body.ts";
import { asRawResponse, httpErrorOf, rawRequestOf, RpcMethod, type HttpForwardArgs } from "./leader-forwarding.ts";
import { type LocalMember, MEMBER_STATUS } from "../model/members.ts";

// Cross-datacenter forwarding (Consul's forwardDC): a request for another datacenter travels
// whole, as HTTP.Forward, to one server of that datacenter, found in this server's WAN pool
// (`role=consul` members with that `dc` tag, RPC at the member's address and its `port` tag).
// The remote server answers as if asked locally: its own leader forwarding, blocking wait,
// consistency mode and X-Consul-* headers. A server whose call fails in a way that proves
// nothing ran (or a read whose connection broke) moves to the back of that datacenter's list
// and the next one is tried; other failures are returned at once.
//
// This is the seam other features use to reach another datacenter (prepared query failover,
// DNS `.<dc>.consul` names): build a RawApiRequest and call `forward(dc, req)`.

export interface ForwardOptions {
  /** Aborting cancels the remote call (the asking HTTP client went away). */
  signal?: AbortSignal;
}

/** Reaching other datacenters: what servers, client agents and DNS see. */
export interface DatacenterRouter {
  /** This agent's datacenter. */
  readonly localDatacenter: string;
  /** True for "" and this datacenter's name (any case): the request stays here. */
  isLocal(dc: string): boolean;
  /**
   * Runs an API request in datacenter `dc` as if a client there had asked one of its servers.
   * The answer is the remote one, status and headers included (X-Consul-Index is the remote
   * datacenter's). Fails with ConsulError `No path to datacenter` when `dc` is unknown, and
   * with `Remote DC has no server currently reachable` when no server of it answers.
   */
  forward(dc: string, req: RawApiRequest, options?: ForwardOptions): Promise<RawApiResponse>;
}

/** The WAN pool as the router reads it. */
export interface WanMembersView {
  members(): LocalMember[];
  /** Status changes (join, failed, left…): the router's per-datacenter lists are rebuilt after one. */
  onMemberChange?(listener: () => void): () => void;
}

export interface WanRouterDeps {
  localDatacenter: string;
  wan: WanMembersView | undefined;
  /** The connections to one datacenter's servers (TLS: each datacenter has its own server name). */
  poolFor: (datacenter: string) => RpcPool;
  logger: Logger;
  metrics?: Metrics;
}

/** A server's router: remote servers from its WAN pool, reached over the server RPC port. */
export class WanDatacenterRouter implements DatacenterRouter {
  readonly localDatacenter: string;
  readonly #deps: WanRouterDeps;
  /** Per datacenter, servers that recently failed (moved to the back of its list). */
  readonly #failedAt = new Map<string, number>();
  #failures = 0;
  /** Alive servers per datacenter (lower-cased name; [] = known, none alive), until the pool changes. */
  #serversByDc: Map<string, string[]> | undefined;

  constructor(deps: WanRouterDeps) {
    this.#deps = deps;
    this.localDatacenter = deps.localDatacenter;
    deps.wan?.onMemberChange?.(() => (this.#serversByDc = undefined));
  }

  isLocal(dc: string): boolean {
    return dc === "" || dc.toLowerCase() === this.localDatacenter.toLowerCase();
  }

  /** Datacenters known to the WAN pool, nearest first (this one first). */
  datacenters(): string[] {
    return this.#deps.wan ? datacentersByDistance(this.#deps.wan.members(), this.localDatacenter) : [this.localDatacenter];
  }

  /**
   * RPC addresses of `dc`'s servers, those that answered last first; undefined when the WAN
   * pool knows no server of it (not even a failed one).
   */
  serversOf(dc: string): string[] | undefined {
    // Datacenter names compare without case, as DNS labels arrive lower-cased.
    const addrs = this.#serverLists().get(dc.toLowerCase());
    if (addrs === undefined) return undefined;
    if (this.#failedAt.size === 0) return addrs;
    const failedAt = (a: string): number => this.#failedAt.get(a) ?? 0;
    return [...addrs].sort((a, b) => failedAt(a) - failedAt(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Per datacenter, its alive servers' RPC addresses by name; a datacenter whose servers all failed maps to []. */
  #serverLists(): Map<string, string[]> {
    // Without change notifications the pool is read on every request.
    if (this.#serversByDc && this.#deps.wan?.onMemberChange) return this.#serversByDc;
    const lists = new Map<string, string[]>();
    for (const m of this.#deps.wan?.members() ?? []) {
      const dc = m.tags.dc?.toLowerCase();
      if (m.tags.role !== "consul" || dc === undefined || m.status === MEMBER_STATUS.left) continue;
      const list = lists.get(dc) ?? [];
      const addr = m.status === MEMBER_STATUS.alive ? rpcAddressOf(m) : undefined;
      if (addr !== undefined) list.push(addr);
      lists.set(dc, list);
    }
    for (const list of lists.values()) list.sort();
    this.#serversByDc = lists;
    return lists;
  }

  async forward(dc: string, req: RawApiRequest, options: ForwardOptions = {}): Promise<RawApiResponse> {
    const servers = this.serversOf(dc);
    if (servers === undefined) {
      this.#deps.logger.warn("RPC request for DC is currently failing as no path was found", { datacenter: dc, method: RpcMethod.HttpForward });
      throw errors.noPathToDatacenter();
    }
    if (servers.length === 0) throw errors.remoteDcUnreachable();
    this.#deps.metrics?.incrCounter(METRIC_NAMES.rpcCrossDc, 1, { datacenter: dc });
    const isRead = req.method === "GET" || req.method === "HEAD";
    const args: HttpForwardArgs = { req, forwarded: false, fromOtherDatacenter: true };
    let lastError: unknown;
    for (const server of servers) {
      if (options.signal?.aborted) throw httpErrorOf(new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled"));
      try {
        const reply = asRawResponse(await this.#deps.poolFor(dc.toLowerCase()).call(server, RpcMethod.HttpForward, args, { signal: options.signal }));
        this.#failedAt.delete(server);
        return reply;
      } catch (err) {
        this.#failedAt.set(server, ++this.#failures);
        this.#deps.logger.warn("RPC failed to server in DC", { server, datacenter: dc, error: err instanceof Error ? err.message : String(err) });
        lastError = err;
        if (!(err instanceof RpcError) || !(err.safeToRetry || (isRead && err.code === RpcErrorCode.Connection))) break;
      }
    }
    throw httpErrorOf(lastError);
  }
}

/** "ip:port" of a WAN member's server RPC endpoint (its address and `port` tag). */
function rpcAddressOf(m: LocalMember): string | undefined {
  const port = Number(m.tags.port);
  if (!Number.isInteger(port) || port <= 0 || m.addr === "") return undefined;
  return m.addr.includes(":") ? `[${m.addr}]:${port}` : `${m.addr}:${port}`;
}

/**
 * Client agents: every other datacenter is reached through a server of their own, which
 * forwards the request over the WAN (the request carries `?dc=`, so the server routes it).
 */
export class ViaServerDatacenterRouter implements DatacenterRouter {
  readonly localDatacenter: string;
  readonly #send: (req: RawApiRequest, options: ForwardOptions) => Promise<RawApiResponse>;

  constructor(localDatacenter: string, send: (req: RawApiRequest, options: ForwardOptions) => Promise<RawApiResponse>) {
    this.localDatacenter = localDatacenter;
    this.#send = send;
  }

  isLocal(dc: string): boolean {
    return dc === "" || dc.toLowerCase() === this.localDatacenter.toLowerCase();
  }

  forward(dc: string, req: RawApiRequest, options: ForwardOptions = {}): Promise<RawApiResponse> {
    return this.#send({ ...req, rawQuery: withDatacenter(req.rawQuery, dc) }, options);
  }
}

/** The query string with `dc` set to `dc` (replacing any `dc` it had). */
export function withDatacenter(rawQuery: string, dc: string): string {
  const params = new URLSearchParams(rawQuery);
  params.set("dc", dc);
  return params.toString();
}

/**
 * Paths that never leave this agent whatever `?dc=` says (Consul's handlers there parse no
 * datacenter): the agent's own endpoints, its event buffer, the keyring over its own pools,
 * and the datacenter lists, which are this server's WAN view.
 */
function ignoresDatacenter(path: string): boolean {
  if (path.startsWith("/v1/agent/")) return true;
  if (path === "/v1/event/list" || path === "/v1/operator/keyring") return true;
  return path === "/v1/catalog/datacenters" || path === "/v1/coordinate/datacenters";
}

const BACKSLASH = 0x5c;
/** As bytes once: Buffer.includes converts a string argument to a new Buffer on every call. */
const DATACENTER_KEY = Buffer.from("Datacenter");

/** Catalog writes name their datacenter in the body (RegisterRequest.Datacenter), not in `?dc=`. */
const DATACENTER_IN_BODY = new Set(["/v1/catalog/register", "/v1/catalog/deregister"]);

export interface DatacenterOfRequest {
  path: string;
  query: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

/**
 * The datacenter a request names (`?dc=`, or the body's Datacenter on catalog writes); "" = this
 * one. A promise when it has to read a large body: a registration at the body cap takes
 * several ms to parse, which is done in slices (issue 12 item 6).
 */
export function requestedDatacenter(req: DatacenterOfRequest): string | Promise<string> {
  if (ignoresDatacenter(req.path)) return "";
  const q = req.query.dc;
  const fromQuery = Array.isArray(q) ? (q[0] ?? "") : (q ?? "");
  if (fromQuery !== "" || !DATACENTER_IN_BODY.has(req.path) || req.body === undefined) return fromQuery;
  // Every catalog write passes here: parse its body a second time only if a "Datacenter" key
  // can be in it (a key spelled with escapes needs a backslash).
  if (!req.body.includes(DATACENTER_KEY) && !req.body.includes(BACKSLASH)) return "";
  if (req.body.length >= LARGE_BODY_BYTES) return datacenterOfLargeBody(req.body);
  return datacenterOfBody(req.body.toString("utf8"));
}

/**
 * A large body is parsed by the JSON body seam, in slices; the seam keeps the value for the
 * handler's own decode of the same body, so a catalog write at the cap is parsed once, not twice.
 */
function datacenterOfLargeBody(body: Buffer): Promise<string> {
  return parseJsonBodyInTurns(body, { keepForHandler: true }).then(datacenterOf, () => ""); // the handler answers the decode error
}

function datacenterOfBody(text: string): string {
  try {
    return datacenterOf(JSON.parse(text));
  } catch {
    return ""; // the handler answers the decode error
  }
}

function datacenterOf(parsed: unknown): string {
  const dc = typeof parsed === "object" && parsed !== null ? (parsed as { Datacenter?: unknown }).Datacenter : undefined;
  return typeof dc === "string" ? dc : "";
}

/**
 * The HTTP policy for `?dc=`: a request naming another datacenter goes there through `router`
 * (from a server: over the WAN; from a client agent: through its server); everything else
 * follows `local` (follower → leader, client → server), or is answered here without one.
 */
export function datacenterRequestForwarder(router: DatacenterRouter, local: RequestForwarder | undefined): RequestForwarder {
  const forwardTo = (dc: string, ...[req, options]: Parameters<RequestForwarder>): ReturnType<RequestForwarder> => {
    if (dc === "" || router.isLocal(dc)) return local ? local(req, options) : undefined;
    // One WAN hop only: a server never passes another datacenter's request on to a third.
    if (options.fromOtherDatacenter) return Promise.reject(errors.noPathToDatacenter());
    return router.forward(dc, rawRequestOf(req), { signal: options.signal() });
  };
  return (req, options) => {
    const dc = requestedDatacenter(req);
    return typeof dc === "string" ? forwardTo(dc, req, options) : dc.then((named) => forwardTo(named, req, options));
  };
}
