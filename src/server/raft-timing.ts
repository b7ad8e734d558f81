// From Consul's Raft timing settings to this Raft's ticks.
//
// Consul scales a 1 s election timeout by performance.raft_multiplier (default 5 → 5 s), sized
// for hashicorp/raft, which waits a full randomised heartbeat timeout before a follower even
// starts an election. This Raft is etcd's design with pre-vote and check-quorum: a follower
// campaigns after a randomised [T, 2T) of silence and one pre-vote plus one vote round
// (a few loopback RTTs) seats the successor. Taking T = electionTimeoutMs / 5 keeps the
// multiplier's meaning (it still scales T linearly) while the default gives T = 1 s, so a
// leader failover (kill -9 → first write accepted elsewhere) stays under about 2.3 s.
// Ten ticks per T and a heartbeat every tick: followers tolerate ~9 lost heartbeats (or an
// event loop stalled for most of T) before they start an election.

export interface RaftTicks {
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
}

/** Ticks for Consul's (multiplier-scaled) election timeout. */
export function raftTicksFor(electionTimeoutMs: number): RaftTicks {
  const electionMs = Math.max(50, Math.round(electionTimeoutMs / 5));
  const tickMs = Math.max(10, Math.min(100, Math.round(electionMs / 10)));
  const electionTick = Math.max(3, Math.round(electionMs / tickMs));
  return { tickMs, electionTick, heartbeatTick: 1 };
}

/**
 * How long a leader trusts that it still leads without hearing from a quorum: hashicorp/raft's
 * LeaderLeaseTimeout (500 ms against a 1 s heartbeat timeout; Consul scales both by
 * raft_multiplier). Here it is half of T, the shortest silence after which a follower may
 * campaign, so a leader stops claiming to lead before a successor can exist. Checked on the
 * monotonic clock whenever asked (raft-node.ts), not on the next tick: a paused process gets
 * no ticks, and after SIGCONT its requests may run before any timer does.
 */
export function leaderLeaseMsFor(ticks: Pick<RaftTicks, "tickMs" | "electionTick">): number {
  return Math.max(1, Math.floor((ticks.tickMs * ticks.electionTick) / 2));
}
