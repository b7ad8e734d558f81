import { errors } from "../../errors/catalog.ts";
import { healthCheckSchema, healthServiceEntrySchema } from "../../filter/endpoint-schemas.ts";
import type { FilterPredicate } from "../../filter/filter.ts";
import { isCheckStatus, type HealthCheck } from "../../model/catalog.ts";
import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { QueryFn } from "../blocking.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { allPassing } from "../../model/health-status.ts";
import { healthCheckView, type HealthCheckJson } from "../views/health-check.ts";
import { healthEntryView, type HealthEntryJson } from "../views/health-entry.ts";
import { writeHealthEntry } from "../views/health-entry-bytes.ts";
import { gatewayIndex, ingressGatewayInstances } from "../../connect/gateway-read.ts";
import { clusterPeerRead, namesClusterPeer } from "./peer-scope.ts";
import {
  nearNode,
  nodeHasMeta,
  passingOnly,
  requestedTags,
  requestFilter,
  requireName,
  selectInstances,
  sortByNear,
} from "./catalog-query.ts";
import { instanceListRead, instancesOfName, type InstanceListEndpoint, type InstanceListRequest } from "./instance-list-read.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";
import { canSeeCheck, canSeeHealthEntry, keepVisible } from "./acl-catalog-filter.ts";

// /v1/health/*: spec/health.md.

/** Renders a check list after `?node-meta`, `?filter` and `?near` (health.md §4.1, 4.2, 4.6). */
function checkViews(ctx: HttpContext, req: ApiRequest, opts: QueryOptions, checks: HealthCheck[], ws: WatchSet): HealthCheckJson[] {
  const cat = ctx.state.catalog;
  let kept = checks;
  if (opts.nodeMeta.length > 0) {
    kept = kept.filter((c) => {
      const n = cat.getNode(c.Node, ws);
      return n !== undefined && nodeHasMeta(n, opts.nodeMeta);
    });
  }
  let views = kept.map(healthCheckView);
  const filter = requestFilter(opts.filter, healthCheckSchema);
  if (filter) views = views.filter(filter);
  const source = nearNode(req, opts.near);
  if (source) views = sortByNear(views, (c) => c.Node, source, (n) => ctx.state.coordinates.get(n, ws));
  return views;
}

/**
 * A blocking read of a check list; `?filter` is compiled first so a bad one is a 400 before any
 * wait. Checks the token may not see are left out (node:read, and service:read for service checks).
 */
function checkListRead(ctx: HttpContext, req: ApiRequest, opts: QueryOptions, list: QueryFn<HealthCheckJson[]>): Reply | Promise<Reply> {
  requestFilter(opts.filter, healthCheckSchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "checks", []);
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const { index, value } = list(ws);
      return { index, value: ctx.acl ? keepVisible(authz, value, canSeeCheck) : { kept: value, removed: false } };
    },
    ({ kept, removed }) => json(kept, 200, filteredHeaders(authz, removed)),
  );
}

const node: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "node");
  const cat = ctx.state.catalog;
  // Near does not apply to one node's checks upstream.
  const local: QueryOptions = { ...opts, near: "", nodeMeta: [] };
  return checkListRead(ctx, req, opts, (ws) => ({ index: cat.checksIndex, value: checkViews(ctx, req, local, cat.nodeChecks(name, ws), ws) }));
};

const checks: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "service");
  const cat = ctx.state.catalog;
  return checkListRead(ctx, req, opts, (ws) => {
    const index = cat.serviceNameIndex(name, ws);
    return { index, value: checkViews(ctx, req, opts, cat.checksOfServiceName(name, ws), ws) };
  });
};

const state: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const wanted = req.suffix;
  if (wanted === "") throw errors.badRequest("Missing check state");
  const cat = ctx.state.catalog;
  return checkListRead(ctx, req, opts, (ws) => {
    // Other states are not validated upstream: nothing is in them.
    if (wanted !== "any" && !isCheckStatus(wanted)) {
      cat.watchTable("checks", ws);
      return { index: cat.checksIndex, value: [] };
    }
    return { index: cat.checksIndex, value: checkViews(ctx, req, opts, cat.checksInState(wanted, ws), ws) };
  });
};

