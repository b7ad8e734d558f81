import { errors } from "../errors/catalog.ts";
import { parseGoDuration } from "../model/duration.ts";

/** Query string as parsed: repeated keys become arrays. */
export type QueryParams = Record<string, string | string[] | undefined>;

export function has(q: QueryParams, key: string): boolean {
  return q[key] !== undefined;
}

export function first(q: QueryParams, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

export function all(q: QueryParams, key: string): string[] {
  const v = q[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export type Consistency = "leader" | "stale" | "consistent";

export interface QueryOptions {
  minIndex: number;
  waitMs: number;
  consistency: Consistency;
  filter: string;
  datacenter: string;
  token: string;
  near: string;
  nodeMeta: [string, string][];
  cached: boolean;
}

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

export const UINT64_MAX = (1n << 64n) - 1n;

/** Parses an unsigned 64-bit decimal; undefined on anything else. */
export function parseUint64(raw: string): bigint | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const v = BigInt(raw);
  return v > UINT64_MAX ? undefined : v;
}

/** Go strconv.ParseBool. */
export function parseGoBool(raw: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  return undefined;
}

export function parseQueryOptions(q: QueryParams, headers: Record<string, string | string[] | undefined>, agentDc: string): QueryOptions {
  let minIndex = 0;
  const rawIndex = first(q, "index");
  if (rawIndex !== undefined && rawIndex !== "") {
    const v = parseUint64(rawIndex);
    if (v === undefined) throw errors.invalidIndex();
    minIndex = Number(v);
  }
  let waitMs = 0;
  const rawWait = first(q, "wait");
  if (rawWait !== undefined && rawWait !== "") {
    try {
      waitMs = parseGoDuration(rawWait);
    } catch {
      throw errors.invalidWait();
    }
  }
  if (waitMs <= 0) waitMs = DEFAULT_WAIT_MS;
  if (waitMs > MAX_WAIT_MS) waitMs = MAX_WAIT_MS;

  const stale = has(q, "stale");
  const consistent = has(q, "consistent");
  const cached = has(q, "cached");
  if (stale && consistent) throw errors.staleAndConsistent();
  if (cached && consistent) throw errors.cachedAndConsistent();
  const maxStale = first(q, "max_stale");
  if (maxStale !== undefined && maxStale !== "") {
    try {
      parseGoDuration(maxStale);
    } catch {
      throw errors.invalidMaxStale(maxStale);
    }
  }
  const consistency: Consistency = consistent ? "consistent" : stale || cached || maxStale ? "stale" : "leader";

  const dc = first(q, "dc") ?? "";
  if (dc !== "" && dc.toLowerCase() !== agentDc.toLowerCase()) throw errors.noPathToDatacenter();
  checkEnterpriseParams(q, headers);

  const nodeMeta: [string, string][] = all(q, "node-meta").map((kv) => {
    const at = kv.indexOf(":");
    return at < 0 ? [kv, ""] : [kv.slice(0, at), kv.slice(at + 1)];
  });

  return {
    minIndex,
    waitMs,
    consistency,
    filter: first(q, "filter") ?? "",
    datacenter: dc || agentDc,
    token: requestToken(q, headers),
    near: first(q, "near") ?? "",
    nodeMeta,
    cached,
  };
}

/** Community edition: namespaces and partitions other than "default" are refused. */
export function checkEnterpriseParams(q: QueryParams, headers: Record<string, string | string[] | undefined>): void {
  const bad = (v: string | string[] | undefined): boolean => {
    const s = Array.isArray(v) ? v[0] : v;
    return s !== undefined && s !== "" && s !== "default";
  };
  if (bad(q.ns)) throw errors.namespacesEnterprise("query");
  if (bad(headers["x-consul-namespace"])) throw errors.namespacesEnterprise("header");
  if (bad(q.partition)) throw errors.partitionsEnterprise("query");
  if (bad(headers["x-consul-partition"])) throw errors.partitionsEnterprise("header");
}

/** Token lookup order: ?token=, X-Consul-Token, Authorization: Bearer. */
export function requestToken(q: QueryParams, headers: Record<string, string | string[] | undefined>): string {
  const fromQuery = first(q, "token");
  if (fromQuery) return fromQuery;
  const h = headers["x-consul-token"];
  const fromHeader = Array.isArray(h) ? h[0] : h;
  if (fromHeader) return fromHeader;
  const auth = headers.authorization;
  const a = Array.isArray(auth) ? auth[0] : auth;
  if (a && a.startsWith("Bearer ")) return a.slice(7).trim().split(" ")[0] ?? "";
  return "";
}
