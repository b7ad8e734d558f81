import { errors } from "../../errors/catalog.ts";
import type { SessionCreateCommand } from "../../fsm/command.ts";
import { SERF_HEALTH_CHECK_ID } from "../../model/catalog.ts";
import { formatGoDuration, parseGoDuration } from "../../model/duration.ts";
import { SESSION_BEHAVIORS, type Session, type SessionBehavior } from "../../model/session.ts";
import { isObject, parseJsonBodyInTurns, str, type JsonObject } from "../../decode/json-body.ts";
import type { ApiRequest, Handler, HttpContext } from "../context.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";

// /v1/session/*: spec/session.md.

const DEFAULT_LOCK_DELAY_NS = 15e9;
/** Go clients send small LockDelay numbers meaning seconds (Consul's lockDelayMinThreshold). */
const LOCK_DELAY_SECONDS_BELOW = 1000;
const SESSION_TTL_MIN_MS = 10_000;
const SESSION_TTL_MAX_MS = 24 * 3_600_000;

type ServiceCheckRef = NonNullable<Session["ServiceChecks"]>[number];

/** A session as Consul renders it (§2), in its field order. */
export function sessionView(s: Session): Record<string, unknown> {
  return {
    ID: s.ID,
    Name: s.Name,
    Node: s.Node,
    LockDelay: s.LockDelay,
    Behavior: s.Behavior,
    TTL: s.TTL,
    NodeChecks: s.NodeChecks,
    ServiceChecks: s.ServiceChecks,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

/**
 * The session ID of a lookup. Consul 1.20 indexes sessions by their ID as a plain string, so an
 * ID that is not UUID-shaped is just an unknown session (info → [], renew → 404, destroy → true).
 */
function sessionIdFrom(req: ApiRequest): string {
  const id = req.suffix;
  if (id === "") throw errors.badRequest("Missing session");
  return id;
}

/** Key lookup like body.ts `field`, but telling "absent" from "present as null". */
function presentField(o: JsonObject, name: string): { present: boolean; value: unknown } {
  if (name in o) return { present: true, value: o[name] };
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return { present: true, value: o[k] };
  return { present: false, value: undefined };
}

function stringList(o: JsonObject, name: string): string[] | undefined {
  const { present, value } = presentField(o, name);
  if (!present) return undefined;
  if (value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw errors.decodeFailed(`json: cannot unmarshal ${Array.isArray(value) ? "array" : typeof value} into Go struct field SessionRequest.${name} of type []string`);
  }
  return value as string[];
}

function serviceChecks(o: JsonObject): ServiceCheckRef[] {
  const { value } = presentField(o, "ServiceChecks");
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw errors.decodeFailed("json: cannot unmarshal object into Go struct field Session.ServiceChecks of type []structs.ServiceCheck");
  return value.map((v) => {
    if (!isObject(v)) throw errors.decodeFailed("json: cannot unmarshal value into Go struct field Session.ServiceChecks of type structs.ServiceCheck");
    return { ID: str(v, "ID"), Namespace: str(v, "Namespace") };
  });
}

/** LockDelay in nanoseconds: a Go duration or a number of ns, small values meaning seconds. */
export function parseLockDelayNs(value: unknown): number {
  let ns: number;
  if (value === undefined || value === null) return DEFAULT_LOCK_DELAY_NS;
  if (typeof value === "number") ns = value;
  else if (typeof value === "string") {
    try {
      ns = Math.round(parseGoDuration(value) * 1e6);
    } catch (e) {
      throw errors.decodeFailed(e instanceof Error ? e.message : String(e));
    }
  } else throw errors.decodeFailed(`json: cannot unmarshal ${typeof value} into Go struct field Session.LockDelay of type time.Duration`);
  if (ns < LOCK_DELAY_SECONDS_BELOW) ns *= 1e9;
  return ns;
}

/** The §3 default-check rule: which node checks a new session is bound to. */
export function resolveNodeChecks(checks: string[] | undefined, nodeChecks: string[] | undefined): string[] {
  const effectiveChecks = checks ?? [SERF_HEALTH_CHECK_ID];
  const effectiveNodeChecks = nodeChecks ?? [SERF_HEALTH_CHECK_ID];
  if (effectiveChecks.length === 0) return [];
  if (effectiveChecks.length === 1 && effectiveChecks[0] === SERF_HEALTH_CHECK_ID) return effectiveNodeChecks;
  if (nodeChecks !== undefined && nodeChecks.length === 0) return [];
  return [...new Set([...effectiveNodeChecks, ...effectiveChecks])];
}

function validateTtl(ttl: string): void {
  if (ttl === "") return;
  let ms: number;
  try {
    ms = parseGoDuration(ttl);
  } catch (e) {
    throw errors.internal(`Session TTL '${ttl}' invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (ms !== 0 && (ms < SESSION_TTL_MIN_MS || ms > SESSION_TTL_MAX_MS)) {
    throw errors.internal(
      `Invalid Session TTL '${Math.round(ms * 1e6)}', must be between [${formatGoDuration(SESSION_TTL_MIN_MS)}=${formatGoDuration(SESSION_TTL_MAX_MS)}]`,
    );
  }
}

export async function decodeSessionCreate(ctx: HttpContext, body: Buffer | undefined): Promise<SessionCreateCommand["Session"]> {
  const raw = await parseJsonBodyInTurns(body, { optional: true });
  if (raw !== undefined && !isObject(raw)) {
    throw errors.decodeFailed(`json: cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into Go value of type structs.Session`);
  }
  const o: JsonObject = raw ?? {};
  const behavior = str(o, "Behavior") || "release";
  if (!(SESSION_BEHAVIORS as readonly string[]).includes(behavior)) throw errors.internal(`Invalid Behavior setting '${behavior}'`);
  const ttl = str(o, "TTL");
  validateTtl(ttl);
  const nodeChecks = resolveNodeChecks(stringList(o, "Checks"), stringList(o, "NodeChecks"));
  const svcChecks = serviceChecks(o);
  return {
    ID: "",
    Name: str(o, "Name"),
    Node: str(o, "Node") || ctx.settings.nodeName,
    LockDelay: parseLockDelayNs(presentField(o, "LockDelay").value),
    Behavior: behavior as SessionBehavior,
    TTL: ttl,
    NodeChecks: nodeChecks.length > 0 ? nodeChecks : null,
    ServiceChecks: svcChecks.length > 0 ? svcChecks : null,
  };
}

const create: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const session = await decodeSessionCreate(ctx, req.body);
  requestAuthorizer(ctx, req).require("session:write", session.Node);
  let id = ctx.rng.uuid();
  while (ctx.state.sessions.get(id)) id = ctx.rng.uuid();
  await write(ctx, { Type: "session-create", Session: { ...session, ID: id } });
  return json({ ID: id });
};

const destroy: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const id = sessionIdFrom(req);
  const existing = ctx.state.sessions.get(id);
  if (existing) requestAuthorizer(ctx, req).require("session:write", existing.Node);
  await write(ctx, { Type: "session-destroy", ID: id, NowMs: ctx.clock.now() });
  return json(true);
};

const info: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const id = sessionIdFrom(req);
  const sessions = ctx.state.sessions;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const s = sessions.get(id, ws);
      return { index: sessions.tableIndex, value: readable(authz, s ? [s] : []) };
    },
    filteredSessions(authz),
  );
};

type SessionAuthorizer = ReturnType<typeof requestAuthorizer>;

/** Sessions are visible with session:read on their node; the rest are left out. */
function readable(authz: SessionAuthorizer, rows: Session[]): { views: Record<string, unknown>[]; removed: boolean } {
  const kept = rows.filter((s) => authz.allowed("session:read", s.Node));
  return { views: kept.map(sessionView), removed: kept.length < rows.length };
}

function filteredSessions(authz: SessionAuthorizer) {
  return ({ views, removed }: { views: Record<string, unknown>[]; removed: boolean }) => json(views, 200, filteredHeaders(authz, removed));
}

const node: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const nodeName = req.suffix;
  if (nodeName === "") throw errors.badRequest("Missing node name");
  const sessions = ctx.state.sessions;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: sessions.tableIndex, value: readable(authz, sessions.listByNode(nodeName, ws)) }),
    filteredSessions(authz),
  );
};

const list: Handler = async (ctx, req) => {
  const opts = queryOptions(ctx, req);
  const sessions = ctx.state.sessions;
  const authz = requestAuthorizer(ctx, req);
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => ({ index: sessions.tableIndex, value: readable(authz, sessions.list(ws)) }),
    filteredSessions(authz),
  );
};

const renew: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const id = sessionIdFrom(req);
  const session = ctx.state.sessions.get(id);
  if (!session) throw errors.notFound(`Session id '${id}' not found`);
  requestAuthorizer(ctx, req).require("session:write", session.Node);
  ctx.sessionTtl?.renew(id);
  return json([sessionView(session)]);
};

export const sessionHandlers = { create, destroy, info, node, list, renew } satisfies Record<string, Handler>;
