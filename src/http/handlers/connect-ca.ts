import { errors } from "../../errors/catalog.ts";
import type { CAConfiguration, CARoot } from "../../model/connect-ca.ts";
import { CONNECT_DISABLED, ConnectCaError, type ConnectCa } from "../../server/connect-ca.ts";
import { trustDomainOf } from "../../connect/spiffe.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import type { Handler, HttpContext } from "../context.ts";
import { first } from "../query.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { empty, json, text } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/connect/ca/*: spec/connect.md §3. Roots and configuration are Raft state
// (fsm/connect-ca.ts); changes and signing run on the leader (server/connect-ca.ts).

export function caErrorToHttp(err: unknown): unknown {
  if (!(err instanceof ConnectCaError)) return err;
  if (err.status === 400) return errors.badRequest(err.message);
  if (err.status === 429) return errors.rateLimited(err.message);
  return errors.internal(err.message);
}

function caOf(ctx: HttpContext): ConnectCa {
  if (!ctx.connectCa?.enabled) throw errors.internal(CONNECT_DISABLED);
  return ctx.connectCa;
}

export function rootView(r: CARoot): Record<string, unknown> {
  return {
    ID: r.ID,
    Name: r.Name,
    SerialNumber: r.SerialNumber,
    SigningKeyID: r.SigningKeyID,
    ExternalTrustDomain: r.ExternalTrustDomain,
    NotBefore: r.NotBefore,
    NotAfter: r.NotAfter,
    RootCert: r.RootCert,
    IntermediateCerts: r.IntermediateCerts,
    Active: r.Active,
    PrivateKeyType: r.PrivateKeyType,
    PrivateKeyBits: r.PrivateKeyBits,
    CreateIndex: r.CreateIndex,
    ModifyIndex: r.ModifyIndex,
  };
}

export interface IndexedCARoots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Record<string, unknown>[];
}

function rootsPem(roots: readonly CARoot[]): string {
  let out = "";
  for (const r of roots) {
    out += r.RootCert.endsWith("\n") ? r.RootCert : `${r.RootCert}\n`;
    for (const i of r.IntermediateCerts ?? []) out += i.endsWith("\n") ? i : `${i}\n`;
  }
  return out;
}

const roots: Handler = async (ctx, req) => {
  caOf(ctx);
  const opts = queryOptions(ctx, req);
  const pem = first(req.query, "pem");
  const asPem = pem !== undefined && pem !== "false" && pem !== "0";
  const ca = ctx.state.connectCa;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const rows = ca.roots(ws);
      const config = ca.config(ws);
      return { index: ca.rootsIndex, value: { rows, clusterId: config?.ClusterID ?? "" } };
    },
    ({ rows, clusterId }) => {
      if (asPem) return text(rootsPem(rows), 200, { "Content-Type": "application/pem-certificate-chain" });
      const body: IndexedCARoots = {
        ActiveRootID: rows.find((r) => r.Active)?.ID ?? "",
        TrustDomain: clusterId === "" ? "" : trustDomainOf(clusterId),
        Roots: rows.map(rootView),
      };
      return json(body);
    },
  );
};

function configView(c: CAConfiguration): Record<string, unknown> {
  const { PrivateKey: _secret, ...shown } = c.Config;
  return {
    ClusterID: c.ClusterID,
    Provider: c.Provider,
    Config: shown,
    State: null,
    ForceWithoutCrossSigning: c.ForceWithoutCrossSigning,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

const getConfiguration: Handler = async (ctx, req) => {
  caOf(ctx);
  requestAuthorizer(ctx, req).require("operator:write");
  const opts = queryOptions(ctx, req);
  const ca = ctx.state.connectCa;
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: ca.configIndex, value: ca.config(ws) }),
    (config) => {
      if (!config) throw errors.internal("CA has not finished initializing");
      return json(configView(config));
    },
  );
};

const setConfiguration: Handler = async (ctx, req) => {
  const ca = caOf(ctx);
  requestAuthorizer(ctx, req).require("operator:write");
  queryOptions(ctx, req);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) throw errors.decodeFailed("body is not a JSON object");
  const provider = body.Provider ?? "";
  if (typeof provider !== "string") throw errors.decodeFailed("Provider must be a string");
  const config = body.Config ?? {};
  if (!isObject(config)) throw errors.decodeFailed("Config must be an object");
  const force = body.ForceWithoutCrossSigning ?? false;
  if (typeof force !== "boolean") throw errors.decodeFailed("ForceWithoutCrossSigning must be a boolean");
  for (const k of Object.keys(body)) {
    if (!["Provider", "Config", "ForceWithoutCrossSigning", "ClusterID", "State", "CreateIndex", "ModifyIndex"].includes(k)) {
      throw errors.decodeFailed(`json: unknown field ${JSON.stringify(k)}`);
    }
  }
  try {
    await ca.setConfiguration(provider, config, force);
  } catch (err) {
    throw caErrorToHttp(err);
  }
  return empty(200);
};

/**
 * Consulate-internal (no Consul counterpart; Consul uses its ConnectCA.Sign RPC): an agent's
 * CSR, signed by the leader. Agents reach it through the ordinary forwarding path.
 */
const sign: Handler = async (ctx, req) => {
  const ca = caOf(ctx);
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body) || typeof body.CSR !== "string") throw errors.decodeFailed("CSR must be a string");
  const afterIndex = body.AfterIndex ?? 0;
  if (typeof afterIndex !== "number" || !Number.isSafeInteger(afterIndex) || afterIndex < 0) throw errors.decodeFailed("AfterIndex must be a non-negative integer");
  try {
    // Consul's ConnectCA.Sign: service:write on the CSR's service, node:write for an agent's certificate.
    const authz = requestAuthorizer(ctx, req);
    return json(await ca.sign(body.CSR, (kind, name) => authz.require(kind === "node" ? "node:write" : "service:write", name), afterIndex));
  } catch (err) {
    throw caErrorToHttp(err);
  }
};

export const connectCaHandlers = { roots, getConfiguration, setConfiguration, sign } satisfies Record<string, Handler>;
