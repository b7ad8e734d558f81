import { ConsulError, errors } from "../../errors/catalog.ts";
import { METRIC_NAMES } from "../../runtime/metrics.ts";
import type { CheckFields, NodeFields, ServiceFields, TxnOp } from "../../fsm/command.ts";
import { isReadOnlyTxn, readTxn, type TxnOutcome, type TxnResult } from "../../fsm/txn.ts";
import { isCheckStatus } from "../../model/catalog.ts";
import { findJsonTooDeep, jsonTooDeepMessage, MAX_JSON_NESTING_DEPTH } from "../../model/json-depth.ts";
import { parseJsonInSlices } from "../../decode/json-in-slices.ts";
import { runSliced, runWhole, type SlicedWork } from "../../runtime/sliced-work.ts";
import { bool, field, int, isObject, obj, str, strList, strMap, type JsonObject } from "../../decode/json-body.ts";
import type { Handler, HttpContext, HttpSettings } from "../context.ts";
import { parseJsonWithBigInts } from "../json.ts";
import { awaitLeaderUnlessStale, queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { healthCheckView } from "../views/health-check.ts";
import { kvEntryView } from "../views/kv-entry.ts";
import { nodeServiceView } from "../views/node-service.ts";
import { nodeView } from "../views/node.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { filterTxnResults, txnAclErrors } from "./acl-txn.ts";

// PUT /v1/txn: spec/txn.md. Decoding and limits here; semantics in fsm/txn.ts.

/** Consul's maxTxnOps (64 before 1.x, 128 in the releases we answer as). */
export const MAX_TXN_OPS = 128;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_UINT64 = (1n << 64n) - 1n;

const parseFailed = (detail: string): ConsulError => new ConsulError("BadRequest", `Failed to parse body: ${detail}`);
const tooLarge = (msg: string): ConsulError => new ConsulError("TooLarge", msg);

/** txn_max_req_len, or kv_max_value_size when that is larger (Consul's rule). */
export function txnMaxBytes(settings: HttpSettings): number {
  return Math.max(settings.txnMaxReqLenBytes, settings.kvMaxValueSizeBytes);
}

/** Consul's texts for an oversized txn body: judged by Content-Length, or found while reading. */
export function txnTooLarge(size: number, max: number, declared: boolean): ConsulError {
  return declared
    ? tooLarge(`Request body(${size} bytes) too large, max size: ${max} bytes. See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.`)
    : tooLarge(`Request body too large, max size: ${max} bytes. See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.`);
}

function uint(o: JsonObject, name: string): number {
  const v = field(o, name);
  if (v === undefined) return 0;
  if (typeof v === "bigint") return Number(v);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw parseFailed(`json: cannot unmarshal ${typeof v} into Go struct field .${name} of type uint64`);
  return v;
}

function flags(o: JsonObject): bigint {
  const v = field(o, "Flags");
  if (v === undefined) return 0n;
  if (typeof v === "bigint" && v >= 0n && v <= MAX_UINT64) return v;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return BigInt(v);
  throw parseFailed(`json: cannot unmarshal ${typeof v} into Go struct field KVTxnOp.Flags of type uint64`);
}

function value(o: JsonObject): Buffer {
  const v = field(o, "Value");
  if (v === undefined) return Buffer.alloc(0);
  if (typeof v !== "string") throw parseFailed(`json: cannot unmarshal ${typeof v} into Go struct field KVTxnOp.Value of type []uint8`);
  if (!BASE64.test(v)) throw parseFailed("illegal base64 data at input byte 0");
  return Buffer.from(v, "base64");
}

function decodeKv(ctx: Pick<HttpContext, "settings">, o: JsonObject): TxnOp {
  const key = str(o, "Key");
  const v = value(o);
  const max = ctx.settings.kvMaxValueSizeBytes;
  if (v.length > max) throw tooLarge(`Value for key "${key}" is too large (${v.length} > ${max} bytes)`);
  return { Kind: "kv", Verb: str(o, "Verb"), Key: key, Value: v, Flags: flags(o), Index: uint(o, "Index"), Session: str(o, "Session") };
}

function decodeNode(ctx: Pick<HttpContext, "settings">, o: JsonObject): TxnOp {
  const n = obj(o, "Node") ?? {};
  const node: NodeFields = {
    ID: str(n, "ID"),
    Node: str(n, "Node"),
    Address: str(n, "Address"),
    Datacenter: str(n, "Datacenter") || ctx.settings.datacenter,
    TaggedAddresses: strMap(n, "TaggedAddresses") ?? null,
    Meta: strMap(n, "Meta") ?? null,
  };
  return { Kind: "node", Verb: str(o, "Verb"), Node: node, ModifyIndex: uint(n, "ModifyIndex") };
}

function decodeWeights(s: JsonObject): ServiceFields["Weights"] {
  const w = obj(s, "Weights");
  const passing = w ? int(w, "Passing") : 0;
  // Missing or invalid weights are stored as {1, 1}, as the txn endpoint does.
  return passing > 0 && w ? { Passing: passing, Warning: int(w, "Warning") } : { Passing: 1, Warning: 1 };
}

function decodeService(o: JsonObject): TxnOp {
  const s = obj(o, "Service") ?? {};
  const proxy = obj(s, "Proxy") ?? {};
  const service: ServiceFields = {
    ID: str(s, "ID"),
    Service: str(s, "Service"),
    Tags: strList(s, "Tags") ?? [],
    Address: str(s, "Address"),
    Meta: strMap(s, "Meta") ?? null,
    Port: int(s, "Port"),
    Weights: decodeWeights(s),
    EnableTagOverride: bool(s, "EnableTagOverride"),
    Proxy: { ...proxy, MeshGateway: isObject(proxy.MeshGateway) ? proxy.MeshGateway : {}, Expose: isObject(proxy.Expose) ? proxy.Expose : {} },
    Connect: {},
    PeerName: "",
  };
  const kind = str(s, "Kind");
  if (kind !== "") service.Kind = kind;
  if (service.ID === "") service.ID = service.Service;
  return { Kind: "service", Verb: str(o, "Verb"), Node: str(o, "Node"), Service: service, ModifyIndex: uint(s, "ModifyIndex") };
}

function decodeCheck(o: JsonObject): TxnOp {
  const c = obj(o, "Check") ?? {};
  const status = str(c, "Status") || "critical";
  if (!isCheckStatus(status)) throw parseFailed(`invalid check status "${status}"`);
  const definition = obj(c, "Definition") ?? {};
  const check: CheckFields = {
    Node: str(c, "Node"),
    CheckID: str(c, "CheckID"),
    Name: str(c, "Name"),
    Status: status,
    Notes: str(c, "Notes"),
    Output: str(c, "Output"),
    ServiceID: str(c, "ServiceID"),
    ServiceName: str(c, "ServiceName"),
    ServiceTags: strList(c, "ServiceTags") ?? [],
    Type: str(c, "Type"),
    Interval: typeof definition.Interval === "string" ? definition.Interval : "",
    Timeout: typeof definition.Timeout === "string" ? definition.Timeout : "",
    ExposedPort: int(c, "ExposedPort"),
    Definition: definition,
  };
  return { Kind: "check", Verb: str(o, "Verb"), Check: check, ModifyIndex: uint(c, "ModifyIndex") };
}

/** Bodies at least this large are parsed in slices (decodeTxnOps). */
const LARGE_TXN_BODY_BYTES = 64 * 1024;

/**
 * Decodes the body into operations, enforcing Consul's request limits (§1). A large body is
 * parsed in slices of a few ms (issue 12 item 6: whole, a 512 KiB body held the loop 6–12 ms).
 */
export async function decodeTxnOps(ctx: HttpContext, body: Buffer | undefined, contentLength: number | undefined): Promise<TxnOp[]> {
  const max = txnMaxBytes(ctx.settings);
  if (contentLength !== undefined && contentLength > max) throw txnTooLarge(contentLength, max, true);
  const bytes = body ?? Buffer.alloc(0);
  if (bytes.length > max) throw txnTooLarge(bytes.length, max, false);
  const text = bytes.toString("utf8");
  if (text.trim() === "") throw parseFailed("EOF");
  if (bytes.length >= LARGE_TXN_BODY_BYTES) {
    const sliced = await runSliced(parseJsonInSlices(text, { maxDepth: MAX_JSON_NESTING_DEPTH, parseLongIntegers: parseJsonWithBigInts }));
    // Refused text is parsed whole below, for the error.
    if (!sliced.failed) return runSliced(txnOpsInSteps(ctx, sliced.value));
  }
  const tooDeep = findJsonTooDeep(text);
  if (tooDeep) throw parseFailed(jsonTooDeepMessage(tooDeep));
  let raw: unknown;
  try {
    raw = parseJsonWithBigInts(text);
  } catch (e) {
    throw parseFailed(e instanceof Error ? e.message : String(e));
  }
  return runWhole(txnOpsInSteps(ctx, raw));
}

/** Value text (base64) decoded between pauses: its check and decode cost ~5 ms per 512 KiB. */
export const TXN_VALUE_CHARS_PER_STEP = 32 * 1024;
/** Operations decoded between pauses, whatever their size. */
export const TXN_OPS_PER_STEP = 16;

/**
 * The operations of a parsed body, pausing every TXN_OPS_PER_STEP operations or after
 * TXN_VALUE_CHARS_PER_STEP characters of values (issue 12 item 6: a body at the cap is 512 KiB
 * of base64, whose check and decode in one go held the loop ~3 ms, up to 10 under load).
 */
export function* txnOpsInSteps(ctx: Pick<HttpContext, "settings">, raw: unknown): SlicedWork<TxnOp[]> {
  if (!Array.isArray(raw)) throw parseFailed(`json: cannot unmarshal ${raw === null ? "null" : typeof raw} into Go value of type api.TxnOps`);
  if (raw.length > MAX_TXN_OPS) throw tooLarge(`Transaction contains too many operations (${raw.length} > ${MAX_TXN_OPS})`);
  const ops: TxnOp[] = [];
  let valueChars = 0;
  let opsInStep = 0;
  for (const element of raw) {
    if (valueChars >= TXN_VALUE_CHARS_PER_STEP || opsInStep >= TXN_OPS_PER_STEP) {
      valueChars = 0;
      opsInStep = 0;
      yield;
    }
    opsInStep++;
    if (!isObject(element)) throw parseFailed(`json: cannot unmarshal ${typeof element} into Go value of type api.TxnOp`);
    try {
      const kv = obj(element, "KV");
      const node = obj(element, "Node");
      const service = obj(element, "Service");
      const check = obj(element, "Check");
      // An element without a recognised member is skipped, as upstream.
      if (kv) {
        const v = field(kv, "Value");
        if (typeof v === "string") valueChars += v.length;
        ops.push(decodeKv(ctx, kv));
      }
      else if (node) ops.push(decodeNode(ctx, node));
      else if (service) ops.push(decodeService(service));
      else if (check) ops.push(decodeCheck(check));
    } catch (e) {
      if (e instanceof ConsulError && e.code === "DecodeFailed") throw parseFailed(e.message.replace(/^Request decode failed: /, ""));
      throw e;
    }
  }
  return ops;
}

function resultView(r: TxnResult): Record<string, unknown> {
  if ("KV" in r) return { KV: kvEntryView(r.KV) };
  if ("Node" in r) return { Node: nodeView(r.Node) };
  if ("Service" in r) return { Service: nodeServiceView(r.Service) };
  return { Check: healthCheckView(r.Check) };
}

function isOutcome(v: unknown): v is TxnOutcome {
  return isObject(v) && "Results" in v && "Errors" in v;
}

function outcomeReply(outcome: TxnOutcome, headers?: Record<string, string>) {
  if (outcome.Errors) return json({ Results: null, Errors: outcome.Errors }, 409, headers);
  return json({ Results: outcome.Results ? outcome.Results.map(resultView) : null, Errors: null }, 200, headers);
}

const txn: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const lengthHeader = req.headers["content-length"];
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
  const ops = await decodeTxnOps(ctx, req.body, Number.isFinite(contentLength) ? contentLength : undefined);
  const authz = requestAuthorizer(ctx, req);
  const denied = txnAclErrors(authz, ops);
  if (denied.length > 0) return outcomeReply({ Results: null, Errors: denied });
  if (isReadOnlyTxn(ops)) {
    // Served like a read: consistency honoured, leader headers, no index and no blocking.
    await awaitLeaderUnlessStale(ctx, opts);
    const outcome = readTxn(ctx.state, ops, ctx.clock.now());
    if (outcome.Results) outcome.Results = filterTxnResults(authz, outcome.Results);
    return outcomeReply(outcome, {
      "X-Consul-KnownLeader": ctx.consensus.leaderAddress() !== "" ? "true" : "false",
      "X-Consul-LastContact": String(Math.max(0, Math.floor(ctx.consensus.lastContactMs()))),
    });
  }
  const startedMs = ctx.clock.monotonicMs();
  const { result } = await ctx.consensus.propose({ Type: "txn", Ops: ops, NowMs: ctx.clock.now() });
  ctx.metrics.measureSince(METRIC_NAMES.txnApply, startedMs);
  if (!result.ok) throw errors.internal(result.error);
  if (!isOutcome(result.value)) throw errors.internal("txn: unexpected apply result");
  const outcome = result.value;
  return outcomeReply(outcome.Results ? { ...outcome, Results: filterTxnResults(authz, outcome.Results) } : outcome);
};

export const txnHandlers = { txn } satisfies Record<string, Handler>;
