import { ConfigEntryError, decodeSources, SERVICE_INTENTIONS } from "../../connect/config-entry-decode.ts";
import { WILDCARD } from "../../connect/intention-precedence.ts";
import { allIntentions, decide, intentionOf, matchIntentions, sourcesOf, type Intention } from "../../connect/intentions.ts";
import { errors } from "../../errors/catalog.ts";
import type { ConfigEntry } from "../../model/config-entry.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import type { Handler, HttpContext } from "../context.ts";
import { all, first } from "../query.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { protocolContext } from "./config-entries.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";
import { intentionSchema } from "../../filter/endpoint-schemas.ts";
import { requestFilter } from "./catalog-query.ts";

// /v1/connect/intentions*: spec/connect.md §6.5. Every endpoint is a view over (or an edit of)
// the `service-intentions` config entries; the legacy API's IDs live in the sources' LegacyID.

type Source = Record<string, unknown>;

const NOT_FOUND = "Intention not found";

/** Without a match: allow while ACLs are off, else what the anonymous token's intention default says (Consul's IntentionDefaultAllow). */
export function aclDefaults(ctx: HttpContext): { enabled: boolean; defaultPolicy: "allow" | "deny" } {
  if (!ctx.acl) return { enabled: false, defaultPolicy: "allow" };
  return { enabled: true, defaultPolicy: ctx.acl.resolve("").intentionDefaultAllow() === "allow" ? "allow" : "deny" };
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function checkName(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw errors.badRequest(`${field} must be set`);
  if (value.includes(WILDCARD) && value !== WILDCARD) throw errors.badRequest(`${field}: wildcard character '*' cannot be used with partial values`);
  return value;
}

function checkNamespace(value: unknown, field: string): void {
  if (value !== undefined && value !== "" && value !== "default" && value !== WILDCARD) throw errors.badRequest(`${field}: Namespaces are a Consul Enterprise feature`);
}

const INTENTION_KEYS = new Set([
  "ID", "Description", "SourceNS", "SourceName", "DestinationNS", "DestinationName", "SourcePartition", "DestinationPartition", "SourcePeer", "SourceSamenessGroup",
  "SourceType", "Action", "Permissions", "Meta", "Precedence", "CreatedAt", "UpdatedAt", "Hash", "CreateIndex", "ModifyIndex",
]);

/** A legacy intention body as a config-entry source for `destination`. */
function sourceFromBody(body: Record<string, unknown>, withNames: boolean): { source: Source; destination?: string } {
  for (const k of Object.keys(body)) if (!INTENTION_KEYS.has(k)) throw errors.badRequest(`Request decode failed: json: unknown field ${JSON.stringify(k)}`);
  if (typeof body.SourcePeer === "string" && body.SourcePeer !== "") throw errors.badRequest("SourcePeer is not supported by this agent yet");
  if (typeof body.SourceSamenessGroup === "string" && body.SourceSamenessGroup !== "") throw errors.badRequest("SourceSamenessGroup is not supported by this agent yet");
  const source: Source = {};
  let destination: string | undefined;
  if (withNames) {
    checkNamespace(body.SourceNS, "SourceNS");
    checkNamespace(body.DestinationNS, "DestinationNS");
    source.Name = checkName(body.SourceName, "SourceName");
    destination = checkName(body.DestinationName, "DestinationName");
  }
  if (body.SourceType !== undefined && body.SourceType !== "") source.Type = body.SourceType;
  if (body.Action !== undefined && body.Action !== "") source.Action = body.Action;
  if (body.Permissions !== undefined && body.Permissions !== null) source.Permissions = body.Permissions;
  if (body.Description !== undefined && body.Description !== "") source.Description = body.Description;
  if (isObject(body.Meta) && Object.keys(body.Meta).length > 0) source.LegacyMeta = body.Meta;
  return { source, destination };
}

/**
 * Replaces (or removes, with `next` undefined) the source named `sourceName` in the entry for
 * `destination`, compare-and-set on the entry so concurrent edits are never lost. An entry left
 * without sources is deleted, as Consul does.
 */
async function editSource(ctx: HttpContext, destination: string, sourceName: string, next: (existing: Source | undefined) => Source | undefined): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const entry = ctx.state.configEntries.get(SERVICE_INTENTIONS, destination);
    const existing = sourcesOf(entry).find((s) => s.Name === sourceName);
    const replacement = next(existing);
    const others = sourcesOf(entry).filter((s) => s.Name !== sourceName);
    const sources = replacement ? [...others, replacement] : others;
    let ok: unknown;
    if (sources.length === 0) {
      if (!entry) return;
      ok = await write(ctx, { Type: "config-entry-delete", Op: "cas", Kind: SERVICE_INTENTIONS, Name: destination, CasIndex: entry.ModifyIndex });
    } else {
      let decoded;
      try {
        decoded = decodeSources(sources, destination, protocolContext(ctx.state), true);
      } catch (err) {
        if (err instanceof ConfigEntryError) throw errors.badRequest(err.message.replace(/^Sources\[\d+\]\./, ""));
        throw err;
      }
      const fields = { Kind: SERVICE_INTENTIONS, Name: destination, Sources: decoded, ...(entry?.Meta ? { Meta: entry.Meta } : {}) };
      ok = await write(ctx, { Type: "config-entry-set", Op: "cas", CasIndex: entry?.ModifyIndex ?? 0, Entry: fields });
    }
    if (ok === true) return;
  }
  throw errors.internal("intention changed concurrently too many times; try again");
}