interface ServiceEntriesRequest extends InstanceListRequest {
  passing: boolean;
  filter: FilterPredicate | undefined;
  /** Connect's instances, listed by `index` (they name what it watches) and reused by `build`. */
  connectInstances?: ServiceInstance[];
}

/** Entries of instances with their checks, after `?passing`, `?filter` and `?near` (health.md §2, §4.3, §4.4). */
function entryViews(r: ServiceEntriesRequest, instances: ServiceInstance[]): HealthEntryJson[] {
  const { ctx, opts, passing, filter, source } = r;
  const cat = ctx.state.catalog;
  let entries: HealthEntryJson[] = [];
  for (const { node: n, service } of selectInstances(instances, r.tags, opts.nodeMeta)) {
    const instanceChecks = cat.instanceChecks(n.Node, service.ID);
    if (passing && !allPassing(instanceChecks)) continue;
    entries.push(healthEntryView(n, service, instanceChecks));
  }
  if (filter) entries = entries.filter(filter);
  if (source) entries = sortByNear(entries, (e) => e.Node.Node, source, (nn) => ctx.state.coordinates.get(nn));
  return entries;
}

const serviceEntriesOfName = instancesOfName(entryViews, {
  caches: new WeakMap(),
  memos: new WeakMap(),
  render: (node, service, checks) => healthEntryView(node, service, checks ?? []),
  write: (node, service, checks, pretty, into) => writeHealthEntry(node, service, checks ?? [], pretty, into),
  withChecks: true,
  keep: (r, entry) => !r.passing || entry.passing,
});

const connectEntries: InstanceListEndpoint<ServiceEntriesRequest, HealthEntryJson> = {
  memos: new WeakMap(),
  index: (r, ws) => {
    // Proxies carry their own names: the answer moves with any of theirs, or with the set.
    const cat = r.ctx.state.catalog;
    const instances = cat.connectInstances(r.name, ws);
    r.connectInstances = instances;
    cat.watchTable("nodes", ws);
    let index = Math.max(cat.servicesIndex, cat.nodesIndex);
    for (const i of instances) index = Math.max(index, cat.serviceNameIndex(i.service.Service, ws));
    return index;
  },
  build: (r) => entryViews(r, r.connectInstances ?? []),
};

function serviceEntries(ctx: HttpContext, req: ApiRequest, endpoint: InstanceListEndpoint<ServiceEntriesRequest, HealthEntryJson>): Reply | Promise<Reply> {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "service");
  const passing = passingOnly(req.query);
  const tags = requestedTags(req.query);
  const filter = requestFilter(opts.filter, healthServiceEntrySchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "services", []);
  const r: ServiceEntriesRequest = { ctx, req, opts, name, tags, source: nearNode(req, opts.near), passing, filter };
  return instanceListRead(r, endpoint, passing ? "p" : "", canSeeHealthEntry);
}

const service: Handler = (ctx, req) => serviceEntries(ctx, req, serviceEntriesOfName);

const connect: Handler = (ctx, req) => serviceEntries(ctx, req, connectEntries);

/** Instances of the ingress gateways exposing the service (Consul's CheckIngressServiceNodes). */
const ingressEntries: InstanceListEndpoint<ServiceEntriesRequest, HealthEntryJson> = {
  memos: new WeakMap(),
  index: (r, ws) => {
    const state = r.ctx.state;
    const instances = ingressGatewayInstances(state, r.name, ws);
    r.connectInstances = instances;
    state.catalog.watchTable("nodes", ws);
    let index = Math.max(gatewayIndex(state, ws), state.catalog.nodesIndex);
    for (const i of instances) index = Math.max(index, state.catalog.serviceNameIndex(i.service.Service, ws));
    return index;
  },
  build: (r) => entryViews(r, r.connectInstances ?? []),
};

const ingress: Handler = (ctx, req) => serviceEntries(ctx, req, ingressEntries);

export const healthHandlers = { node, checks, service, connect, ingress, state } satisfies Record<string, Handler>;
