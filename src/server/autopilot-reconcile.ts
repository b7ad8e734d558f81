import type { AutopilotConfigFields } from "../model/autopilot.ts";
import type { AutopilotServerHealth } from "./autopilot-health.ts";

// What autopilot changes in the Raft configuration, decided purely from its latest state
// (raft-autopilot's pruneDeadServers/adjudicateRemoval and its stable promoter):
//   - dead-server cleanup, when CleanupDeadServers is on: stale servers (in the Raft
//     configuration, unknown to gossip and not heard from by Raft) and failed ones (gossip
//     says failed, leaving or left) are removed, non-voters before voters and stale before
//     failed. Voters are removed at most (voters − 1) / 2 per round, so the voters left
//     always hold a majority of the configuration the round started from, and never below
//     MinQuorum voters. The leader is never removed.
//   - stable server introduction: a non-voter healthy for ServerStabilizationTime is promoted.

export type RemovalReason = "stale" | "failed";

export interface DeadServerDecision {
  remove: { id: string; name: string; voter: boolean; reason: RemovalReason }[];
  /** Dead servers left in place this round, and why. */
  kept: { id: string; name: string; why: "min-quorum" | "quorum" }[];
}

function isStale(s: AutopilotServerHealth, config: AutopilotConfigFields): boolean {
  // A server gossip has not (re)learned yet but Raft hears from is alive, not stale.
  return s.nodeStatus === "none" && (s.lastContactMs === undefined || s.lastContactMs > config.LastContactThresholdMs);
}

function isFailed(s: AutopilotServerHealth): boolean {
  return s.nodeStatus === "failed" || s.nodeStatus === "left" || s.nodeStatus === "leaving";
}

export function deadServerRemovals(servers: readonly AutopilotServerHealth[], config: AutopilotConfigFields): DeadServerDecision {
  const decision: DeadServerDecision = { remove: [], kept: [] };
  if (!config.CleanupDeadServers) return decision;
  const candidates = servers.filter((s) => !s.leader);
  const byId = (a: AutopilotServerHealth, b: AutopilotServerHealth): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const stale = candidates.filter((s) => isStale(s, config)).sort(byId);
  const failed = candidates.filter((s) => isFailed(s)).sort(byId);
  const ordered: [AutopilotServerHealth, RemovalReason][] = [
    ...stale.filter((s) => !s.voter).map((s): [AutopilotServerHealth, RemovalReason] => [s, "stale"]),
    ...stale.filter((s) => s.voter).map((s): [AutopilotServerHealth, RemovalReason] => [s, "stale"]),
    ...failed.filter((s) => !s.voter).map((s): [AutopilotServerHealth, RemovalReason] => [s, "failed"]),
    ...failed.filter((s) => s.voter).map((s): [AutopilotServerHealth, RemovalReason] => [s, "failed"]),
  ];
  let voters = servers.filter((s) => s.voter).length;
  let votersRemovable = Math.floor((voters - 1) / 2);
  for (const [server, reason] of ordered) {
    if (server.voter) {
      if (voters - 1 < config.MinQuorum) {
        decision.kept.push({ id: server.id, name: server.name, why: "min-quorum" });
        continue;
      }
      if (votersRemovable < 1) {
        decision.kept.push({ id: server.id, name: server.name, why: "quorum" });
        continue;
      }
      votersRemovable--;
      voters--;
    }
    decision.remove.push({ id: server.id, name: server.name, voter: server.voter, reason });
  }
  return decision;
}

/** Non-voters that have been healthy for the stabilization time: ready to vote. */
export function stablePromotions(servers: readonly AutopilotServerHealth[]): string[] {
  return servers.filter((s) => !s.voter && s.stable && s.nodeStatus === "alive").map((s) => s.id);
}
