import { datacentersByDistance } from "../../model/datacenters-by-distance.ts";
import { wanRttEstimate } from "../../agent/wan-rtt.ts";
import { errors } from "../../errors/catalog.ts";
import { catalogNodeSchema, catalogServiceNodeSchema, nodeServiceSchema } from "../../filter/endpoint-schemas.ts";
import type { FilterPredicate } from "../../filter/filter.ts";
import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { Handler, HttpContext, ApiRequest, Reply } from "../context.ts";
import type { CatalogRegisterCommand } from "../../fsm/command.ts";
import { decodeCatalogDeregistration, decodeCatalogRegistration } from "../../decode/catalog-registration.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { catalogServiceNodeView, type CatalogServiceNodeJson } from "../views/catalog-service-node.ts";
import { nodeView, type NodeJson } from "../views/node.ts";
import { nodeServiceView, type NodeServiceJson } from "../views/node-service.ts";
import { gatewayIndex, gatewayEntries, typicalServiceNames } from "../../connect/gateway-read.ts";
import { gatewayServicesOf } from "../../connect/gateway-services.ts";
import { clusterPeerRead, namesClusterPeer } from "./peer-scope.ts";
import { nearNode, nodeHasMeta, requestedTags, requestFilter, requireName, selectInstances, sortByNear } from "./catalog-query.ts";
import { instanceListRead, instancesOfName, type InstanceListEndpoint, type InstanceListRequest } from "./instance-list-read.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { vetCatalogDeregister, vetCatalogRegister } from "../../acl/catalog-write-acl.ts";
import { canSeeServiceNode } from "./acl-catalog-filter.ts";
import { filteredHeaders } from "../request-authorizer.ts";

// /v1/catalog/*: spec/catalog.md.

// Not async: a small body decodes in this turn, and each await here was another promise and
// turn of the microtask queue on the hottest write (a throw becomes the error answer alike).
const register: Handler = (ctx, req) => {
  const cmd = decodeCatalogRegistration(req.body, ctx.settings.datacenter);
  return cmd instanceof Promise ? cmd.then((decoded) => registerDecoded(ctx, req, decoded)) : registerDecoded(ctx, req, cmd);
};

function registerDecoded(ctx: HttpContext, req: ApiRequest, cmd: CatalogRegisterCommand): Promise<Reply> {
  if (ctx.acl) vetCatalogRegister(requestAuthorizer(ctx, req), ctx.state.catalog, cmd);
  cmd.NowMs = ctx.clock.now();
  // Decoded from this request's body and never read again: the lone voter applies it uncopied.
  return write(ctx, cmd, HANDED_OVER).then(registered);
}

const HANDED_OVER = { handedOver: true } as const;

const registered = (): Reply => json(true);

const deregister: Handler = async (ctx, req) => {
  const cmd = await decodeCatalogDeregistration(req.body, ctx.settings.datacenter);
  if (ctx.acl) vetCatalogDeregister(requestAuthorizer(ctx, req), ctx.state.catalog, cmd);
  cmd.NowMs = ctx.clock.now();
  await write(ctx, cmd);
  return json(true);
};

// The datacenters this server's WAN pool knows, nearest first (needs no leader); without a
// WAN pool only our own.
const datacenters: Handler = (ctx) =>
  json(ctx.wanMembership ? datacentersByDistance(ctx.wanMembership.members(), ctx.settings.datacenter, wanRttEstimate(ctx.wanMembership)) : [ctx.settings.datacenter]);

const nodes: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, catalogNodeSchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "nodes", []);
  const cat = ctx.state.catalog;
  const source = nearNode(req, opts.near);
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const all = cat.listNodes(ws);
      const readable = all.filter((n) => authz.allowed("node:read", n.Node));
      let views = readable.filter((n) => nodeHasMeta(n, opts.nodeMeta)).map(nodeView);
      if (filter) views = views.filter(filter);
      if (source) views = sortByNear(views, (n) => n.Node, source, (n) => ctx.state.coordinates.get(n, ws));
      return { index: cat.nodesIndex, value: { views, removed: readable.length < all.length } };
    },
    ({ views, removed }) => json(views, 200, filteredHeaders(authz, removed)),
  );
};

const services: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, catalogServiceNodeSchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "services", {});
  const cat = ctx.state.catalog;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      if (opts.nodeMeta.length === 0 && !filter) {
        // The common read, from the summary index that apply maintains: O(services).
        // Its names are the instances' own, so service:read filters them exactly as the scan does.
        const summary: Record<string, string[]> = {};
        let hidden = false;
        for (const [name, tags] of cat.serviceTagSummary(ws)) {
          if (authz.allowed("service:read", name)) summary[name] = tags;
          else hidden = true;
        }
        return { index: cat.servicesIndex, value: { out: summary, removed: hidden } };
      }
      const tagsByName = new Map<string, Set<string>>();
      let removed = false;
      for (const { node, service } of cat.allInstances(ws)) {
        if (!authz.allowed("service:read", service.Service)) {
          removed = true;
          continue;
        }
        if (!nodeHasMeta(node, opts.nodeMeta)) continue;
        if (filter && !filter(catalogServiceNodeView(node, service))) continue;
        let tags = tagsByName.get(service.Service);
        if (!tags) {
          tags = new Set();
          tagsByName.set(service.Service, tags);
        }
        for (const t of service.Tags ?? []) tags.add(t);
      }
      // Go encodes map keys sorted; tags are a set upstream, sorted here for determinism.
      const out: Record<string, string[]> = {};
      for (const name of [...tagsByName.keys()].sort(byteOrder)) out[name] = [...(tagsByName.get(name) ?? [])].sort(byteOrder);
      let index = cat.servicesIndex;
      if (opts.nodeMeta.length > 0) {
        cat.watchTable("nodes", ws);
        index = Math.max(index, cat.nodesIndex);
      }
      return { index, value: { out, removed } };
    },
    ({ out, removed }) => json(out, 200, filteredHeaders(authz, removed)),
  );
};

