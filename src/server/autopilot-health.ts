import type { AutopilotConfigFields } from "../model/autopilot.ts";

// Autopilot's health judgement as a pure function of what the leader knows (raft-autopilot's
// nextState): a server is healthy when gossip says alive, the leader heard from it within
// LastContactThreshold and it trails the leader's index by at most MaxTrailingLogs.
// StableSince moves whenever a server's health flips. FailureTolerance counts only voters
// that have been healthy for ServerStabilizationTime, so a server that just joined or just
// recovered does not yet count as one more failure the cluster survives; the optimistic
// figure counts every healthy voter. Like raft-autopilot, the stabilization time is waived
// until autopilot itself has been judging for that long (a new leader knows no history).

/** Gossip status of a server ("none": not in the LAN pool). */
export type AutopilotNodeStatus = "alive" | "leaving" | "left" | "failed" | "none";

/** One server of the Raft configuration, as the duty gathers it. */
export interface AutopilotServerInput {
  id: string;
  name: string;
  address: string;
  nodeStatus: AutopilotNodeStatus;
  version: string;
  voter: boolean;
  leader: boolean;
  /** Its last log index as the leader knows it; undefined when unknown (judged by a follower). */
  lastIndex: number | undefined;
  /** Milliseconds since the leader last heard from it; undefined when unknown. */
  lastContactMs: number | undefined;
  meta: Record<string, string>;
}

export interface AutopilotHealthInputs {
  /** Wall clock, unix ms (StableSince is reported as a time of day). */
  nowMs: number;
  config: AutopilotConfigFields;
  servers: readonly AutopilotServerInput[];
  /** The leader's last index; undefined when unknown. */
  leaderLastIndex: number | undefined;
  /** The leader's term (every server is reported on it: per-server terms are not tracked). */
  term: number;
  previous: AutopilotState | undefined;
}

export interface AutopilotServerHealth extends AutopilotServerInput {
  healthy: boolean;
  /** Unix ms when `healthy` last changed (or the server was first seen). */
  stableSinceMs: number;
  /** Healthy for at least the stabilization time in force. */
  stable: boolean;
  lastTerm: number;
}

export interface AutopilotState {
  computedAtMs: number;
  /** When the first state of this run of judgements was computed (stabilization grace). */
  firstStateMs: number;
  healthy: boolean;
  failureTolerance: number;
  optimisticFailureTolerance: number;
  /** Node id of the leader, "" when none is in the configuration. */
  leader: string;
  /** Node ids of the voters, the leader first. */
  voters: string[];
  /** Voters first (the leader leading), then non-voters; each group in configuration order. */
  servers: AutopilotServerHealth[];
}

/** Votes a configuration of `voters` needs to commit anything. */
function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

function isServerHealthy(server: AutopilotServerInput, config: AutopilotConfigFields, leaderLastIndex: number | undefined): boolean {
  if (server.nodeStatus !== "alive") return false;
  if (server.lastContactMs !== undefined && (server.lastContactMs < 0 || server.lastContactMs > config.LastContactThresholdMs)) return false;
  if (server.lastIndex !== undefined && leaderLastIndex !== undefined && server.lastIndex + config.MaxTrailingLogs < leaderLastIndex) return false;
  return true;
}

/** The stabilization time in force: waived while autopilot has not judged for that long yet. */
function effectiveStabilizationMs(config: AutopilotConfigFields, firstStateMs: number, nowMs: number): number {
  return nowMs - firstStateMs > config.ServerStabilizationTimeMs ? config.ServerStabilizationTimeMs : 0;
}

export function computeAutopilotState(inputs: AutopilotHealthInputs): AutopilotState {
  const { nowMs, config, previous } = inputs;
  const firstStateMs = previous?.firstStateMs ?? nowMs;
  const stabilizationMs = effectiveStabilizationMs(config, firstStateMs, nowMs);
  const before = new Map((previous?.servers ?? []).map((s) => [s.id, s]));
  const ordered = [...inputs.servers.filter((s) => s.voter && s.leader), ...inputs.servers.filter((s) => s.voter && !s.leader), ...inputs.servers.filter((s) => !s.voter)];
  const servers = ordered.map((server): AutopilotServerHealth => {
    const healthy = isServerHealthy(server, config, inputs.leaderLastIndex);
    const last = before.get(server.id);
    const stableSinceMs = last && last.healthy === healthy ? last.stableSinceMs : nowMs;
    const stable = healthy && nowMs - stableSinceMs >= stabilizationMs;
    return { ...server, healthy, stableSinceMs, stable, lastTerm: inputs.term };
  });
  const voters = servers.filter((s) => s.voter);
  const quorum = quorumSize(voters.length);
  const healthyVoters = voters.filter((s) => s.healthy).length;
  const stableVoters = voters.filter((s) => s.stable).length;
  return {
    computedAtMs: nowMs,
    firstStateMs,
    healthy: servers.every((s) => s.healthy),
    failureTolerance: Math.max(0, stableVoters - quorum),
    optimisticFailureTolerance: Math.max(0, healthyVoters - quorum),
    leader: servers.find((s) => s.leader)?.id ?? "",
    voters: voters.map((s) => s.id),
    servers,
  };
}
