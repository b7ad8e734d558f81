// The autopilot configuration as Raft stores it (Consul's structs.AutopilotConfig). Durations
// are kept in milliseconds; the HTTP layer renders them as Go duration strings.

export interface AutopilotConfig {
  CleanupDeadServers: boolean;
  LastContactThresholdMs: number;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTimeMs: number;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type AutopilotConfigFields = Omit<AutopilotConfig, "CreateIndex" | "ModifyIndex">;

/** Only the configuration fields of `c`: a row, a body or a command may carry other keys. */
export function autopilotConfigFields(c: AutopilotConfigFields): AutopilotConfigFields {
  return {
    CleanupDeadServers: c.CleanupDeadServers,
    LastContactThresholdMs: c.LastContactThresholdMs,
    MaxTrailingLogs: c.MaxTrailingLogs,
    MinQuorum: c.MinQuorum,
    ServerStabilizationTimeMs: c.ServerStabilizationTimeMs,
    RedundancyZoneTag: c.RedundancyZoneTag,
    DisableUpgradeMigration: c.DisableUpgradeMigration,
    UpgradeVersionTag: c.UpgradeVersionTag,
  };
}

/** Consul's documented defaults (agent config `autopilot` block). */
export const DEFAULT_AUTOPILOT_CONFIG: AutopilotConfigFields = {
  CleanupDeadServers: true,
  LastContactThresholdMs: 200,
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTimeMs: 10_000,
  RedundancyZoneTag: "",
  DisableUpgradeMigration: false,
  UpgradeVersionTag: "",
};

/** The agent configuration's `autopilot` block (RuntimeConfig.autopilot) over the defaults. */
export function autopilotConfigFromAgentConfig(raw: unknown): AutopilotConfigFields {
  const config = { ...DEFAULT_AUTOPILOT_CONFIG };
  if (typeof raw !== "object" || raw === null) return config;
  const r = raw as Record<string, unknown>;
  if (typeof r.cleanupDeadServers === "boolean") config.CleanupDeadServers = r.cleanupDeadServers;
  if (typeof r.lastContactThresholdMs === "number") config.LastContactThresholdMs = r.lastContactThresholdMs;
  if (typeof r.maxTrailingLogs === "number") config.MaxTrailingLogs = r.maxTrailingLogs;
  if (typeof r.minQuorum === "number") config.MinQuorum = r.minQuorum;
  if (typeof r.serverStabilizationTimeMs === "number") config.ServerStabilizationTimeMs = r.serverStabilizationTimeMs;
  return config;
}