function findByLegacyId(ctx: HttpContext, id: string): { entry: ConfigEntry; source: Source } | undefined {
  for (const entry of ctx.state.configEntries.list(SERVICE_INTENTIONS)) {
    const source = sourcesOf(entry).find((s) => s.LegacyID === id);
    if (source) return { entry, source };
  }
  return undefined;
}

function intentionsIndex(ctx: HttpContext): number {
  return ctx.state.configEntries.kindIndex(SERVICE_INTENTIONS);
}

const list: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const filter = requestFilter(opts.filter, intentionSchema);
  const table = ctx.state.configEntries;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: intentionsIndex(ctx), value: allIntentions(table.list(SERVICE_INTENTIONS, ws)) }),
    (v) => {
      // ACL filtering first (it sets X-Consul-Results-Filtered-By-ACLs), then ?filter.
      const kept = v.filter((i) => authz.allowed("intention:read", i.DestinationName));
      return json(filter ? kept.filter(filter) : kept, 200, filteredHeaders(authz, kept.length < v.length));
    },
  );
};

const create: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.badRequest("Request decode failed: body is not a JSON object");
  if (typeof body.ID === "string" && body.ID !== "") throw errors.badRequest("ID must be empty");
  const { source, destination } = sourceFromBody(body, true);
  requestAuthorizer(ctx, req).require("intention:write", destination as string);
  const id = ctx.rng.uuid();
  const now = rfc3339(ctx.clock.now());
  await editSource(ctx, destination as string, source.Name as string, (existing) => {
    if (existing) throw errors.internal(`duplicate intention found: ${source.Name as string} => ${destination as string}`);
    return { ...source, LegacyID: id, LegacyCreateTime: now, LegacyUpdateTime: now };
  });
  return json({ ID: id });
};

const byId: Handler = async (ctx, req) => {
  const id = req.suffix;
  if (req.method === "GET") {
    const opts = queryOptions(ctx, req);
    const table = ctx.state.configEntries;
    return blockingRead(
      ctx,
      req,
      opts,
      (ws) => {
        table.list(SERVICE_INTENTIONS, ws);
        const hit = findByLegacyId(ctx, id);
        return { index: intentionsIndex(ctx), value: hit ? intentionOf(hit.entry, hit.source) : undefined };
      },
      (ixn: Intention | undefined) => {
        if (!ixn) throw errors.notFound(NOT_FOUND);
        requestAuthorizer(ctx, req).require("intention:read", ixn.DestinationName);
        return json(ixn);
      },
    );
  }
  queryOptions(ctx, req);
  const hit = findByLegacyId(ctx, id);
  if (hit) requestAuthorizer(ctx, req).require("intention:write", hit.entry.Name);
  if (req.method === "DELETE") {
    if (hit) await editSource(ctx, hit.entry.Name, hit.source.Name as string, () => undefined);
    return json(true);
  }
  // PUT: update in place, or move to another (source, destination) pair.
  if (!hit) throw errors.notFound(NOT_FOUND);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.badRequest("Request decode failed: body is not a JSON object");
  const { source, destination } = sourceFromBody(body, true);
  requestAuthorizer(ctx, req).require("intention:write", destination as string);
  const updated: Source = {
    ...source,
    LegacyID: id,
    LegacyCreateTime: hit.source.LegacyCreateTime ?? rfc3339(ctx.clock.now()),
    LegacyUpdateTime: rfc3339(ctx.clock.now()),
  };
  if (destination === hit.entry.Name && source.Name === hit.source.Name) {
    await editSource(ctx, hit.entry.Name, hit.source.Name as string, () => updated);
  } else {
    await editSource(ctx, destination as string, source.Name as string, (existing) => {
      if (existing) throw errors.internal(`duplicate intention found: ${source.Name as string} => ${destination as string}`);
      return updated;
    });
    await editSource(ctx, hit.entry.Name, hit.source.Name as string, () => undefined);
  }
  return json(true);
};

