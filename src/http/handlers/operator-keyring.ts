import type { KeyringPoolResponse } from "../../agent/keyring-query.ts";
import { KeyringOp } from "../../agent/local-keyring.ts";
import { errors } from "../../errors/catalog.ts";
import { isObject, parseJsonBodyInTurns, str } from "../../decode/json-body.ts";
import type { ApiRequest, Handler, HttpContext } from "../context.ts";
import { first, parseGoBool } from "../query.ts";
import { empty, json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/operator/keyring: spec/operator-snapshot-query.md §3. GET lists the keys of every pool
// this server is in, POST installs a key, PUT makes it primary, DELETE removes it. Any pool
// that reports an error turns the whole answer into a 500 whose body lists each pool's error
// and each failing node's message, as Consul's multierror prints them.

interface KeyringArgs {
  key: string;
  localOnly: boolean;
}

async function parseArgs(req: ApiRequest): Promise<KeyringArgs> {
  let key = "";
  if (req.method !== "GET") {
    const body = await parseJsonBodyInTurns(req.body, { optional: true });
    if (body !== undefined) {
      if (!isObject(body)) throw errors.decodeFailed("json: cannot unmarshal non-object into Go value of type agent.keyringArgs");
      key = str(body, "Key");
    }
  }
  const relayFactor = first(req.query, "relay-factor");
  if (relayFactor !== undefined && relayFactor !== "") {
    if (!/^[+-]?\d+$/.test(relayFactor)) throw errors.badRequest(`Error parsing relay factor: strconv.Atoi: parsing ${JSON.stringify(relayFactor)}: invalid syntax`);
    const n = Number(relayFactor);
    if (n < 0 || n > 5) throw errors.badRequest("Invalid relay-factor: Relay factor must be in range: [0, 5]");
  }
  const rawLocalOnly = first(req.query, "local-only");
  let localOnly = false;
  if (rawLocalOnly !== undefined && rawLocalOnly !== "") {
    const value = parseGoBool(rawLocalOnly);
    if (value === undefined) throw errors.badRequest(`Error parsing local-only: strconv.ParseBool: parsing ${JSON.stringify(rawLocalOnly)}: invalid syntax`);
    if (value && req.method !== "GET") throw errors.badRequest("Invalid use of local-only: local-only can only be set for list requests");
    localOnly = value;
  }
  return { key, localOnly };
}

function poolName(r: KeyringPoolResponse): string {
  const pool = r.WAN ? "WAN" : `${r.Datacenter} (LAN)`;
  return r.Segment !== "" ? `${pool} [segment: ${r.Segment}]` : pool;
}

/** hashicorp/go-multierror's text for the pools' errors, undefined when there are none. */
export function keyringErrorText(responses: readonly KeyringPoolResponse[]): string | undefined {
  const lines: string[] = [];
  for (const r of responses) {
    if (r.Error === "") continue;
    lines.push(`${poolName(r)} error: ${r.Error}`);
    for (const [node, message] of Object.entries(r.Messages)) lines.push(`${node}: ${message}`);
  }
  if (lines.length === 0) return undefined;
  if (lines.length === 1) return `1 error occurred:\n\t* ${lines[0]}\n\n`;
  return `${lines.length} errors occurred:\n\t${lines.map((l) => `* ${l}`).join("\n\t")}\n\n`;
}

/** Consul's JSON for a pool: Error and Partition are left out (omitempty); Messages stays, as the API docs show it. */
function poolView(r: KeyringPoolResponse): Record<string, unknown> {
  return { WAN: r.WAN, Datacenter: r.Datacenter, Segment: r.Segment, Messages: r.Messages, Keys: r.Keys, PrimaryKeys: r.PrimaryKeys, NumNodes: r.NumNodes };
}

async function operate(ctx: HttpContext, req: ApiRequest, op: KeyringOp): Promise<KeyringPoolResponse[]> {
  requestAuthorizer(ctx, req).require(op === KeyringOp.list ? "keyring:read" : "keyring:write");
  const { key, localOnly } = await parseArgs(req);
  if (!ctx.agent.identity.server || !ctx.keyring) throw errors.internal("keyring operations must run against a server node");
  const responses = await ctx.keyring.operate(op, key, { localOnly });
  const failure = keyringErrorText(responses);
  if (failure !== undefined) throw errors.internal(failure);
  return responses;
}

const list: Handler = async (ctx, req) => json((await operate(ctx, req, KeyringOp.list)).map(poolView));
const install: Handler = async (ctx, req) => (await operate(ctx, req, KeyringOp.install), empty());
const use: Handler = async (ctx, req) => (await operate(ctx, req, KeyringOp.use), empty());
const remove: Handler = async (ctx, req) => (await operate(ctx, req, KeyringOp.remove), empty());

export const operatorKeyringHandlers = { list, install, use, remove } as const;
