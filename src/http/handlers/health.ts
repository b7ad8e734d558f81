import { errors } from "../../errors/catalog.ts";
import { healthCheckSchema, healthServiceEntrySchema } from "../../filter/endpoint-schemas.ts";
import { isCheckStatus, type HealthCheck } from "../../model/catalog.ts";
import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { allPassing } from "../views/aggregated-status.ts";
import { encodedBody, memoFor, type EncodedMemo } from "../views/encoded-memo.ts";
import { healthCheckView, type HealthCheckJson } from "../views/health-check.ts";
import { healthEntryView, type HealthEntryJson } from "../views/health-entry.ts";
import {
  nearNode,
  nodeHasMeta,
  passingOnly,
  requestedTags,
  requestFilter,
  requireName,
  selectInstances,
  sortByNear,
  wantsPretty,
} from "./catalog-query.ts";

// /v1/health/*: spec/health.md.

/** Renders a check list after `?node-meta`, `?filter` and `?near` (health.md §4.1, 4.2, 4.6). */
function checkViews(ctx: HttpContext, opts: QueryOptions, checks: HealthCheck[], ws: WatchSet): HealthCheckJson[] {
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
  const source = nearNode(ctx, opts.near);
  if (source) views = sortByNear(views, (c) => c.Node, source, (n) => ctx.state.coordinates.get(n, ws));
  return views;
}

const node: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "node");
  requestFilter(opts.filter, healthCheckSchema);
  const cat = ctx.state.catalog;
  // Near does not apply to one node's checks upstream.
  const local: QueryOptions = { ...opts, near: "", nodeMeta: [] };
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: cat.checksIndex, value: checkViews(ctx, local, cat.nodeChecks(name, ws), ws) }),
    (views) => json(views),
  );
};

const checks: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = requireName(req.suffix, "service");
  requestFilter(opts.filter, healthCheckSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = cat.serviceNameIndex(name, ws);
      return { index, value: checkViews(ctx, opts, cat.checksOfServiceName(name, ws), ws) };
    },
    (views) => json(views),
  );
};

const state: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const wanted = req.suffix;
  if (wanted === "") throw errors.badRequest("Missing check state");
  requestFilter(opts.filter, healthCheckSchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      // Other states are not validated upstream: nothing is in them.
      if (wanted !== "any" && !isCheckStatus(wanted)) {
        cat.watchTable("checks", ws);
        return { index: cat.checksIndex, value: [] };
      }
      return { index: cat.checksIndex, value: checkViews(ctx, opts, cat.checksInState(wanted, ws), ws) };
    },
    (views) => json(views),
  );
};

type EntryKind = "service" | "connect";

interface EntryQuery {
  ctx: HttpContext;
  req: ApiRequest;
  opts: QueryOptions;
  name: string;
  kind: EntryKind;
}

const entryMemos = new WeakMap<object, EncodedMemo<HealthEntryJson[]>>();

/**
 * Service entries (health.md §2, §4.3, §4.4). The hot path of the whole API: a repeat of the
 * same query at the same index is served from the memo without touching the tables.
 */
function serviceEntries(q: EntryQuery): Promise<Reply> {
  const { ctx, req, opts, name, kind } = q;
  const passing = passingOnly(req.query);
  const tags = requestedTags(req.query);
  const filter = requestFilter(opts.filter, healthServiceEntrySchema);
  const source = nearNode(ctx, opts.near);
  const cat = ctx.state.catalog;
  const memo = memoFor(entryMemos, cat);
  const memoKey = [kind, name.toLowerCase(), passing ? "p" : "", tags.join(","), opts.nodeMeta.length > 0 ? JSON.stringify(opts.nodeMeta) : "", opts.filter, source].join("\u0000");
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      let index: number;
      let instances: ServiceInstance[] | undefined;
      if (kind === "connect") {
        // Proxies carry their own names: the answer moves with any of theirs, or with the set.
        instances = cat.connectInstances(name, ws);
        cat.watchTable("nodes", ws);
        index = Math.max(cat.servicesIndex, cat.nodesIndex);
        for (const i of instances) index = Math.max(index, cat.serviceNameIndex(i.service.Service, ws));
      } else {
        index = cat.serviceNameIndex(name, ws);
      }
      if (source) ctx.state.coordinates.get(source, ws);
      const version = `${cat.generation}:${index}:${source ? ctx.state.coordinates.tableIndex : 0}`;
      const hit = memo.get(memoKey, version);
      if (hit) return { index, value: hit };

      instances ??= cat.serviceInstances(name, ws);
      let entries: HealthEntryJson[] = [];
      for (const { node: n, service } of selectInstances(instances, tags, opts.nodeMeta)) {
        const instanceChecks = cat.instanceChecks(n.Node, service.ID);
        if (passing && !allPassing(instanceChecks)) continue;
        entries.push(healthEntryView(n, service, instanceChecks));
      }
      if (filter) entries = entries.filter(filter);
      if (source) entries = sortByNear(entries, (e) => e.Node.Node, source, (nn) => ctx.state.coordinates.get(nn));
      return { index, value: memo.set(memoKey, version, entries) };
    },
    (entry) => ({ kind: "json", status: 200, value: entry.items, encoded: encodedBody(entry, wantsPretty(ctx, req.query)) }),
  );
}

const service: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  return serviceEntries({ ctx, req, opts, name: requireName(req.suffix, "service"), kind: "service" });
};

const connect: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  return serviceEntries({ ctx, req, opts, name: requireName(req.suffix, "service"), kind: "connect" });
};

// No config entries yet, so no ingress gateway exposes anything; still a blocking read.
const ingress: Handler = (ctx, req) => {
  const opts = queryOptions(ctx, req);
  requireName(req.suffix, "service");
  passingOnly(req.query);
  requestFilter(opts.filter, healthServiceEntrySchema);
  const cat = ctx.state.catalog;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      cat.watchTable("services", ws);
      return { index: cat.servicesIndex, value: [] };
    },
    (views) => json(views),
  );
};

export const healthHandlers = { node, checks, service, connect, ingress, state } satisfies Record<string, Handler>;
