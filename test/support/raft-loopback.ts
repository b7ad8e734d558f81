import assert from "node:assert/strict";
import { RaftNode, type RaftNodeOptions } from "../../src/server/raft-node.ts";
import { InMemoryRaftStorage } from "../../src/server/raft-storage.ts";
import { freePort } from "./agent-process.ts";

// The pieces every in-process RaftNode cluster test repeats: members at claimed loopback
// ports, and an election started by the first node and waited for.

export type RaftMembers = Map<number, { host: string; port: number }>;

/** One claimed 127.0.0.1 port per id. */
export async function loopbackMembers(ids: readonly number[]): Promise<RaftMembers> {
  const members: RaftMembers = new Map();
  for (const id of ids) members.set(id, { host: "127.0.0.1", port: await freePort() });
  return members;
}

/** nodes[0] campaigns; resolves with the leader once one is elected (fails after `timeoutMs`). */
export async function electLeader(nodes: readonly RaftNode[], timeoutMs = 10_000): Promise<RaftNode> {
  nodes[0].campaign();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = nodes.find((n) => n.isLeader());
    if (leader) return leader;
    assert.ok(Date.now() < deadline, "no leader elected");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A voter among `members` with an in-memory log, at these tests' fast ticks (a 50 ms tick,
 * election after 10, heartbeat every tick) unless `options` says otherwise.
 */
export function startInMemoryNode(id: number, members: RaftMembers, options: Partial<RaftNodeOptions> = {}): Promise<RaftNode> {
  return RaftNode.start({ id, storage: new InMemoryRaftStorage(), members, bootstrapVoters: [...members.keys()], tickMs: 50, electionTick: 10, heartbeatTick: 1, ...options });
}
