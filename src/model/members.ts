// What an agent knows about the members of its gossip pools, as the layers above gossip see
// them: the agent's own member row (/v1/agent/members), member changes the leader reconciles
// into the catalog, and the servers RPC routing and Raft bootstrap follow. Server-role code
// reads these without depending on the agent room that produces them.

/** serf.MemberStatus */
export const MEMBER_STATUS = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 } as const;
export type MemberStatus = (typeof MEMBER_STATUS)[keyof typeof MEMBER_STATUS];

export interface LocalMember {
  name: string;
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: MemberStatus;
  protocolMin: number;
  protocolMax: number;
  protocolCur: number;
  delegateMin: number;
  delegateMax: number;
  delegateCur: number;
}

/** How a member looks to the leader's catalog reconciliation (serf's member event kinds). */
export type ReconcileStatus = "alive" | "failed" | "left" | "reaped";

export interface MemberChange {
  name: string;
  /** IP (or host) of the member's gossip endpoint, without the port. */
  addr: string;
  port: number;
  tags: Readonly<Record<string, string>>;
  status: ReconcileStatus;
}

/** A server seen in the LAN pool: what RPC routing and Raft bootstrap need. */
export interface ServerMember {
  name: string;
  /** Node ID from the `id` tag. */
  id: string;
  /** "ip:port" of the server RPC endpoint (the member's IP and its `port` tag). */
  rpcAddr: string;
  /** The server's `-bootstrap-expect` (the `expect` tag), 0 when unset. */
  expect: number;
  /** The `bootstrap` tag: started with `-bootstrap`. */
  bootstrap: boolean;
  datacenter: string;
}
