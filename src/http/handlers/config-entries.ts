import { runSliced } from "../../runtime/sliced-work.ts";
import { EXPORTED_SERVICES, INGRESS_GATEWAY, MESH, SERVICE_RESOLVER, SERVICE_ROUTER, SERVICE_SPLITTER, TERMINATING_GATEWAY } from "../../connect/config-entry-kinds.ts";
import { checkKind, ConfigEntryError, decodeConfigEntrySteps, PROXY_DEFAULTS, SERVICE_DEFAULTS, type DecodeContext } from "../../connect/config-entry-decode.ts";
import { errors } from "../../errors/catalog.ts";
import type { ConfigEntryDeleteCommand, ConfigEntrySetCommand } from "../../fsm/command.ts";
import type { ConfigEntry } from "../../model/config-entry.ts";
import type { StateStore } from "../../state/store.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import type { Handler } from "../context.ts";
import { first, parseUint64 } from "../query.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import type { Authorizer } from "../../acl/authorizer.ts";

/** Consul's per-kind CanRead: intentions need intention:read, service-defaults service:read; proxy-defaults is readable by all. */
function canRead(authz: Authorizer, kind: string, name: string): boolean {
  if (kind === "service-intentions") return authz.allowed("intention:read", name);
  if (SERVICE_SCOPED.has(kind)) return authz.allowed("service:read", name);
  if (kind === EXPORTED_SERVICES) return authz.allowed("mesh:read");
  return true;
}

/** Kinds read with service:read on their name (Consul's canReadDiscoveryChain, gateways, service-defaults). */
const SERVICE_SCOPED = new Set([SERVICE_DEFAULTS, SERVICE_RESOLVER, SERVICE_SPLITTER, SERVICE_ROUTER, INGRESS_GATEWAY, TERMINATING_GATEWAY]);
/** Kinds written with service:write on their name; the rest need mesh:write. */
const SERVICE_WRITTEN = new Set([SERVICE_DEFAULTS, SERVICE_RESOLVER, SERVICE_SPLITTER, SERVICE_ROUTER]);

/** Consul's per-kind CanWrite: intention:write, service:write, or mesh:write for proxy-defaults. */
function requireWrite(authz: Authorizer, kind: string, name: string): void {
  if (kind === "service-intentions") authz.require("intention:write", name);
  else if (SERVICE_WRITTEN.has(kind)) authz.require("service:write", name);
  else authz.require("mesh:write");
}

// /v1/config: config entries (spec/connect.md; Consul's agent/config_endpoint.go). Writes run
// on the leader (they are forwarded like every write); the state machine checks the service graph
// when it applies them (fsm/config-entry.ts), so a refused write is a typed apply error here.

/** What an L7 intention's destination speaks: its service-defaults, else proxy-defaults, else tcp. */
export function protocolContext(state: StateStore): DecodeContext {
  return {
    protocolOf(service: string): string {
      const sd = state.configEntries.get(SERVICE_DEFAULTS, service);
      if (typeof sd?.Protocol === "string" && sd.Protocol !== "") return sd.Protocol;
      const pd = state.configEntries.get(PROXY_DEFAULTS, "global");
      const config = pd?.Config as Record<string, unknown> | undefined;
      if (typeof config?.protocol === "string" && config.protocol !== "") return config.protocol;
      return "tcp";
    },
    allowsPermissiveMutualTLS(): boolean {
      return state.configEntries.get(MESH, "mesh")?.AllowEnablingPermissiveMutualTLS === true;
    },
  };
}

function casParam(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const v = parseUint64(raw);
  if (v === undefined) throw errors.badRequest(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(v);
}

function decodeFailed(err: unknown): never {
  if (err instanceof ConfigEntryError) throw errors.badRequest(`Request decoding failed: ${err.message}`);
  throw err;
}

const apply: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.badRequest("Request decoding failed: body is not a JSON object");
  let entry;
  try {
    // In slices: an entry near the body cap holds ~12,000 list elements (issue 12 item 6).
    entry = await runSliced(decodeConfigEntrySteps(body, protocolContext(ctx.state)));
  } catch (err) {
    decodeFailed(err);
  }
  requireWrite(requestAuthorizer(ctx, req), entry.Kind, entry.Name);
  const cas = casParam(first(req.query, "cas"));
  const cmd: ConfigEntrySetCommand = cas === undefined ? { Type: "config-entry-set", Op: "upsert", Entry: entry } : { Type: "config-entry-set", Op: "cas", CasIndex: cas, Entry: entry };
  return json((await write(ctx, cmd)) === true);
};

function kindAndName(suffix: string): { kind: string; name?: string } {
  const slash = suffix.indexOf("/");
  return slash < 0 ? { kind: suffix } : { kind: suffix.slice(0, slash), name: suffix.slice(slash + 1) };
}

function kindChecked(kind: string): void {
  try {
    checkKind(kind);
  } catch (err) {
    // Reading a kind Consul has but this agent does not store yet is an empty answer, not an error.
    if (err instanceof ConfigEntryError && err.message.includes("not supported")) return;
    if (err instanceof ConfigEntryError) throw errors.badRequest(err.message);
    throw err;
  }
}

const get: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const { kind, name } = kindAndName(req.suffix);
  if (kind === "") throw errors.notFound("Must provide either a kind or both kind and name");
  kindChecked(kind);
  const table = ctx.state.configEntries;
  if (name !== undefined) {
    return blockingRead(
      ctx,
      req,
      opts,
      (ws) => ({ index: table.kindIndex(kind), value: table.get(kind, name, ws) }),
      (entry: ConfigEntry | undefined) => {
        if (!canRead(requestAuthorizer(ctx, req), kind, name)) requestAuthorizer(ctx, req).require(kind === "service-intentions" ? "intention:read" : kind === EXPORTED_SERVICES ? "mesh:read" : "service:read", name);
        if (!entry) throw errors.notFound(`Config entry not found for ${JSON.stringify(kind)} / ${JSON.stringify(name)}`);
        return json(entry);
      },
    );
  }
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: table.kindIndex(kind), value: table.list(kind, ws) }),
    (entries) => {
      const authz = requestAuthorizer(ctx, req);
      return json(entries.filter((e) => canRead(authz, e.Kind, e.Name)));
    },
  );
};

const remove: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const { kind, name } = kindAndName(req.suffix);
  if (name === undefined || kind === "") throw errors.notFound("Must provide both a kind and name to delete");
  try {
    checkKind(kind);
  } catch (err) {
    if (err instanceof ConfigEntryError) throw errors.badRequest(err.message);
    throw err;
  }
  requireWrite(requestAuthorizer(ctx, req), kind, name);
  const cas = casParam(first(req.query, "cas"));
  const cmd: ConfigEntryDeleteCommand = cas === undefined ? { Type: "config-entry-delete", Op: "delete", Kind: kind, Name: name } : { Type: "config-entry-delete", Op: "cas", Kind: kind, Name: name, CasIndex: cas };
  const deleted = await write(ctx, cmd);
  // Consul answers the `deleted` boolean only for CAS deletes (backwards compatibility).
  return json(cas === undefined ? {} : deleted === true);
};

export const configEntryHandlers = { apply, get, remove } satisfies Record<string, Handler>;
