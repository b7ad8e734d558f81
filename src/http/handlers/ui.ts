import { healthServiceEntrySchema, nodeInfoSchema } from "../../filter/endpoint-schemas.ts";
import type { HealthCheck } from "../../model/catalog.ts";
import type { CatalogTables } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { Handler } from "../context.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { empty, json } from "../reply.ts";
import { healthEntryView } from "../views/health-entry.ts";
import { nodeInfoView, serviceSummaries, type DumpEntry, type NodeInfoJson } from "../views/ui-summary.ts";
import { requestFilter, requireName } from "./catalog-query.ts";
import type { Authorizer } from "../../acl/authorizer.ts";
import type { Node, NodeService } from "../../model/catalog.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";

// /v1/internal/ui/*: the web UI's summary reads (spec/ui.md §3.2). Blocking like every
// catalog read; the answer changes with any node, service or check, so all three are watched.
// ACL filtering as Consul's Internal.ServiceDump / NodeDump / NodeInfo: an instance needs
// node:read and service:read; a node needs node:read, and within it services and service
// checks need service:read. What was removed is told by X-Consul-Results-Filtered-By-ACLs.

function watchCatalog(cat: CatalogTables, ws: WatchSet): number {
  cat.watchTable("nodes", ws);
  cat.watchTable("services", ws);
  cat.watchTable("checks", ws);
  return Math.max(cat.catalogIndex, 1);
}

/** Every check by lower-cased node name, from one scan of the checks table. */
function checksByNode(cat: CatalogTables, ws: WatchSet): Map<string, HealthCheck[]> {
  const out = new Map<string, HealthCheck[]>();
  for (const c of cat.checksInState("any", ws)) {
    const key = c.Node.toLowerCase();
    const list = out.get(key);
    if (list) list.push(c);
    else out.set(key, [c]);
  }
  return out;
}

/** A node's services and checks as the token may see them (the node itself already passed node:read). */
function visibleNodeInfo(authz: Authorizer, node: Node, services: readonly NodeService[], checks: readonly HealthCheck[]): { services: NodeService[]; checks: HealthCheck[]; removed: boolean } {
  const keptServices = services.filter((s) => authz.allowed("service:read", s.Service));
  const keptChecks = checks.filter((c) => c.ServiceName === "" || authz.allowed("service:read", c.ServiceName));
  return { services: keptServices, checks: keptChecks, removed: keptServices.length < services.length || keptChecks.length < checks.length };
}

const services: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, healthServiceEntrySchema);
  const cat = ctx.state.catalog;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = watchCatalog(cat, ws);
      const checks = checksByNode(cat, ws);
      const entries: DumpEntry[] = [];
      let removed = false;
      for (const { node, service } of cat.allInstances(ws)) {
        if (!authz.allowed("node:read", node.Node) || !authz.allowed("service:read", service.Service)) {
          removed = true;
          continue;
        }
        const own = (checks.get(node.Node.toLowerCase()) ?? []).filter((c) => c.ServiceID === "" || c.ServiceID === service.ID);
        if (filter && !filter(healthEntryView(node, service, own))) continue;
        entries.push({ node, service, checks: own });
      }
      return { index, value: { rows: serviceSummaries(entries), removed } };
    },
    ({ rows, removed }) => json(rows, 200, filteredHeaders(authz, removed)),
  );
};

const nodes: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, nodeInfoSchema);
  const cat = ctx.state.catalog;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = watchCatalog(cat, ws);
      let removed = false;
      let infos = cat.listNodes(ws).flatMap((n) => {
        if (!authz.allowed("node:read", n.Node)) {
          removed = true;
          return [];
        }
        const visible = visibleNodeInfo(authz, n, cat.nodeServices(n.Node, ws), cat.nodeChecks(n.Node, ws));
        removed ||= visible.removed;
        return [nodeInfoView(n, visible.services, visible.checks)];
      });
      if (filter) infos = infos.filter(filter);
      return { index, value: { infos, removed } };
    },
    ({ infos, removed }) => json(infos, 200, filteredHeaders(authz, removed)),
  );
};

const node: Handler = (ctx, req) => {
  const name = requireName(req.suffix, "node");
  const opts = queryOptions(ctx, req);
  const cat = ctx.state.catalog;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws): { index: number; value: { info: NodeInfoJson | undefined; removed: boolean } } => {
      const index = watchCatalog(cat, ws);
      const n = cat.getNode(name, ws);
      if (!n) return { index, value: { info: undefined, removed: false } };
      // A node the token may not read is filtered away like in the dump: the answer is then "no such node".
      if (!authz.allowed("node:read", n.Node)) return { index, value: { info: undefined, removed: true } };
      const visible = visibleNodeInfo(authz, n, cat.nodeServices(n.Node, ws), cat.nodeChecks(n.Node, ws));
      return { index, value: { info: nodeInfoView(n, visible.services, visible.checks), removed: visible.removed } };
    },
    // Consul answers an unknown node with a bare 404 (empty body).
    ({ info, removed }) => (info ? json(info, 200, filteredHeaders(authz, removed)) : empty(404, filteredHeaders(authz, removed))),
  );
};

export const uiHandlers = { services, nodes, node };
