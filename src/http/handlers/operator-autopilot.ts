import { errors } from "../../errors/catalog.ts";
import { formatGoDuration, parseDurationField } from "../../model/duration.ts";
import { autopilotConfigFields, type AutopilotConfig, type AutopilotConfigFields } from "../../model/autopilot.ts";
import type { AutopilotServerHealth, AutopilotState } from "../../server/autopilot-health.ts";
import type { AutopilotSetConfigCommand } from "../../fsm/command.ts";
import { isObject, parseJsonBodyInTurns } from "../../decode/json-body.ts";
import type { Handler, HttpContext } from "../context.ts";
import { first, parseUint64 } from "../query.ts";
import { queryOptions, write } from "../read.ts";
import { json } from "../reply.ts";
import { requireLeaderUnlessStale } from "./operator.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/operator/autopilot/*: spec/operator-snapshot-query.md §2. The configuration is Raft
// state (fsm/autopilot.ts); health and state are the autopilot duty's latest judgement
// (server/autopilot.ts), which on a follower answering `?stale` knows only gossip.

function renderConfig(c: AutopilotConfig): Record<string, unknown> {
  return {
    CleanupDeadServers: c.CleanupDeadServers,
    LastContactThreshold: formatGoDuration(c.LastContactThresholdMs),
    MaxTrailingLogs: c.MaxTrailingLogs,
    MinQuorum: c.MinQuorum,
    ServerStabilizationTime: formatGoDuration(c.ServerStabilizationTimeMs),
    RedundancyZoneTag: c.RedundancyZoneTag,
    DisableUpgradeMigration: c.DisableUpgradeMigration,
    UpgradeVersionTag: c.UpgradeVersionTag,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

function autopilotOf(ctx: HttpContext): NonNullable<HttpContext["autopilot"]> {
  if (!ctx.autopilot) throw errors.internal("autopilot is only available on servers");
  return ctx.autopilot;
}

const getConfiguration: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:read");
  await requireLeaderUnlessStale(ctx, req);
  return json(renderConfig(autopilotOf(ctx).configuration()));
};

/** Applies the fields present in a PUT body over `base`; throws a 400 on a malformed field. */
function decodeConfiguration(body: unknown, base: AutopilotConfigFields): AutopilotConfigFields {
  if (!isObject(body)) throw errors.decodeFailed("body is not a JSON object");
  const b = body;
  const next = autopilotConfigFields(base);
  const bool = (name: string): boolean => {
    if (typeof b[name] !== "boolean") throw errors.decodeFailed(`${name} must be a boolean`);
    return b[name];
  };
  const uint = (name: string): number => {
    const v = b[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw errors.decodeFailed(`${name} must be an unsigned integer`);
    return v;
  };
  const str = (name: string): string => {
    if (typeof b[name] !== "string") throw errors.decodeFailed(`${name} must be a string`);
    return b[name];
  };
  const duration = (name: string): number => {
    try {
      return parseDurationField(b[name]);
    } catch (err) {
      throw errors.decodeFailed(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if ("CleanupDeadServers" in b) next.CleanupDeadServers = bool("CleanupDeadServers");
  if ("LastContactThreshold" in b) next.LastContactThresholdMs = duration("LastContactThreshold");
  if ("MaxTrailingLogs" in b) next.MaxTrailingLogs = uint("MaxTrailingLogs");
  if ("MinQuorum" in b) next.MinQuorum = uint("MinQuorum");
  if ("ServerStabilizationTime" in b) next.ServerStabilizationTimeMs = duration("ServerStabilizationTime");
  if ("RedundancyZoneTag" in b) next.RedundancyZoneTag = str("RedundancyZoneTag");
  if ("DisableUpgradeMigration" in b) next.DisableUpgradeMigration = bool("DisableUpgradeMigration");
  if ("UpgradeVersionTag" in b) next.UpgradeVersionTag = str("UpgradeVersionTag");
  return next;
}

const setConfiguration: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:write");
  queryOptions(ctx, req);
  const config = decodeConfiguration(await parseJsonBodyInTurns(req.body), autopilotOf(ctx).configuration());
  const cmd: AutopilotSetConfigCommand = { Type: "autopilot-set-config", Op: "set", Config: config };
  const cas = first(req.query, "cas");
  if (cas !== undefined) {
    const want = parseUint64(cas);
    if (want === undefined) throw errors.badRequest(`Error parsing cas value: strconv.ParseUint: parsing ${JSON.stringify(cas)}: invalid syntax`);
    cmd.Op = "cas";
    cmd.CasIndex = Number(want);
  }
  return json((await write(ctx, cmd)) === true);
};

function stableSince(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function healthServer(s: AutopilotServerHealth): Record<string, unknown> {
  return {
    ID: s.id,
    Name: s.name,
    Address: s.address,
    SerfStatus: s.nodeStatus,
    Version: s.version,
    Leader: s.leader,
    LastContact: formatGoDuration(s.lastContactMs ?? 0),
    LastTerm: s.lastTerm,
    LastIndex: s.lastIndex ?? 0,
    Healthy: s.healthy,
    Voter: s.voter,
    StableSince: stableSince(s.stableSinceMs),
  };
}

function stateServer(s: AutopilotServerHealth): Record<string, unknown> {
  return {
    ID: s.id,
    Name: s.name,
    Address: s.address,
    NodeStatus: s.nodeStatus,
    Version: s.version,
    LastContact: formatGoDuration(s.lastContactMs ?? 0),
    LastTerm: s.lastTerm,
    LastIndex: s.lastIndex ?? 0,
    Healthy: s.healthy,
    StableSince: stableSince(s.stableSinceMs),
    ReadReplica: false,
    Status: s.leader ? "leader" : s.voter ? "voter" : "non-voter",
    Meta: s.meta,
    NodeType: "voter",
  };
}

const health: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:read");
  await requireLeaderUnlessStale(ctx, req);
  const state: AutopilotState = autopilotOf(ctx).current();
  const body = { Healthy: state.healthy, FailureTolerance: state.failureTolerance, Servers: state.servers.map(healthServer) };
  // 429 tells load balancers and scripts "not healthy" without parsing the body.
  return json(body, state.healthy ? 200 : 429);
};

const state: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:read");
  await requireLeaderUnlessStale(ctx, req);
  const current = autopilotOf(ctx).current();
  const servers: Record<string, unknown> = {};
  for (const s of current.servers) servers[s.id] = stateServer(s);
  return json({
    Healthy: current.healthy,
    FailureTolerance: current.failureTolerance,
    OptimisticFailureTolerance: current.optimisticFailureTolerance,
    Servers: servers,
    Leader: current.leader,
    Voters: current.voters,
    ReadReplicas: null,
    RedundancyZones: null,
    Upgrade: null,
  });
};

export const operatorAutopilotHandlers = { getConfiguration, setConfiguration, health, state } satisfies Record<string, Handler>;