interface ServiceNodesRequest extends InstanceListRequest {
  filter: FilterPredicate | undefined;
}

/** Instances and their nodes, flattened (catalog.md §2.2). */
function serviceNodeViews(r: ServiceNodesRequest, instances: ServiceInstance[]): CatalogServiceNodeJson[] {
  const { ctx, opts, filter, source } = r;
  let views = selectInstances(instances, r.tags, opts.nodeMeta).map(({ node, service }) => catalogServiceNodeView(node, service));
  if (filter) views = views.filter(filter);
  if (source) views = sortByNear(views, (v) => v.Node, source, (n) => ctx.state.coordinates.get(n));
  return views;
}

const serviceNodesOfName = instancesOfName(serviceNodeViews, {
  caches: new WeakMap(),
  memos: new WeakMap(),
  render: (node, service) => catalogServiceNodeView(node, service),
  withChecks: false,
  keep: () => true,
});

const connectServiceNodes: InstanceListEndpoint<ServiceNodesRequest, CatalogServiceNodeJson> = {
  memos: new WeakMap(),
  index: ({ ctx }, ws) => {
    const cat = ctx.state.catalog;
    cat.watchTable("nodes", ws);
    cat.watchTable("services", ws);
    return Math.max(cat.servicesIndex, cat.nodesIndex);
  },
  build: (r, ws) => serviceNodeViews(r, r.ctx.state.catalog.connectInstances(r.name, ws)),
};

function serviceNodes(ctx: HttpContext, req: ApiRequest, endpoint: InstanceListEndpoint<ServiceNodesRequest, CatalogServiceNodeJson>): Reply | Promise<Reply> {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "service");
  const tags = requestedTags(req.query);
  const filter = requestFilter(opts.filter, catalogServiceNodeSchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "services", []);
  return instanceListRead({ ctx, req, opts, name, tags, source: nearNode(req, opts.near), filter }, endpoint, "", canSeeServiceNode);
}

const service: Handler = (ctx, req) => serviceNodes(ctx, req, serviceNodesOfName);

const connect: Handler = (ctx, req) => serviceNodes(ctx, req, connectServiceNodes);

/**
 * One node with its services (catalog.md §2.3, §2.4); the two endpoints differ only in how they
 * shape the pair, and in what they answer for an unknown node.
 */
function nodeRead<T>(
  ctx: HttpContext,
  req: ApiRequest,
  shape: (node: NodeJson, services: NodeServiceJson[]) => T,
  missing: () => T,
): Reply | Promise<Reply> {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "node");
  const filter = requestFilter(opts.filter, nodeServiceSchema);
  if (namesClusterPeer(req)) return clusterPeerRead(ctx, req, opts, "nodes", missing());
  const cat = ctx.state.catalog;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const n = cat.getNode(name, ws);
      // A node the token may not read answers as an unknown one.
      if (!n || !authz.allowed("node:read", n.Node)) return { index: cat.nodeIndex(name), value: { value: missing(), removed: n !== undefined } };
      const all = cat.nodeServices(name, ws);
      const readable = all.filter((s) => authz.allowed("service:read", s.Service));
      let services = readable.map(nodeServiceView);
      if (filter) services = services.filter(filter);
      return { index: cat.nodeIndex(name), value: { value: shape(nodeView(n), services), removed: readable.length < all.length } };
    },
    ({ value, removed }) => json(value, 200, filteredHeaders(authz, removed)),
  );
}

const node: Handler = (ctx, req) =>
  nodeRead(
    ctx,
    req,
    (n, services) => {
      const servicesById: Record<string, NodeServiceJson> = {};
      for (const s of services) servicesById[s.ID] = s;
      return { Node: n, Services: servicesById };
    },
    () => null,
  );

const nodeServices: Handler = (ctx, req) =>
  nodeRead<{ Node: NodeJson | null; Services: NodeServiceJson[] | null }>(
    ctx,
    req,
    (n, services) => ({ Node: n, Services: services }),
    () => ({ Node: null, Services: null }),
  );

const gatewayServices: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  if (req.suffix === "") throw errors.badRequest("Missing gateway name");
  const gateway = req.suffix;
  // Consul's Catalog.GatewayServices: service:read on the gateway, refused (not filtered) without it.
  const authz = requestAuthorizer(ctx, req);
  authz.require("service:read", gateway);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const entries = gatewayEntries(ctx.state, ws);
      const value = gatewayServicesOf(gateway, entries, () => typicalServiceNames(ctx.state, ws));
      return { index: gatewayIndex(ctx.state, ws), value };
    },
    // Each linked service needs service:read too.
    (value) => json(value.filter((g) => authz.allowed("service:read", g.Service.Name))),
  );
};

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const catalogHandlers = {
  register,
  deregister,
  datacenters,
  nodes,
  services,
  service,
  connect,
  node,
  nodeServices,
  gatewayServices,
} satisfies Record<string, Handler>;
