import { debugConfig } from "../../agent/debug-config.ts";
import { agentStats, BUILD_INFO, hostInfo, lanMember, ORIGIN_COORDINATE, readSelfConfig, type LocalStateCounts } from "../../agent/self-info.ts";
import { JoinFailedError } from "../../agent/membership.ts";
import { WAN_FEDERATION_DISABLED } from "../../agent/wan-membership.ts";
import { errors } from "../../errors/catalog.ts";
import { endpointSchemas } from "../../filter/endpoint-schemas.ts";
import { compileFilter, FilterError } from "../../filter/filter.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import { checkEnterpriseParams, first, has, parseGoBool } from "../query.ts";
import { empty, json, text } from "../reply.ts";
import { agentSelfView } from "../views/agent-self.ts";
import { memberView } from "../views/member.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { agentToken } from "./acl-agent-token.ts";
import type { LocalMember } from "../../model/members.ts";

// Agent operations: spec/agent.md §1–§6 and §10 (node maintenance). These answer from the
// local agent and its gossip pool, not from Raft: no X-Consul-Index or consistency headers.

/** consul's api.AllSegments: `?segment=_all` lists every segment's members. */
const ALL_SEGMENTS = "_all";

function localCounts(ctx: HttpContext): LocalStateCounts {
  const checks = ctx.agent.localChecks();
  return {
    services: ctx.agent.localServices().length,
    checks: checks.length,
    checkMonitors: checks.filter((c) => c.Type === "script").length,
    checkTtls: checks.filter((c) => c.Type === "ttl").length,
  };
}

const self: Handler = (ctx, req) => {
  requestAuthorizer(ctx, req).require("agent:read", ctx.agent.identity.nodeName);
  const identity = ctx.agent.identity;
  const cfg = readSelfConfig(identity, ctx.runtimeConfig);
  const ownCoordinate = ctx.state.coordinates.get(identity.nodeName);
  return json(
    agentSelfView({
      Config: {
        Datacenter: identity.datacenter,
        PrimaryDatacenter: cfg.primaryDatacenter,
        NodeName: identity.nodeName,
        NodeID: identity.nodeId,
        Revision: BUILD_INFO.revision,
        Server: identity.server,
        Version: identity.version,
        BuildDate: BUILD_INFO.buildDate,
      },
      DebugConfig: debugConfig(ctx.runtimeConfig),
      Coord: cfg.disableCoordinates ? null : (ctx.membership.coordinate?.() ?? ownCoordinate?.Coord ?? ORIGIN_COORDINATE),
      Member: memberView(ctx.membership.members().find((m) => m.name === identity.nodeName) ?? lanMember(identity, cfg)),
      Stats: agentStats(identity, {
        consensus: ctx.consensus,
        cfg,
        counts: localCounts(ctx),
        lan: { members: ctx.membership.members(), servers: ctx.membership.servers().length },
        wan: ctx.wanMembership ? { members: ctx.wanMembership.members() } : undefined,
      }),
      Meta: { "consul-network-segment": "", "consul-version": identity.version, ...identity.nodeMeta },
    }),
  );
};

function filterMembers(members: LocalMember[], expression: string): LocalMember[] {
  if (expression === "") return members;
  try {
    const matches = compileFilter(expression, { schema: endpointSchemas.member });
    return members.filter((m) => matches(memberView(m)));
  } catch (e) {
    if (e instanceof FilterError) throw errors.invalidFilter(e.message);
    throw e;
  }
}

const members: Handler = (ctx, req) => {
  checkEnterpriseParams(req.query, req.headers);
  const wan = (first(req.query, "wan") ?? "") !== "";
  const segment = first(req.query, "segment") ?? "";
  if (wan && segment !== "" && segment !== ALL_SEGMENTS) throw errors.badRequest("Cannot provide a segment with wan=true");
  // Community edition: the only LAN segment is the default one.
  if (!wan && segment !== "" && segment !== ALL_SEGMENTS) throw errors.internal("Network segments are not supported in this version of Consul");
  const pool = wan ? ctx.wanMembership : ctx.membership;
  // Consul answers a nil member list (JSON null) when there is no WAN pool: a client, or serf_wan = -1.
  if (!pool) return json(null);
  // Members whose node the token may not read are left out.
  const authz = requestAuthorizer(ctx, req);
  const visible = pool.members().filter((m) => authz.allowed("node:read", wan ? m.name.replace(/\.[^.]*$/, "") : m.name));
  return json(filterMembers(visible, first(req.query, "filter") ?? "").map(memberView));
};

const host: Handler = (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:read");
  return json(hostInfo(ctx.clock.now()));
};

const version: Handler = (ctx) =>
  json({ SHA: BUILD_INFO.revision, BuildDate: BUILD_INFO.buildDate, HumanVersion: ctx.agent.identity.version, FIPS: BUILD_INFO.fips });

/** Consul's acceptsOpenMetricsMimeType: `application/openmetrics-text` or `text/plain; version=0.4.0`. */
function acceptsPrometheus(accept: string): boolean {
  return accept.split(",").some((mime) => {
    const [raw = "", param] = mime.split(";");
    const type = raw.trim().toLowerCase();
    return type === "application/openmetrics-text" || (type === "text/plain" && param?.trim() === "version=0.4.0");
  });
}

