import { errors } from "../../errors/catalog.ts";
import { isNotLeaderError } from "../../server/raft-consensus.ts";
import type { ApiRequest, Handler, HttpContext } from "../context.ts";
import { awaitLeaderUnlessStale, queryOptions } from "../read.ts";
import { empty, json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import type { LocalMember } from "../../model/members.ts";

// /v1/operator/raft/*: spec/operator-snapshot-query.md §1. The server's view of the Raft
// configuration; followers pass these requests to the leader (leader-forwarding.ts) unless
// `?stale`, so the answer is normally the leader's.

/** One Raft server as the operator endpoints describe it. */
export interface RaftServerView {
  /** Node id (Raft protocol 3 server id). */
  id: string;
  /** Node name, "(unknown)" when neither gossip nor the catalog knows the id. */
  node: string;
  /** Server RPC "ip:port". */
  address: string;
  leader: boolean;
  voter: boolean;
  /** This server answering: the only one whose log position and contact we know here. */
  self: boolean;
  /** Last applied index for itself, the leader's match index for others; undefined when unknown (asked a follower). */
  lastIndex: number | undefined;
  /** Milliseconds since it heard from the leader; undefined when unknown. */
  lastContactMs: number | undefined;
  /** serf status of its gossip member ("alive", "failed", "left"…), "none" when not in the pool. */
  serfStatus: string;
  /** Consul version it reports. */
  version: string;
}

const SERF_STATUS = ["none", "alive", "leaving", "left", "failed"] as const;

/** The servers of the Raft configuration (voters first), with what this server knows of each. */
export function raftServers(ctx: HttpContext): RaftServerView[] {
  const identity = ctx.agent.identity;
  const members = ctx.membership.members();
  const raft = ctx.raft;
  if (!raft) {
    // A LocalLog server is a configuration of one: itself, the leader.
    return [selfView(ctx, members, { id: identity.nodeId, address: ctx.consensus.leaderAddress(), leader: true, voter: true })];
  }
  const config = raft.configuration();
  const leaderId = raft.leaderId();
  // Only the leader tracks the others' replication; on a follower (?stale) it is empty.
  const progress = raft.progress();
  const describe = (peer: { id: string; address: string }, voter: boolean): RaftServerView => {
    const leader = peer.id !== "" && peer.id === leaderId;
    if (peer.id === raft.nodeId) return selfView(ctx, members, { id: peer.id, address: peer.address, leader, voter });
    const member = members.find((m) => m.tags.id === peer.id);
    const replication = progress.get(peer.id);
    return {
      id: peer.id,
      node: member?.name ?? catalogNodeName(ctx, peer.id) ?? "(unknown)",
      address: peer.address,
      leader,
      voter,
      self: false,
      lastIndex: replication?.matchIndex,
      lastContactMs: leader ? 0 : replication?.lastContactMs,
      serfStatus: member ? statusText(member) : "none",
      version: member ? buildVersion(member) : "",
    };
  };
  return [...config.voters.map((p) => describe(p, true)), ...config.learners.map((p) => describe(p, false))];
}

function selfView(
  ctx: HttpContext,
  members: LocalMember[],
  base: { id: string; address: string; leader: boolean; voter: boolean },
): RaftServerView {
  const identity = ctx.agent.identity;
  const member = members.find((m) => m.name === identity.nodeName);
  return {
    ...base,
    node: identity.nodeName,
    self: true,
    lastIndex: ctx.consensus.appliedIndex(),
    lastContactMs: base.leader ? 0 : ctx.consensus.lastContactMs(),
    serfStatus: member ? statusText(member) : "alive",
    version: identity.version,
  };
}

function catalogNodeName(ctx: HttpContext, nodeId: string): string | undefined {
  return ctx.state.catalog.listNodes().find((n) => n.ID === nodeId)?.Node;
}

function statusText(member: LocalMember): string {
  return SERF_STATUS[member.status] ?? "none";
}

/** The `build` tag ("1.20.0:abcdef") without its revision. */
function buildVersion(member: LocalMember): string {
  const build = member.tags.build ?? "";
  const at = build.indexOf(":");
  return at < 0 ? build : build.slice(0, at);
}

/** Reads that must come from a leader unless `?stale` (spec: "No cluster leader" once the hold is over). */
export async function requireLeaderUnlessStale(ctx: HttpContext, req: ApiRequest): Promise<ReturnType<typeof queryOptions>> {
  const opts = queryOptions(ctx, req);
  await awaitLeaderUnlessStale(ctx, opts);
  return opts;
}

const configuration: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:read");
  await requireLeaderUnlessStale(ctx, req);
  const servers = raftServers(ctx).map((s) => ({
    ID: s.id,
    Node: s.node,
    Address: s.address,
    Leader: s.leader,
    ProtocolVersion: "3",
    Voter: s.voter,
    LastIndex: s.lastIndex ?? 0,
  }));
  // Consul's Index is hashicorp/raft's ConfigurationFuture.Index(): GetConfiguration (raft
  // >= 1.1.2) copies only the latest configuration, never its index, so every Consul 1.20
  // server, single or clustered, reports 0. Its handler sets no query-meta headers either.
  return json({ Servers: servers, Index: 0 });
};

function queryText(req: ApiRequest, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? String(v[0] ?? "") : String(v);
}

const removePeer: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:write");
  queryOptions(ctx, req);
  const id = queryText(req, "id");
  const address = queryText(req, "address");
  if (id === undefined && address === undefined) {
    throw errors.badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  }
  if (id !== undefined && address !== undefined) throw errors.badRequest("Must specify only one of ?id or ?address");
  const servers = raftServers(ctx);
  const target = id !== undefined ? servers.find((s) => s.id === id) : servers.find((s) => s.address === address);
  if (!target) {
    throw errors.internal(id !== undefined ? `id "${id}" was not found in the Raft configuration` : `address "${address}" was not found in the Raft configuration`);
  }
  const voters = servers.filter((s) => s.voter);
  if (!ctx.raft || (target.voter && voters.length === 1)) {
    // Removing the last voter would leave a cluster that can never elect a leader again.
    throw errors.internal("cannot remove the last server from the Raft configuration");
  }
  await ctx.raft.removePeer(target.id);
  return empty();
};

const transferLeader: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("operator:write");
  queryOptions(ctx, req);
  const requested = queryText(req, "id") ?? "";
  const servers = raftServers(ctx);
  const self = servers.find((s) => s.self);
  let target: RaftServerView | undefined;
  if (requested !== "") {
    target = servers.find((s) => s.id === requested);
    if (!target) throw errors.internal(`id "${requested}" was not found in the Raft configuration`);
    if (target.self) throw errors.internal("cannot transfer leadership to itself");
  } else {
    // Any other voter will do; the Raft core only hands over to a caught-up one.
    target = servers.find((s) => s.voter && !s.self);
  }
  if (!target || !target.voter) throw errors.internal("cannot find peer");
  if (!self?.leader) throw errors.noLeader();
  const raft = ctx.raft;
  if (!raft) throw errors.internal("leadership transfer is not supported by this server");
  try {
    await raft.transferLeader(target.id);
  } catch (err) {
    if (isNotLeaderError(err)) throw errors.noLeader();
    throw errors.internal(err instanceof Error ? err.message : String(err));
  }
  return json({ Success: true });
};

export const operatorRaftHandlers = { configuration, removePeer, transferLeader } satisfies Record<string, Handler>;
