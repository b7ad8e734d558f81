import { errors } from "../../errors/catalog.ts";
import { compileFilter, FilterError, type FilterPredicate, type FilterSchema } from "../../filter/filter.ts";
import type { Node, NodeCoordinate } from "../../model/catalog.ts";
import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { ApiRequest, HttpContext } from "../context.ts";
import { all, first, parseGoBool, type QueryParams } from "../query.ts";

// Request parameters shared by the catalog and health read endpoints (http-core.md §4, §5,
// §10): the path name, `tag`, `passing`, `node-meta`, `filter` and `near`.

export function requireName(suffix: string, what: "service" | "node"): string {
  if (suffix === "") throw errors.badRequest(what === "service" ? "Missing service name" : "Missing node name");
  return suffix;
}

/** Lower-cased `?tag=` values; an instance must carry all of them (case-insensitive). */
export function requestedTags(q: QueryParams): string[] {
  return all(q, "tag").map((t) => t.toLowerCase());
}

export function hasAllTags(tags: readonly string[] | null | undefined, wanted: readonly string[]): boolean {
  if (wanted.length === 0) return true;
  if (!tags || tags.length === 0) return false;
  for (const w of wanted) {
    let found = false;
    for (const t of tags) {
      if (t.toLowerCase() === w) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

export function nodeHasMeta(node: Node, pairs: readonly [string, string][]): boolean {
  if (pairs.length === 0) return true;
  const meta = node.Meta;
  if (!meta) return false;
  for (const [k, v] of pairs) if (!(k in meta) || meta[k] !== v) return false;
  return true;
}

/** `?tag` and `?node-meta` applied to instances; the common no-parameter case allocates nothing. */
export function selectInstances(instances: ServiceInstance[], tags: readonly string[], nodeMeta: readonly [string, string][]): ServiceInstance[] {
  if (tags.length === 0 && nodeMeta.length === 0) return instances;
  return instances.filter(({ node, service }) => hasAllTags(service.Tags, tags) && nodeHasMeta(node, nodeMeta));
}

/** `?passing`: present with no value → true, else Go ParseBool; anything else is a 400. */
export function passingOnly(q: QueryParams): boolean {
  const raw = first(q, "passing");
  if (raw === undefined) return false;
  if (raw === "") return true;
  const v = parseGoBool(raw);
  if (v === undefined) throw errors.badRequest("Invalid value for ?passing");
  return v;
}

// Compiled filters are reused across requests: watchers and scrapers repeat the same
// expression on every poll. Bounded so arbitrary expressions cannot grow it without limit.
const FILTER_CACHE_MAX = 256;
const filterCache = new Map<string, FilterPredicate>();

/** Compiles `?filter` against an endpoint schema; an invalid expression is a 400 with Consul's text. */
export function requestFilter(expression: string, schema: FilterSchema): FilterPredicate | undefined {
  if (expression.trim() === "") return undefined;
  const key = `${schemaId(schema)}\u0000${expression}`;
  const cached = filterCache.get(key);
  if (cached) return cached;
  let predicate: FilterPredicate;
  try {
    predicate = compileFilter(expression, { schema });
  } catch (e) {
    if (e instanceof FilterError) throw errors.invalidFilter(e.message);
    throw e;
  }
  if (filterCache.size >= FILTER_CACHE_MAX) filterCache.clear();
  filterCache.set(key, predicate);
  return predicate;
}

const schemaIds = new WeakMap<FilterSchema, number>();
let nextSchemaId = 1;
function schemaId(schema: FilterSchema): number {
  let id = schemaIds.get(schema);
  if (id === undefined) {
    id = nextSchemaId++;
    schemaIds.set(schema, id);
  }
  return id;
}

/** `?near=_agent` names the node of the agent that took the request (a client agent's, when it forwarded it). */
export function nearNode(req: ApiRequest, near: string): string {
  return near === "_agent" ? req.agentNode : near;
}

/**
 * Sorts by estimated RTT from `source` (Vivaldi distance, as Consul's coordinate package):
 * items whose node has no coordinate go last keeping their order; without a coordinate for
 * the source the order is left alone (http-core.md §5).
 */
export function sortByNear<T>(
  items: T[],
  nodeOf: (item: T) => string,
  source: string,
  coordinateOf: (node: string) => NodeCoordinate | undefined,
): T[] {
  if (source === "" || items.length < 2) return items;
  const from = coordinateOf(source);
  if (!from) return items;
  const keyed = items.map((item, i) => {
    const to = coordinateOf(nodeOf(item));
    return { item, i, d: to ? rttSeconds(from, to) : Number.POSITIVE_INFINITY };
  });
  keyed.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.i - b.i));
  return keyed.map((k) => k.item);
}

function rttSeconds(a: NodeCoordinate, b: NodeCoordinate): number {
  const va = a.Coord.Vec;
  const vb = b.Coord.Vec;
  let sum = 0;
  for (let i = 0; i < Math.min(va.length, vb.length); i++) {
    const d = va[i] - vb[i];
    sum += d * d;
  }
  const raw = Math.sqrt(sum) + a.Coord.Height + b.Coord.Height;
  const adjusted = raw + a.Coord.Adjustment + b.Coord.Adjustment;
  return adjusted > 0 ? adjusted : raw;
}

/** The server's pretty rule (http-core.md §3), for handlers that encode their own bodies. */
export function wantsPretty(ctx: HttpContext, q: QueryParams): boolean {
  return ctx.settings.devMode || q.pretty !== undefined;
}
