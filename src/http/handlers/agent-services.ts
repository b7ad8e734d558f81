import { runSliced } from "../../runtime/sliced-work.ts";
import { encodedIdMapInSteps } from "./id-map-in-steps.ts";
import { wantsPretty } from "./catalog-query.ts";
import { scheduledBody } from "../scheduled-body.ts";
import { decodeCheckDefinition } from "../../agent/check-definition.ts";
import { CHECK_REGISTRATION_SHAPE, CHECK_UPDATE_SHAPE, refuseUnknownKeys, refuseUnknownKeysSteps, SERVICE_REGISTRATION_SHAPE } from "../../agent/registration-keys.ts";
import { decodeServiceDefinitionSteps, validateCheckRegistration, validateServiceDefinition } from "../../agent/service-definition.ts";
import { errors } from "../../errors/catalog.ts";
import { agentCheckSchema, agentServiceSchema } from "../../filter/endpoint-schemas.ts";
import { compileFilter, FilterError, type FilterPredicate, type FilterSchema } from "../../filter/filter.ts";
import type { CheckFields, ServiceFields } from "../../fsm/command.ts";
import { isCheckStatus, type CheckStatus } from "../../model/catalog.ts";
import { isObject, parseJsonBodyInTurns, str, type JsonObject } from "../../decode/json-body.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import { checkEnterpriseParams, first, has, parseGoBool, requestToken } from "../query.ts";
import { queryOptions } from "../read.ts";
import { empty, json } from "../reply.ts";
import { agentCheckView, agentHealthCheckView } from "../views/agent-check.ts";
import { agentServiceView, serviceContentHash, type AgentServiceJson } from "../views/agent-service.ts";
import { aggregatedStatus } from "../../model/health-status.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { canSeeLocalCheck, canSeeLocalService, vetCheckWrite, vetServiceRegister } from "./acl-agent.ts";

// /v1/agent/service*, /v1/agent/check*, /v1/agent/health/service/*: spec/agent.md §7, §8, §10.
// Answers come from the agent's local state (no X-Consul-Index); writes change local state and
// return once anti-entropy has pushed them to the catalog (or failed to, and will retry).

function enterpriseParams(req: ApiRequest): void {
  checkEnterpriseParams(req.query, req.headers);
}

/** The body as an object; one near the 512 KiB cap is parsed in slices (issue 12 item 6). */
async function objectBody(req: ApiRequest, goType: string): Promise<JsonObject> {
  const body = await parseJsonBodyInTurns(req.body);
  if (!isObject(body)) {
    const kind = Array.isArray(body) ? "array" : body === null ? "null" : typeof body;
    throw errors.decodeFailed(`json: cannot unmarshal ${kind} into Go value of type ${goType}`);
  }
  return body;
}

function compile(req: ApiRequest, schema: FilterSchema): FilterPredicate {
  try {
    return compileFilter(first(req.query, "filter") ?? "", { schema });
  } catch (e) {
    if (e instanceof FilterError) throw errors.invalidFilter(e.message);
    throw e;
  }
}

/** Builds the ID → item map Consul returns (Go sorts map keys when encoding). */
function filteredMap<T>(items: [string, T][], keep: FilterPredicate): Record<string, T> {
  const out: Record<string, T> = {};
  try {
    for (const [id, item] of items.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (keep(item)) out[id] = item;
  } catch (e) {
    if (e instanceof FilterError) throw errors.invalidFilter(e.message);
    throw e;
  }
  return out;
}

const services: Handler = (ctx, req) => {
  enterpriseParams(req);
  const keep = compile(req, agentServiceSchema);
  const dc = ctx.settings.datacenter;
  const authz = requestAuthorizer(ctx, req);
  const visible = ctx.agent.localServices().filter((s) => canSeeLocalService(authz, s));
  return json(filteredMap(visible.map((s): [string, AgentServiceJson] => [s.ID, agentServiceView(s, dc)]), keep));
};

function hashedService(ctx: HttpContext, id: string): { view: AgentServiceJson; hash: string } {
  const s = ctx.agent.localState.service(id);
  if (!s) throw errors.notFound(`unknown service ID: ${id}`);
  const hash = serviceContentHash(agentServiceView(s, ctx.settings.datacenter));
  return { view: agentServiceView(s, ctx.settings.datacenter, hash), hash };
}

/** Resolves when the service changes or after `ms`, whichever comes first. */
function serviceChangeOrTimeout(ctx: HttpContext, id: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      unsubscribe();
      timer.cancel();
      resolve();
    };
    const unsubscribe = ctx.agent.localState.watch(id, done);
    const timer = ctx.clock.setTimer(ms, done);
  });
}

