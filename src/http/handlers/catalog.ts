import { errors } from "../../errors/catalog.ts";
import { catalogNodeSchema, catalogServiceNodeSchema, nodeServiceSchema } from "../../filter/endpoint-schemas.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { Handler, HttpContext, ApiRequest, Reply } from "../context.ts";
import { decodeCatalogDeregistration, decodeCatalogRegistration } from "../decode/catalog-registration.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { catalogServiceNodeView, type CatalogServiceNodeJson } from "../views/catalog-service-node.ts";
import { encodedBody, memoFor, type EncodedMemo } from "../views/encoded-memo.ts";
import { nodeView, type NodeJson } from "../views/node.ts";
import { nodeServiceView, type NodeServiceJson } from "../views/node-service.ts";
import { nearNode, nodeHasMeta, requestedTags, requestFilter, requireName, selectInstances, sortByNear, wantsPretty } from "./catalog-query.ts";

// /v1/catalog/*: spec/catalog.md.

const register: Handler = async (ctx, req) => {
  const cmd = decodeCatalogRegistration(req.body, ctx.settings.datacenter);
  cmd.NowMs = ctx.clock.now();
  await write(ctx, cmd);
  return json(true);
};

const deregister: Handler = async (ctx, req) => {
  const cmd = decodeCatalogDeregistration(req.body, ctx.settings.datacenter);
  cmd.NowMs = ctx.clock.now();
  await write(ctx, cmd);
  return json(true);
};

// Single datacenter: no WAN federation, so the list is our own (and needs no leader).
const datacenters: Handler = (ctx) => json([ctx.settings.datacenter]);

const nodes: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, catalogNodeSchema);
  const cat = ctx.state.catalog;
  const source = nearNode(ctx, opts.near);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      let views = cat.listNodes(ws).filter((n) => nodeHasMeta(n, opts.nodeMeta)).map(nodeView);
      if (filter) views = views.filter(filter);
      if (source) views = sortByNear(views, (n) => n.Node, source, (n) => ctx.state.coordinates.get(n, ws));
      return { index: cat.nodesIndex, value: views };
    },
    (views) => json(views),
  );
};

const services: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, catalogServiceNodeSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const tagsByName = new Map<string, Set<string>>();
      for (const { node, service } of cat.allInstances(ws)) {
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
      return { index, value: out };
    },
    (out) => json(out),
  );
};

/** What a service-node list query needs besides the instances themselves. */
interface ServiceNodeQuery {
  ctx: HttpContext;
  req: ApiRequest;
  opts: QueryOptions;
  name: string;
  connect: boolean;
}

const serviceNodeMemos = new WeakMap<object, EncodedMemo<CatalogServiceNodeJson[]>>();

function serviceNodes(q: ServiceNodeQuery): Promise<Reply> {
  const { ctx, req, opts, name, connect } = q;
  const tags = requestedTags(req.query);
  const filter = requestFilter(opts.filter, catalogServiceNodeSchema);
  const cat = ctx.state.catalog;
  const source = nearNode(ctx, opts.near);
  const memo = memoFor(serviceNodeMemos, cat);
  const memoKey = [connect ? "c" : "s", name.toLowerCase(), tags.join(","), JSON.stringify(opts.nodeMeta), opts.filter, source].join("\u0000");
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      let index: number;
      if (connect) {
        cat.watchTable("nodes", ws);
        cat.watchTable("services", ws);
        index = Math.max(cat.servicesIndex, cat.nodesIndex);
      } else {
        index = cat.serviceNameIndex(name, ws);
      }
      if (source) ctx.state.coordinates.get(source, ws);
      const version = `${cat.generation}:${index}:${source ? ctx.state.coordinates.tableIndex : 0}`;
      const hit = memo.get(memoKey, version);
      if (hit) return { index, value: hit };
      const instances = connect ? cat.connectInstances(name, ws) : cat.serviceInstances(name, ws);
      let views = selectInstances(instances, tags, opts.nodeMeta).map(({ node, service }) => catalogServiceNodeView(node, service));
      if (filter) views = views.filter(filter);
      if (source) views = sortByNear(views, (v) => v.Node, source, (n) => ctx.state.coordinates.get(n));
      return { index, value: memo.set(memoKey, version, views) };
    },
    (entry) => ({ kind: "json", status: 200, value: entry.items, encoded: encodedBody(entry, wantsPretty(ctx, req.query)) }),
  );
}

const service: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  return serviceNodes({ ctx, req, opts, name: requireName(req.suffix, "service"), connect: false });
};

const connect: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  return serviceNodes({ ctx, req, opts, name: requireName(req.suffix, "service"), connect: true });
};

function nodeServiceViews(ctx: HttpContext, nodeName: string, filterExpr: string, ws: WatchSet): NodeServiceJson[] {
  const views = ctx.state.catalog.nodeServices(nodeName, ws).map(nodeServiceView);
  const filter = requestFilter(filterExpr, nodeServiceSchema);
  return filter ? views.filter(filter) : views;
}

const node: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "node");
  requestFilter(opts.filter, nodeServiceSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const n = cat.getNode(name, ws);
      if (!n) return { index: cat.nodeIndex(name), value: null };
      const servicesById: Record<string, NodeServiceJson> = {};
      for (const s of nodeServiceViews(ctx, name, opts.filter, ws)) servicesById[s.ID] = s;
      return { index: cat.nodeIndex(name), value: { Node: nodeView(n), Services: servicesById } };
    },
    (value) => json(value),
  );
};

const nodeServices: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "node");
  requestFilter(opts.filter, nodeServiceSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws): { index: number; value: { Node: NodeJson | null; Services: NodeServiceJson[] | null } } => {
      const n = cat.getNode(name, ws);
      if (!n) return { index: cat.nodeIndex(name), value: { Node: null, Services: null } };
      return { index: cat.nodeIndex(name), value: { Node: nodeView(n), Services: nodeServiceViews(ctx, name, opts.filter, ws) } };
    },
    (value) => json(value),
  );
};

// No config entries yet, so no gateway has linked services: upstream's un-normalised empty
// list is `null`, still with an index a watcher can block on.
const gatewayServices: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  if (req.suffix === "") throw errors.badRequest("Missing gateway name");
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      cat.watchTable("services", ws);
      return { index: cat.servicesIndex, value: null };
    },
    () => json(null),
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