/**
 * Consul 1.20 refuses Prometheus output without a retention time through its "error with
 * payload" path with no payload, which writes nothing: the client sees 200, an empty body and
 * the reason in X-Consul-Reason (releases before 1.10 answered 415 with the text as body).
 */
const PROMETHEUS_DISABLED_REASON = "Prometheus is not enabled since its retention time is not positive";

const metrics: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("agent:read", ctx.agent.identity.nodeName);
  const accept = req.headers.accept ?? "";
  if (first(req.query, "format") === "prometheus" || acceptsPrometheus(accept)) {
    if (!ctx.metrics.prometheusEnabled) return empty(200, { "X-Consul-Reason": PROMETHEUS_DISABLED_REASON });
    return text(await ctx.metrics.prometheusText(), 200, { "Content-Type": ctx.metrics.prometheusContentType });
  }
  return json(ctx.metrics.summary());
};

const reload: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("agent:write", ctx.agent.identity.nodeName);
  try {
    await ctx.agent.lifecycle.reload();
  } catch (e) {
    throw errors.internal(e instanceof Error ? e.message : String(e));
  }
  return empty();
};

/**
 * The reply must reach the client before the agent shuts its listener down, so the leave runs
 * on a timer: by then the handler's reply has been written to the socket.
 */
const LEAVE_AFTER_REPLY_MS = 10;

const leave: Handler = (ctx, req) => {
  requestAuthorizer(ctx, req).require("agent:write", ctx.agent.identity.nodeName);
  ctx.clock.setTimer(LEAVE_AFTER_REPLY_MS, () => {
    ctx.agent.lifecycle.leave().catch((e: unknown) => {
      ctx.logger.error("agent: leave failed", { error: e instanceof Error ? e.message : String(e) });
    });
  });
  return empty();
};

const maintenance: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("node:write", ctx.agent.identity.nodeName);
  if (!has(req.query, "enable")) throw errors.badRequest("Missing value for enable");
  const raw = first(req.query, "enable") ?? "";
  const enable = parseGoBool(raw);
  if (enable === undefined) throw errors.badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  if (enable) await ctx.agent.enableNodeMaintenance(first(req.query, "reason") ?? "");
  else await ctx.agent.disableNodeMaintenance();
  return empty();
};

const join: Handler = async (ctx, req) => {
  checkEnterpriseParams(req.query, req.headers);
  requestAuthorizer(ctx, req).require("agent:write", ctx.agent.identity.nodeName);
  const identity = ctx.agent.identity;
  const wan = (first(req.query, "wan") ?? "") !== "";
  if (wan && !identity.server) throw errors.internal("Must be a server to join WAN cluster");
  const log = ctx.logger.named("agent");
  const pool = wan ? ctx.wanMembership : ctx.membership;
  const label = wan ? "WAN" : "LAN";
  log.info(`(${label}) joining`, { [`${label.toLowerCase()}_addresses`]: `[${req.suffix}]` });
  if (!pool) {
    log.warn(`(${label}) couldn't join`, { number_of_nodes: 0, error: WAN_FEDERATION_DISABLED });
    throw errors.internal(WAN_FEDERATION_DISABLED);
  }
  try {
    const n = await pool.join([req.suffix]);
    log.info(`(${label}) joined`, { number_of_nodes: n });
  } catch (e) {
    if (!(e instanceof JoinFailedError)) throw e;
    log.warn(`(${label}) couldn't join`, { number_of_nodes: 0, error: e.message.trim() });
    throw errors.internal(e.message);
  }
  return empty();
};

const forceLeave: Handler = (ctx, req: ApiRequest): Reply => {
  checkEnterpriseParams(req.query, req.headers);
  requestAuthorizer(ctx, req).require("operator:write");
  const identity = ctx.agent.identity;
  const node = req.suffix;
  const prune = has(req.query, "prune");
  if (has(req.query, "wan")) {
    // The WAN name is taken as given (`<node>.<dc>`), and an unknown one is no error (serf's
    // leave intent for a name it does not know).
    if (!identity.server) throw errors.internal("Must be a server to force-leave a node from the WAN cluster");
    if (!ctx.wanMembership) throw errors.internal(WAN_FEDERATION_DISABLED);
    ctx.wanMembership.forceLeave(node, prune);
    return empty();
  }
  // A server removes the node from both pools; the WAN pool knows it as `<node>.<dc>`.
  const wanName = node.endsWith(`.${identity.datacenter}`) ? node : `${node}.${identity.datacenter}`;
  const inLan = ctx.membership.forceLeave(node, prune);
  const inWan = ctx.wanMembership?.forceLeave(wanName, prune) ?? false;
  if (inLan || inWan) return empty();
  throw errors.internal(`agent: No node found with name '${node}'`);
};

/** PUT /v1/agent/token/<name>: 401 while ACLs are disabled (acl-agent-token.ts). */
const token: Handler = agentToken;

export const agentOpsHandlers = {
  self,
  members,
  host,
  version,
  metrics,
  reload,
  maintenance,
  join,
  leave,
  forceLeave,
  token,
} satisfies Record<string, Handler>;