/** Hash blocking (http-core §8): with ?hash equal to the current hash, wait for a change. */
const service: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const id = req.suffix;
  const opts = queryOptions(ctx, req);
  const wanted = first(req.query, "hash") ?? "";
  let current = hashedService(ctx, id);
  requestAuthorizer(ctx, req).require("service:read", current.view.Service);
  if (wanted !== "" && current.hash === wanted) {
    const deadline = ctx.clock.monotonicMs() + opts.waitMs;
    while (current.hash === wanted) {
      const remaining = deadline - ctx.clock.monotonicMs();
      if (remaining <= 0) break;
      await serviceChangeOrTimeout(ctx, id, remaining);
      current = hashedService(ctx, id);
    }
  }
  return json(current.view, 200, { "X-Consul-ContentHash": current.hash });
};

const serviceRegister: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const body = await objectBody(req, "structs.ServiceDefinition");
  // In slices: a body near the cap holds ~5,000 checks (issue 12 item 6).
  await runSliced(refuseUnknownKeysSteps(body, SERVICE_REGISTRATION_SHAPE));
  const def = await runSliced(decodeServiceDefinitionSteps(body));
  validateServiceDefinition(def);
  vetServiceRegister(requestAuthorizer(ctx, req), def, ctx.agent.localState.service(def.id || def.name));
  const raw = first(req.query, "replace-existing-checks");
  const replaceExistingChecks = has(req.query, "replace-existing-checks") && (raw === "" || raw === "true");
  // The registration keeps the token it came with: anti-entropy syncs it under that token (agent/sync-token.ts).
  await ctx.agent.addService(def, { replaceExistingChecks, source: "api" }, def.token || requestToken(req.query, req.headers));
  return empty();
};

const serviceDeregister: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const id = req.suffix;
  const existing = ctx.agent.localState.service(id);
  if (existing) requestAuthorizer(ctx, req).require("service:write", existing.Service);
  if (!(await ctx.agent.removeService(id))) throw errors.unknownServiceId(id);
  return empty();
};

/** `enable` is required and parsed with Go's ParseBool (http-core §4). */
function enableParam(req: ApiRequest): boolean {
  if (!has(req.query, "enable")) throw errors.badRequest("Missing value for enable");
  const raw = first(req.query, "enable") ?? "";
  const enable = parseGoBool(raw);
  if (enable === undefined) throw errors.badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  return enable;
}

const serviceMaintenance: Handler = async (ctx, req) => {
  const id = req.suffix;
  if (id === "") throw errors.badRequest("Missing service ID");
  const enable = enableParam(req);
  enterpriseParams(req);
  const target = ctx.agent.localState.service(id);
  if (target) requestAuthorizer(ctx, req).require("service:write", target.Service);
  const ok = enable
    ? await ctx.agent.enableServiceMaintenance(id, first(req.query, "reason") ?? "")
    : await ctx.agent.disableServiceMaintenance(id);
  if (!ok) throw errors.unknownServiceId(id);
  return empty();
};

// ---- local service health (§7.7) ----

const STATUS_CODE: Record<string, number> = { passing: 200, warning: 429 };

interface ServiceHealth {
  code: number;
  status: string;
  info: { AggregatedStatus: string; Service: AgentServiceJson; Checks: Record<string, unknown>[] };
}

function serviceHealth(ctx: HttpContext, s: ServiceFields): ServiceHealth {
  const checks = ctx.agent.localState
    .checksForService(s.ID, true)
    .sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0));
  const status = aggregatedStatus(checks);
  return {
    code: STATUS_CODE[status] ?? 503,
    status,
    info: { AggregatedStatus: status, Service: agentServiceView(s, ctx.settings.datacenter), Checks: checks.map(agentHealthCheckView) },
  };
}

function wantsText(req: ApiRequest): boolean {
  const accept = req.headers.accept;
  if ((Array.isArray(accept) ? accept[0] : accept)?.startsWith("text/plain")) return true;
  const format = first(req.query, "format") ?? "";
  return format !== "" && format === "text";
}

function healthReply(req: ApiRequest, code: number, reason: string, value: unknown): Reply {
  const headers = { "X-Consul-Reason": reason };
  if (wantsText(req)) return { kind: "text", status: code, body: reason, contentType: "text/plain", headers };
  return json(value, code, headers);
}

const healthServiceById: Handler = (ctx, req) => {
  const id = req.suffix;
  if (id === "") throw errors.badRequest("Missing serviceID");
  enterpriseParams(req);
  const s = ctx.agent.localState.service(id);
  if (!s) {
    return healthReply(req, 404, `ServiceId ${id} not found`, { AggregatedStatus: "critical", Service: null, Checks: null });
  }
  requestAuthorizer(ctx, req).require("service:read", s.Service);
  const h = serviceHealth(ctx, s);
  return healthReply(req, h.code, h.status, h.info);
};

