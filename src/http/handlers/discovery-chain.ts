import { ChainGraphError, compileDiscoveryChain, type CompiledChain } from "../../connect/discovery-chain.ts";
import { trustDomainOf } from "../../connect/spiffe.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import { errors } from "../../errors/catalog.ts";
import { parseDurationField } from "../../model/duration.ts";
import type { Handler } from "../context.ts";
import { first } from "../query.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// GET/POST /v1/discovery-chain/:service (Consul's agent/discovery_chain_endpoint.go): the chain
// compiled from the stored resolver/splitter/router entries; POST carries overrides.

const CHAIN_KINDS = ["service-resolver", "service-splitter", "service-router", "service-defaults", "proxy-defaults"];
const OVERRIDE_KEYS = new Set(["OverrideConnectTimeout", "OverrideProtocol", "OverrideMeshGateway"]);

interface Overrides {
  overrideProtocol?: string;
  overrideConnectTimeoutMs?: number;
  overrideMeshGatewayMode?: string;
}

async function overridesOf(body: Buffer | undefined): Promise<Overrides> {
  if (!body || body.length === 0) return {};
  const raw = await parseJsonBodyInTurns(body);
  if (!isObject(raw)) throw errors.badRequest("Request decoding failed: body is not a JSON object");
  const out: Overrides = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = [...OVERRIDE_KEYS].find((x) => x.toLowerCase() === k.replaceAll("_", "").toLowerCase());
    if (!key) throw errors.badRequest(`Request decoding failed: json: unknown field ${JSON.stringify(k)}`);
    if (v === null) continue;
    if (key === "OverrideProtocol") {
      if (typeof v !== "string") throw errors.badRequest("Request decoding failed: OverrideProtocol must be a string");
      out.overrideProtocol = v.toLowerCase();
    } else if (key === "OverrideConnectTimeout") {
      try {
        out.overrideConnectTimeoutMs = parseDurationField(v);
      } catch (err) {
        throw errors.badRequest(`Request decoding failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      const mode = isObject(v) ? Object.entries(v).find(([mk]) => mk.toLowerCase() === "mode")?.[1] : undefined;
      if (mode !== undefined && (typeof mode !== "string" || !["", "none", "local", "remote"].includes(mode))) {
        throw errors.badRequest(`Request decoding failed: Invalid Mode field for MeshGateway: ${JSON.stringify(mode)}`);
      }
      if (typeof mode === "string" && mode !== "") out.overrideMeshGatewayMode = mode;
    }
  }
  return out;
}

const chain: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const name = req.suffix;
  if (name === "") throw errors.badRequest("Missing chain name");
  const overrides = req.method === "POST" ? await overridesOf(req.body) : {};
  const datacenter = first(req.query, "compile-dc") || ctx.settings.datacenter;
  requestAuthorizer(ctx, req).require("service:read", name);
  const table = ctx.state.configEntries;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      let index = 0;
      for (const kind of CHAIN_KINDS) {
        table.list(kind, ws);
        index = Math.max(index, table.kindIndex(kind));
      }
      const clusterId = ctx.state.connectCa.config(ws)?.ClusterID ?? "";
      let value: CompiledChain | Error;
      try {
        value = compileDiscoveryChain({
          serviceName: name,
          datacenter,
          trustDomain: clusterId === "" ? "" : trustDomainOf(clusterId),
          entries: { get: (kind, entryName) => table.get(kind, entryName) },
          ...overrides,
        });
      } catch (err) {
        if (!(err instanceof ChainGraphError)) throw err;
        value = err;
      }
      return { index: Math.max(index, 1), value };
    },
    (value) => {
      if (value instanceof Error) throw errors.internal(value.message);
      return json({ Chain: value });
    },
  );
};

export const discoveryChainHandlers = { chain } satisfies Record<string, Handler>;
