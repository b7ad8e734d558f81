import { errors } from "../../errors/catalog.ts";
import { isCompatible, isValidCoordinate, newCoordinate } from "../../gossip/vivaldi.ts";
import type { Coordinate, NodeCoordinate } from "../../model/catalog.ts";
import { MEMBER_STATUS } from "../../model/members.ts";
import { isObject, parseJsonBodyInTurns, type JsonObject } from "../../decode/json-body.ts";
import type { Handler, HttpContext } from "../context.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { empty, json } from "../reply.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";

// /v1/coordinate/*: spec/status-event-coordinate.md §3 and multi-dc.md §5. LAN coordinates are
// Raft state (agents send theirs; the leader batches them); WAN coordinates live only in this
// server's WAN gossip pool, so /datacenters answers differ from server to server, as Consul's.

function requireEnabled(ctx: HttpContext): void {
  if (ctx.runtimeConfig.disableCoordinates === true) throw new CoordinateDisabled();
}

/** Consul answers 401 with this text on every coordinate endpoint when coordinates are off. */
class CoordinateDisabled extends Error {}

function guarded(handler: Handler): Handler {
  return (ctx, req) => {
    try {
      requireEnabled(ctx);
    } catch (e) {
      if (e instanceof CoordinateDisabled) return { kind: "text", status: 401, body: "Coordinate support disabled" };
      throw e;
    }
    return handler(ctx, req);
  };
}

function entryView(c: NodeCoordinate): Record<string, unknown> {
  return { Node: c.Node, Segment: c.Segment, Coord: c.Coord };
}

const datacenters: Handler = (ctx, req) => {
  queryOptions(ctx, req);
  const wan = ctx.wanMembership;
  if (!wan?.memberCoordinate) return json([]);
  const byDc = new Map<string, { Node: string; Segment: string; Coord: Coordinate }[]>();
  for (const m of wan.members()) {
    const dc = m.tags.dc;
    if (m.tags.role !== "consul" || dc === undefined || dc === "" || m.status === MEMBER_STATUS.left) continue;
    const coord = wan.memberCoordinate(m.name);
    const list = byDc.get(dc) ?? [];
    byDc.set(dc, list);
    if (!coord) continue;
    // WAN member names are <node>.<dc>; Consul strips the suffix here.
    const suffix = `.${dc}`;
    const node = m.name.endsWith(suffix) ? m.name.slice(0, -suffix.length) : m.name;
    list.push({ Node: node, Segment: "", Coord: coord });
  }
  const out = [...byDc.keys()].sort().map((dc) => ({
    Datacenter: dc,
    AreaID: "wan",
    Coordinates: (byDc.get(dc) ?? []).sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0)),
  }));
  return json(out);
};

const nodes: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const segment = typeof req.query.segment === "string" ? req.query.segment : undefined;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const all = ctx.state.coordinates.list(ws).filter((c) => segment === undefined || c.Segment === segment);
      const kept = all.filter((c) => authz.allowed("node:read", c.Node));
      return { index: ctx.state.coordinates.tableIndex, value: { kept, removed: kept.length < all.length } };
    },
    ({ kept, removed }) => json(kept.map(entryView), 200, filteredHeaders(authz, removed)),
  );
};

const node: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = req.suffix;
  const authz = requestAuthorizer(ctx, req);
  authz.require("node:read", name);
  const segment = typeof req.query.segment === "string" ? req.query.segment : undefined;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const c = ctx.state.coordinates.get(name, ws);
      return { index: ctx.state.coordinates.tableIndex, value: c && (segment === undefined || c.Segment === segment) ? [c] : [] };
    },
    (found) => (found.length === 0 ? empty(404) : json(found.map(entryView))),
  );
};

function decodeUpdate(raw: unknown): NodeCoordinate {
  if (!isObject(raw)) throw errors.decodeFailed(`json: cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into Go value of type structs.CoordinateUpdateRequest`);
  const field = (o: JsonObject, name: string): unknown => {
    if (name in o) return o[name];
    for (const k of Object.keys(o)) if (k.toLowerCase() === name.toLowerCase()) return o[k];
    return undefined;
  };
  const str = (name: string): string => {
    const v = field(raw, name);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw errors.decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field CoordinateUpdateRequest.${name} of type string`);
    return v;
  };
  const coordRaw = field(raw, "Coord");
  let coord: Coordinate | undefined;
  if (coordRaw !== undefined && coordRaw !== null) {
    if (!isObject(coordRaw)) throw errors.decodeFailed("json: cannot unmarshal into Go struct field CoordinateUpdateRequest.Coord of type coordinate.Coordinate");
    const num = (name: string): number => {
      const v = field(coordRaw, name);
      if (v === undefined || v === null) return 0;
      if (typeof v !== "number") throw errors.decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field Coordinate.Coord.${name} of type float64`);
      return v;
    };
    const vec = field(coordRaw, "Vec");
    if (vec !== undefined && vec !== null && (!Array.isArray(vec) || vec.some((x) => typeof x !== "number"))) {
      throw errors.decodeFailed("json: cannot unmarshal into Go struct field Coordinate.Coord.Vec of type []float64");
    }
    coord = { Vec: (vec as number[] | null | undefined) ?? [], Error: num("Error"), Adjustment: num("Adjustment"), Height: num("Height") };
  }
  // Consul's handler decodes into a request whose Coord is nil when absent; the server then
  // refuses it as incompatible (a nil coordinate has no dimensions).
  return { Node: str("Node"), Segment: str("Segment"), Coord: coord ?? { Vec: [], Error: 0, Adjustment: 0, Height: 0 } };
}

const update: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const entry = decodeUpdate(await parseJsonBodyInTurns(req.body));
  if (!isValidCoordinate(entry.Coord)) throw errors.internal("invalid coordinate");
  if (!isCompatible(entry.Coord, newCoordinate())) throw errors.internal("incompatible coordinate");
  requestAuthorizer(ctx, req).require("node:write", entry.Node);
  if (ctx.coordinateUpdates) ctx.coordinateUpdates.enqueue(entry);
  else await write(ctx, { Type: "coordinate-update", Coordinates: [entry] });
  return empty();
};

export const coordinateHandlers = {
  datacenters: guarded(datacenters),
  nodes: guarded(nodes),
  node: guarded(node),
  update: guarded(update),
} satisfies Record<string, Handler>;