const healthServiceByName: Handler = (ctx, req) => {
  const name = req.suffix;
  if (name === "") throw errors.badRequest("Missing service Name");
  enterpriseParams(req);
  requestAuthorizer(ctx, req).require("service:read", name);
  let code = 404;
  let status = `ServiceName ${name} Not Found`;
  const result: ServiceHealth["info"][] = [];
  for (const s of ctx.agent.localServices().filter((x) => x.Service === name)) {
    const h = serviceHealth(ctx, s);
    result.push(h.info);
    // Worst wins: passing 200 < warning 429 < critical 503.
    if (code === 404 || code < h.code) {
      code = h.code;
      status = h.status;
    }
  }
  return healthReply(req, code, status, result);
};

// ---- checks (§8) ----

const checks: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const keep = compile(req, agentCheckSchema);
  const authz = requestAuthorizer(ctx, req);
  const nodeName = ctx.settings.nodeName;
  const rows = ctx.agent.localChecks();
  const pretty = wantsPretty(ctx, req.query);
  const view = (c: CheckFields): unknown => {
    if (!canSeeLocalCheck(authz, nodeName, c)) return undefined;
    const v = agentCheckView(c);
    try {
      return keep(v) ? v : undefined;
    } catch (e) {
      if (e instanceof FilterError) throw errors.invalidFilter(e.message);
      throw e;
    }
  };
  // In steps: a registration at the body cap holds ~5,000 checks (issue 12 item 6).
  const pieces = await runSliced(encodedIdMapInSteps(rows, (c) => c.CheckID, view, pretty));
  if (pieces.length === 1) return { kind: "json", status: 200, value: null, encoded: pieces[0] };
  // A large listing goes to the socket a piece per scheduler step, not in one write.
  let length = 0;
  for (const p of pieces) length += p.byteLength;
  return { kind: "stream", status: 200, contentType: "application/json", body: scheduledBody(pieces.map((p) => [p])[Symbol.iterator]()), headers: { "Content-Length": String(length) } };
};

const checkRegister: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const body = await objectBody(req, "structs.CheckDefinition");
  refuseUnknownKeys(body, CHECK_REGISTRATION_SHAPE);
  const def = decodeCheckDefinition(body);
  validateCheckRegistration(def);
  const owner = def.serviceId ? ctx.agent.localState.service(def.serviceId) : undefined;
  vetCheckWrite(requestAuthorizer(ctx, req), ctx.settings.nodeName, def.serviceId ? (owner?.Service ?? def.serviceId) : undefined);
  await ctx.agent.addCheck(def, "api", def.token || requestToken(req.query, req.headers));
  return empty();
};

const checkDeregister: Handler = async (ctx, req) => {
  enterpriseParams(req);
  const id = req.suffix;
  vetLocalCheck(ctx, req, id);
  if (!(await ctx.agent.removeCheck(id))) throw errors.unknownCheckId(id);
  return empty();
};

/** Changing a local check needs write on what it belongs to (unknown checks fail later, as before). */
function vetLocalCheck(ctx: HttpContext, req: ApiRequest, id: string): void {
  const check = ctx.agent.localState.check(id);
  if (check) vetCheckWrite(requestAuthorizer(ctx, req), ctx.settings.nodeName, check.ServiceID ? check.ServiceName : undefined);
}

function ttlHandler(status: CheckStatus): Handler {
  return async (ctx, req) => {
    enterpriseParams(req);
    vetLocalCheck(ctx, req, req.suffix);
    await ctx.agent.updateTtlCheck(req.suffix, status, first(req.query, "note") ?? "");
    return empty();
  };
}

const checkUpdate: Handler = async (ctx, req) => {
  const body = await objectBody(req, "agent.checkUpdate");
  refuseUnknownKeys(body, CHECK_UPDATE_SHAPE);
  const status = str(body, "Status");
  if (!isCheckStatus(status)) throw errors.badRequest(`Invalid check status: '${status}'`);
  enterpriseParams(req);
  vetLocalCheck(ctx, req, req.suffix);
  await ctx.agent.updateTtlCheck(req.suffix, status, str(body, "Output"));
  return empty();
};

export const agentServiceHandlers = {
  services,
  serviceRegister,
  serviceDeregister,
  serviceMaintenance,
  service,
  healthServiceByName,
  healthServiceById,
  checks,
  checkRegister,
  checkDeregister,
  checkPass: ttlHandler("passing"),
  checkWarn: ttlHandler("warning"),
  checkFail: ttlHandler("critical"),
  checkUpdate,
} satisfies Record<string, Handler>;
