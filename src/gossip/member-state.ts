// What one member knows about another (memberlist state.go's nodeState, with serf's left and
// reap bookkeeping). States only move forward within an incarnation: alive → suspect → dead,
// and `left` is a dead that the member announced itself. A higher incarnation, which only the
// member itself may issue, brings it back to alive.

export const MemberStatus = {
  alive: "alive",
  suspect: "suspect",
  dead: "dead",
  left: "left",
} as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];

/**
 * Node metadata, carried as serf tags exactly as Consul does. Well-known keys: `role`
 * ("consul" for servers, "node" for clients), `dc`, `segment`, `port` (server RPC), `build`,
 * `vsn`/`vsn_min`/`vsn_max`, `raft_vsn`, `expect`, `id`, `wan_join_port`, `grpc_port`.
 */
export type MemberTags = Readonly<Record<string, string>>;

export interface Member {
  readonly name: string;
  /** "host:port" of the member's gossip endpoint (UDP and TCP share it). */
  readonly addr: string;
  readonly tags: MemberTags;
  readonly incarnation: number;
  readonly status: MemberStatus;
  /** Local time of the last status change; drives gossip-to-the-dead and reaping. */
  readonly statusChangedMs: number;
  /**
   * A leave intent (force-leave) names this live member and it has not refuted it yet: serf
   * shows it as `leaving` until its higher incarnation arrives.
   */
  readonly leaving?: boolean;
}

export function isDeadOrLeft(m: Member): boolean {
  return m.status === MemberStatus.dead || m.status === MemberStatus.left;
}

export function sameTags(a: MemberTags, b: MemberTags): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) if (a[k] !== b[k]) return false;
  return true;
}
