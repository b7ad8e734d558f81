import { errors } from "../errors/catalog.ts";
import type { Command } from "../fsm/command.ts";
import type { ApiDispatcher, RawApiRequest } from "../http/dispatch-request.ts";
import type { Logger } from "../runtime/logger.ts";
import { RpcError, RpcErrorCode, type RpcHandler } from "../transport/rpc.ts";
import { applyCommandOf, isServerLocalPath, RpcMethod, type ApplyArgs, type ApplyReply, type HttpForwardArgs, type LeaderForwardingConsensus, type PingReply } from "./leader-forwarding.ts";

// The methods a server answers on its RPC port:
//   Status.Ping    → { leader, server }: liveness and the leader this server knows.
//   Status.Peers   → { peers }: the Raft voters this server knows (empty: never bootstrapped).
//   Raft.Apply     → propose a Command; a follower passes it to the leader (one hop).
//   HTTP.Forward   → run an HTTP API request through this server's own route table, so client
//                    agents and followers reuse every handler, blocking queries included.

export interface RpcEndpointDeps {
  consensus: LeaderForwardingConsensus;
  dispatcher: ApiDispatcher;
  logger: Logger;
}

function applyArgs(args: unknown): ApplyArgs {
  const a = args as Partial<ApplyArgs> | undefined;
  if (a && a.data instanceof Uint8Array) return { data: a.data, forwarded: a.forwarded === true };
  if (!a || typeof a.cmd !== "object" || a.cmd === null || typeof (a.cmd as { Type?: unknown }).Type !== "string") {
    throw new RpcError(RpcErrorCode.Failed, "rpc: Raft.Apply needs a command");
  }
  return { cmd: a.cmd as Command, forwarded: a.forwarded === true };
}

function forwardArgs(args: unknown): HttpForwardArgs {
  const a = args as { req?: Partial<RawApiRequest>; forwarded?: unknown } | undefined;
  const r = a?.req;
  if (!r || typeof r.method !== "string" || typeof r.path !== "string") throw new RpcError(RpcErrorCode.Failed, "rpc: HTTP.Forward needs a request");
  const body = r.body instanceof Uint8Array ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : undefined;
  return {
    req: {
      method: r.method,
      path: r.path,
      rawQuery: typeof r.rawQuery === "string" ? r.rawQuery : "",
      headers: typeof r.headers === "object" && r.headers !== null ? r.headers : {},
      body,
      remoteAddress: typeof r.remoteAddress === "string" ? r.remoteAddress : "",
    },
    forwarded: a.forwarded === true,
    fromOtherDatacenter: (a as { fromOtherDatacenter?: unknown }).fromOtherDatacenter === true,
  };
}

/** A read that only the leader may answer: not `?stale`, not one a server answers from its own view. */
function needsLeader(req: RawApiRequest): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (isServerLocalPath(req.path)) return false;
  return !new URLSearchParams(req.rawQuery).has("stale");
}

export function serverRpcHandlers(deps: RpcEndpointDeps): Map<string, RpcHandler> {
  const { consensus, dispatcher, logger } = deps;
  const handlers = new Map<string, RpcHandler>();
  handlers.set(RpcMethod.Ping, (): PingReply => ({ leader: consensus.leaderAddress(), server: true }));
  handlers.set(RpcMethod.Peers, (): { peers: string[] } => ({ peers: consensus.peers() }));
  handlers.set(RpcMethod.Apply, async (args): Promise<ApplyReply> => {
    const parsed = applyArgs(args);
    const cmd = await applyCommandOf(parsed);
    return parsed.forwarded ? consensus.proposeHere(cmd) : consensus.propose(cmd);
  });
  handlers.set(RpcMethod.HttpForward, async (args, call) => {
    const { req, forwarded, fromOtherDatacenter } = forwardArgs(args);
    if (forwarded && needsLeader(req) && !consensus.isLeader()) {
      // Sent here as the leader's, but this server no longer leads (or its lease ran out, as
      // after a pause): answering from its state could be stale. Nothing ran, so the sender
      // retries against the leader it learns next.
      const leader = consensus.leaderAddress();
      throw new RpcError(RpcErrorCode.NotLeader, leader === "" ? "No cluster leader" : `not the leader (leader is ${leader})`, leader);
    }
    try {
      return await dispatcher.dispatch(req, { forwarded, fromOtherDatacenter, signal: () => call.signal });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.error("rpc: forwarded request failed", { path: req.path, error: message });
      return dispatcher.errorResponse(errors.internal(message));
    }
  });
  return handlers;
}
