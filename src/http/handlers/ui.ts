import { healthServiceEntrySchema, nodeInfoSchema } from "../../filter/endpoint-schemas.ts";
import type { HealthCheck } from "../../model/catalog.ts";
import type { CatalogTables } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { Handler } from "../context.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { empty, json } from "../reply.ts";
import { healthEntryView } from "../views/health-entry.ts";
import { nodeInfoView, serviceSummaries, type DumpEntry } from "../views/ui-summary.ts";
import { requestFilter, requireName } from "./catalog-query.ts";

// /v1/internal/ui/*: the web UI's summary reads (spec/ui.md §3.2). Blocking like every
// catalog read; the answer changes with any node, service or check, so all three are watched.

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

const services: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, healthServiceEntrySchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = watchCatalog(cat, ws);
      const checks = checksByNode(cat, ws);
      const entries: DumpEntry[] = [];
      for (const { node, service } of cat.allInstances(ws)) {
        const own = (checks.get(node.Node.toLowerCase()) ?? []).filter((c) => c.ServiceID === "" || c.ServiceID === service.ID);
        if (filter && !filter(healthEntryView(node, service, own))) continue;
        entries.push({ node, service, checks: own });
      }
      return { index, value: serviceSummaries(entries) };
    },
    (rows) => json(rows),
  );
};

const nodes: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, nodeInfoSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = watchCatalog(cat, ws);
      let infos = cat.listNodes(ws).map((n) => nodeInfoView(n, cat.nodeServices(n.Node, ws), cat.nodeChecks(n.Node, ws)));
      if (filter) infos = infos.filter(filter);
      return { index, value: infos };
    },
    (infos) => json(infos),
  );
};

const node: Handler = (ctx, req) => {
  const name = requireName(req.suffix, "node");
  const opts = queryOptions(ctx, req);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = watchCatalog(cat, ws);
      const n = cat.getNode(name, ws);
      return { index, value: n ? nodeInfoView(n, cat.nodeServices(n.Node, ws), cat.nodeChecks(n.Node, ws)) : undefined };
    },
    // Consul answers an unknown node with a bare 404 (empty body).
    (info) => (info ? json(info) : empty(404)),
  );
};

export const uiHandlers = { services, nodes, node };
