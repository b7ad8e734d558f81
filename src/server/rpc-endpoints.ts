import { ANONYMOUS_TOKEN_SECRET } from "../acl/builtin.ts";
import { vetCatalogDeregister, vetCatalogRegister } from "../acl/catalog-write-acl.ts";
import type { AclService } from "../acl/service.ts";
import type { Authorizer } from "../acl/authorizer.ts";
import { errors } from "../errors/catalog.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";
import type { Command } from "../fsm/command.ts";
import type { ApiDispatcher, RawApiRequest } from "../http/dispatch-request.ts";
import type { Logger } from "../runtime/logger.ts";
import { RpcError, RpcErrorCode, type RpcHandler } from "../transport/rpc.ts";
import { applyCommandOf, isServerLocalPath, RpcMethod, type ApplyArgs, type CatalogWriteArgs, type ApplyReply, type HttpForwardArgs, type LeaderForwardingConsensus, type PingReply } from "./leader-forwarding.ts";

// The methods a server answers on its RPC port:
//   Status.Ping    → { leader, server }: liveness and the leader this server knows.
//   Status.Peers   → { peers }: the Raft voters this server knows (empty: never bootstrapped).
//   Raft.Apply     → server to server only: a follower passes an already-authorised Command to
//                    the leader (`forwarded`). A call that is not marked forwarded is refused:
//                    client agents write through Catalog.Register, which is authorised.
//   HTTP.Forward   → run an HTTP API request through this server's own route table, so client
//                    agents and followers reuse every handler, blocking queries included; the
//                    caller's token travels in the request and this server decides.
//   ACL.ResolveToken  → a client agent's token lookup: identity, policies and roles, or not found.
//   Catalog.Register / Catalog.Deregister → a client agent's anti-entropy writes, with the token
//                    they are made with, vetted here like /v1/catalog/register.

export interface RpcEndpointDeps {
  consensus: LeaderForwardingConsensus;
  dispatcher: ApiDispatcher;
  logger: Logger;
  /** This server's catalog, which vets client agents' catalog writes. */
  catalog: CatalogTables;
  /** Present when ACLs are enabled. */
  acl?: AclService;
}

async function catalogWriteArgs(args: unknown, type: "catalog-register" | "catalog-deregister"): Promise<{ cmd: Command; token: string }> {
  const a = args as Partial<CatalogWriteArgs> | undefined;
  const token = typeof a?.token === "string" ? a.token : "";
  // A wide registration arrives as bytes encoded in slices (applyArgsFor), decoded in slices here.
  const cmd: unknown = a?.data instanceof Uint8Array ? await applyCommandOf({ data: a.data, forwarded: false }).catch(() => undefined) : a?.cmd;
  if (typeof cmd !== "object" || cmd === null || (cmd as { Type?: unknown }).Type !== type) {
    throw new RpcError(RpcErrorCode.Failed, `rpc: needs a ${type} command`);
  }
  return { cmd: cmd as Command, token };
}

/** The authorizer for an RPC's secret: exactly that token ("" is anonymous), resolved from this server's tables. */
async function rpcAuthorizer(acl: AclService, token: string): Promise<Authorizer> {
  const secret = token === "" ? ANONYMOUS_TOKEN_SECRET : token;
  return (await acl.resolveSecretPending(secret)) ?? acl.resolveSecret(secret);
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
      agentNode: typeof r.agentNode === "string" && r.agentNode !== "" ? r.agentNode : undefined,
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
  const { consensus, dispatcher, logger, acl, catalog } = deps;
  const handlers = new Map<string, RpcHandler>();
  handlers.set(RpcMethod.Ping, (): PingReply => ({ leader: consensus.leaderAddress(), server: true }));
  handlers.set(RpcMethod.Peers, (): { peers: string[] } => ({ peers: consensus.peers() }));
  handlers.set(RpcMethod.Apply, async (args): Promise<ApplyReply> => {
    const parsed = applyArgs(args);
    if (!parsed.forwarded) throw new RpcError(RpcErrorCode.Failed, "rpc: Raft.Apply is for servers forwarding to the leader");
    return consensus.proposeHere(await applyCommandOf(parsed));
  });
  const catalogWrite = async (args: unknown, type: "catalog-register" | "catalog-deregister"): Promise<ApplyReply> => {
    const { cmd } = await catalogWriteArgs(args, type);
    if (acl) {
      const authz = await rpcAuthorizer(acl, (args as CatalogWriteArgs).token);
      if (cmd.Type === "catalog-register") vetCatalogRegister(authz, catalog, cmd);
      else if (cmd.Type === "catalog-deregister") vetCatalogDeregister(authz, catalog, cmd);
    }
    return consensus.propose(cmd);
  };
  handlers.set(RpcMethod.CatalogRegister, (args) => catalogWrite(args, "catalog-register"));
  handlers.set(RpcMethod.CatalogDeregister, (args) => catalogWrite(args, "catalog-deregister"));
  handlers.set(RpcMethod.AclResolveToken, async (args) => {
    if (!acl) throw errors.aclDisabled();
    const secret = (args as { secret?: unknown } | undefined)?.secret;
    if (typeof secret !== "string" || secret === "") throw new RpcError(RpcErrorCode.Failed, "rpc: ACL.ResolveToken needs a secret");
    return acl.tokenResolution(secret);
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
