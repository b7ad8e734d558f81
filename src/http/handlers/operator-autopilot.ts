import { errors } from "../../errors/catalog.ts";
import { formatGoDuration, parseDurationField } from "../../model/duration.ts";
import type { StateStore } from "../../state/store.ts";
import type { Handler, HttpContext } from "../context.ts";
import { queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { raftServers, requireLeaderUnlessStale, type RaftServerView } from "./operator.ts";

// /v1/operator/autopilot/*: spec/operator-snapshot-query.md §2. Health is judged from what
// this server knows: gossip status for every server and, on the leader, each server's match
// index and last contact from Raft replication progress (a follower answering `?stale` knows
// only its own, so it judges the others on their gossip status alone). The configuration lives on the answering server (normally
// the leader), seeded from the agent's `autopilot` settings; it is not yet Raft state, so a
// new leader starts again from its own settings.

export interface AutopilotConfiguration {
  CleanupDeadServers: boolean;
  LastContactThresholdMs: number;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTimeMs: number;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
}

interface AutopilotRecord {
  config: AutopilotConfiguration;
  createIndex: number;
  modifyIndex: number;
  /** Per server id: its last judged health and since when (unix ms). */
  stability: Map<string, { healthy: boolean; sinceMs: number }>;
}

/** One record per agent (its state store outlives every request). */
const records = new WeakMap<StateStore, AutopilotRecord>();

const DEFAULTS: AutopilotConfiguration = {
  CleanupDeadServers: true,
  LastContactThresholdMs: 200,
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTimeMs: 10_000,
  RedundancyZoneTag: "",
  DisableUpgradeMigration: false,
  UpgradeVersionTag: "",
};

function recordFor(ctx: HttpContext): AutopilotRecord {
  let record = records.get(ctx.state);
  if (!record) {
    const index = Math.max(1, ctx.consensus.appliedIndex());
    record = { config: seedConfig(ctx.runtimeConfig.autopilot), createIndex: index, modifyIndex: index, stability: new Map() };
    records.set(ctx.state, record);
  }
  return record;
}

/** The agent configuration's `autopilot` block (RuntimeConfig.autopilot), when started from configuration. */
function seedConfig(raw: unknown): AutopilotConfiguration {
  const config = { ...DEFAULTS };
  if (typeof raw !== "object" || raw === null) return config;
  const r = raw as Record<string, unknown>;
  if (typeof r.cleanupDeadServers === "boolean") config.CleanupDeadServers = r.cleanupDeadServers;
  if (typeof r.lastContactThresholdMs === "number") config.LastContactThresholdMs = r.lastContactThresholdMs;
  if (typeof r.maxTrailingLogs === "number") config.MaxTrailingLogs = r.maxTrailingLogs;
  if (typeof r.minQuorum === "number") config.MinQuorum = r.minQuorum;
  if (typeof r.serverStabilizationTimeMs === "number") config.ServerStabilizationTimeMs = r.serverStabilizationTimeMs;
  return config;
}

function renderConfig(record: AutopilotRecord): Record<string, unknown> {
  const c = record.config;
  return {
    CleanupDeadServers: c.CleanupDeadServers,
    LastContactThreshold: formatGoDuration(c.LastContactThresholdMs),
    MaxTrailingLogs: c.MaxTrailingLogs,
    MinQuorum: c.MinQuorum,
    ServerStabilizationTime: formatGoDuration(c.ServerStabilizationTimeMs),
    RedundancyZoneTag: c.RedundancyZoneTag,
    DisableUpgradeMigration: c.DisableUpgradeMigration,
    UpgradeVersionTag: c.UpgradeVersionTag,
    CreateIndex: record.createIndex,
    ModifyIndex: record.modifyIndex,
  };
}

const getConfiguration: Handler = (ctx, req) => {
  requireLeaderUnlessStale(ctx, req);
  return json(renderConfig(recordFor(ctx)));
};

/** Applies the fields present in a PUT body over `base`; throws a 400 on a malformed field. */
export function decodeConfiguration(body: unknown, base: AutopilotConfiguration): AutopilotConfiguration {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw errors.decodeFailed("body is not a JSON object");
  const b = body as Record<string, unknown>;
  const next = { ...base };
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

const setConfiguration: Handler = (ctx, req) => {
  queryOptions(ctx, req);
  let body: unknown;
  try {
    body = JSON.parse(req.body && req.body.length > 0 ? req.body.toString("utf8") : "null");
  } catch (err) {
    throw errors.decodeFailed(err instanceof Error ? err.message : String(err));
  }
  const record = recordFor(ctx);
  const next = decodeConfiguration(body, record.config);
  const cas = req.query.cas;
  if (cas !== undefined) {
    const want = Number(Array.isArray(cas) ? cas[0] : cas);
    if (!Number.isInteger(want) || want < 0) throw errors.badRequest("Error parsing cas value: invalid syntax");
    if (want !== record.modifyIndex) return json(false);
  }
  record.config = next;
  record.modifyIndex = Math.max(record.modifyIndex + 1, ctx.consensus.appliedIndex());
  return json(true);
};

interface JudgedServer {
  view: RaftServerView;
  healthy: boolean;
  lastTerm: number;
  stableSince: string;
}

/** Health of every server by the rules of the spec, remembering when each last changed. */
function judge(ctx: HttpContext): { servers: JudgedServer[]; healthy: boolean; failureTolerance: number; optimistic: number } {
  const record = recordFor(ctx);
  const config = record.config;
  const views = raftServers(ctx);
  const term = ctx.raft ? ctx.raft.node.term() : 1;
  const leaderIndex = views.find((v) => v.leader)?.lastIndex;
  const now = ctx.clock.now();
  const servers = views.map((view): JudgedServer => {
    const contactOk = view.lastContactMs === undefined || view.lastContactMs <= config.LastContactThresholdMs;
    const trailingOk = view.lastIndex === undefined || leaderIndex === undefined || leaderIndex - view.lastIndex <= config.MaxTrailingLogs;
    const healthy = view.serfStatus === "alive" && contactOk && trailingOk;
    let stable = record.stability.get(view.id);
    if (!stable || stable.healthy !== healthy) {
      stable = { healthy, sinceMs: now };
      record.stability.set(view.id, stable);
    }
    return { view, healthy, lastTerm: term, stableSince: new Date(stable.sinceMs).toISOString().replace(/\.\d{3}Z$/, "Z") };
  });
  const voters = servers.filter((s) => s.view.voter);
  const quorum = Math.floor(voters.length / 2) + 1;
  const healthyVoters = voters.filter((s) => s.healthy).length;
  const aliveVoters = voters.filter((s) => s.view.serfStatus === "alive").length;
  return {
    servers,
    healthy: servers.every((s) => s.healthy),
    failureTolerance: Math.max(0, healthyVoters - quorum),
    optimistic: Math.max(0, aliveVoters - quorum),
  };
}

const health: Handler = (ctx, req) => {
  requireLeaderUnlessStale(ctx, req);
  const judged = judge(ctx);
  const body = {
    Healthy: judged.healthy,
    FailureTolerance: judged.failureTolerance,
    Servers: judged.servers.map((s) => ({
      ID: s.view.id,
      Name: s.view.node,
      Address: s.view.address,
      SerfStatus: s.view.serfStatus,
      Version: s.view.version,
      Leader: s.view.leader,
      LastContact: formatGoDuration(s.view.lastContactMs ?? 0),
      LastTerm: s.lastTerm,
      LastIndex: s.view.lastIndex ?? 0,
      Healthy: s.healthy,
      Voter: s.view.voter,
      StableSince: s.stableSince,
    })),
  };
  // 429 tells load balancers and scripts "not healthy" without parsing the body.
  return json(body, judged.healthy ? 200 : 429);
};

const state: Handler = (ctx, req) => {
  requireLeaderUnlessStale(ctx, req);
  const judged = judge(ctx);
  const servers: Record<string, unknown> = {};
  for (const s of judged.servers) {
    servers[s.view.id] = {
      ID: s.view.id,
      Name: s.view.node,
      Address: s.view.address,
      NodeStatus: s.view.serfStatus,
      Version: s.view.version,
      LastContact: formatGoDuration(s.view.lastContactMs ?? 0),
      LastTerm: s.lastTerm,
      LastIndex: s.view.lastIndex ?? 0,
      Healthy: s.healthy,
      StableSince: s.stableSince,
      ReadReplica: false,
      Status: s.view.leader ? "leader" : s.view.voter ? "voter" : "non-voter",
      Meta: {},
      NodeType: "voter",
    };
  }
  return json({
    Healthy: judged.healthy,
    FailureTolerance: judged.failureTolerance,
    OptimisticFailureTolerance: judged.optimistic,
    Servers: servers,
    Leader: judged.servers.find((s) => s.view.leader)?.view.id ?? "",
    Voters: judged.servers.filter((s) => s.view.voter).map((s) => s.view.id),
    ReadReplicas: null,
    RedundancyZones: null,
    Upgrade: null,
  });
};

export const operatorAutopilotHandlers = { getConfiguration, setConfiguration, health, state } satisfies Record<string, Handler>;