/**
 * `name`, `namespace/name` or `partition/namespace/name` (Consul's parseIntentionStringComponent);
 * `peer:<peer>/…` names a cluster peer. Namespace and partition must be `default` here (CE).
 */
function exactComponent(input: string, field: string): string {
  const parts = input.split("/");
  if (parts.length > 3) throw errors.badRequest("input can contain at most two '/'");
  if (parts[0].startsWith("peer:") && parts.length > 1) throw errors.badRequest(`${field}: peers are not supported by this agent yet`);
  const name = parts[parts.length - 1];
  if (parts.length >= 2) checkNamespace(parts[parts.length - 2], field === "SourceName" ? "SourceNS" : "DestinationNS");
  if (parts.length === 3 && parts[0] !== "" && parts[0] !== "default") {
    throw errors.badRequest(`${field === "SourceName" ? "SourcePartition" : "DestinationPartition"}: Partitions are a Consul Enterprise feature`);
  }
  return checkName(name, field);
}

function exactNames(req: Parameters<Handler>[1]): { source: string; destination: string } {
  const source = first(req.query, "source") ?? "";
  const destination = first(req.query, "destination") ?? "";
  if (source === "") throw errors.badRequest("required query parameter 'source' not set");
  if (destination === "") throw errors.badRequest("required query parameter 'destination' not set");
  return { source: exactComponent(source, "SourceName"), destination: exactComponent(destination, "DestinationName") };
}

const exact: Handler = async (ctx, req) => {
  const { source, destination } = exactNames(req);
  requestAuthorizer(ctx, req).require(req.method === "GET" ? "intention:read" : "intention:write", destination);
  if (req.method === "GET") {
    const opts = queryOptions(ctx, req);
    const table = ctx.state.configEntries;
    return blockingRead(
      ctx,
      req,
      opts,
      (ws) => {
        const entry = table.get(SERVICE_INTENTIONS, destination, ws);
        const s = sourcesOf(entry).find((x) => x.Name === source);
        return { index: intentionsIndex(ctx), value: entry && s ? intentionOf(entry, s) : undefined };
      },
      (ixn: Intention | undefined) => {
        if (!ixn) throw errors.notFound(NOT_FOUND);
        return json(ixn);
      },
    );
  }
  queryOptions(ctx, req);
  if (req.method === "DELETE") {
    await editSource(ctx, destination, source, () => undefined);
    return json(true);
  }
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.badRequest("Request decode failed: body is not a JSON object");
  const { source: fields } = sourceFromBody(body, false);
  await editSource(ctx, destination, source, (existing) => {
    const keep: Source = {};
    // A legacy intention edited through /exact keeps its ID and creation time.
    if (existing?.LegacyID) Object.assign(keep, { LegacyID: existing.LegacyID, LegacyCreateTime: existing.LegacyCreateTime, LegacyUpdateTime: rfc3339(ctx.clock.now()) });
    return { ...fields, ...keep, Name: source };
  });
  return json(true);
};

const match: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const by = first(req.query, "by") ?? "";
  if (by === "") throw errors.badRequest("required query parameter 'by' not set");
  if (by !== "source" && by !== "destination") throw errors.badRequest("'by' parameter must be one of 'source' or 'destination'");
  const names = all(req.query, "name");
  if (names.length === 0) throw errors.badRequest("required query parameter 'name' not set");
  // Consul's Intention.Match: intentions:read on every name asked about, else a plain
  // "Permission denied" for the whole request; what matches a readable name is then shown whole.
  const authz = requestAuthorizer(ctx, req);
  if (names.some((n) => !authz.allowed("intention:read", n))) throw errors.permissionDenied();
  const table = ctx.state.configEntries;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const entries = table.list(SERVICE_INTENTIONS, ws);
      const out: Record<string, Intention[]> = {};
      for (const n of names) out[n] = matchIntentions(entries, by, n);
      return { index: intentionsIndex(ctx), value: out };
    },
    (v) => json(v),
  );
};

const check: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const source = first(req.query, "source") ?? "";
  const destination = first(req.query, "destination") ?? "";
  if (source === "") throw errors.badRequest("required query parameter 'source' not set");
  if (destination === "") throw errors.badRequest("required query parameter 'destination' not set");
  requestAuthorizer(ctx, req).require("service:read", destination);
  const table = ctx.state.configEntries;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: intentionsIndex(ctx), value: decide(matchIntentions(table.list(SERVICE_INTENTIONS, ws), "destination", destination), source, aclDefaults(ctx)).allowed }),
    (allowed) => json({ Allowed: allowed }),
  );
};

export const connectIntentionHandlers = { list, create, byId, exact, match, check } satisfies Record<string, Handler>;
