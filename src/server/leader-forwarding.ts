import { errors } from "../errors/catalog.ts";
import type { ApplyResult, Command } from "../fsm/command.ts";
import type { RaftLogStatus } from "./raft-node.ts";
import type { ApiRequest } from "../http/context.ts";
import type { RawApiRequest, RawApiResponse, RequestForwarder } from "../http/dispatch-request.ts";
import type { RpcPool } from "../transport/rpc-client.ts";
import { RpcError, RpcErrorCode } from "../transport/rpc.ts";
import { systemClock } from "../runtime/clock.ts";
import { systemRng } from "../runtime/rng.ts";
import type { Consensus, ProposeOptions } from "./consensus.ts";
import { runSliced } from "../runtime/sliced-work.ts";
import { decodeCommandSlices, encodeCommandSlices, isWideCommand } from "./command-codec.ts";
import { DEFAULT_RPC_HOLD_TIMEOUT_MS, holdUntilLeader, type HoldAttempt, type LeaderHold } from "./leader-wait.ts";

// Followers pass work to the leader, one hop: writes as Raft.Apply (the command), HTTP reads
// that must see the leader's state as HTTP.Forward (the whole request, answered by the
// leader's own handlers). Whatever arrives already forwarded is never passed on again, so a
// leader change mid-flight costs an error, never a loop. Without a known leader both wait for
// one (leader-wait.ts) instead of failing at once.

export const RpcMethod = {
  Ping: "Status.Ping",
  Apply: "Raft.Apply",
  HttpForward: "HTTP.Forward",
  /** The Raft voters this server knows, as /v1/status/peers lists them (bootstrap_expect's check). */
  Peers: "Status.Peers",
  /** A client agent's token resolution: the token's identity with its policies and roles. */
  AclResolveToken: "ACL.ResolveToken",
  /** A client agent's own catalog writes (anti-entropy), with the token the server authorises. */
  CatalogRegister: "Catalog.Register",
  CatalogDeregister: "Catalog.Deregister",
} as const;

/** Catalog.Register / Catalog.Deregister: the command and the secret it is made with ("" = anonymous). */
export interface CatalogWriteArgs {
  /** The command, or for a wide one its bytes (`data`), as in ApplyArgs. */
  cmd?: Command;
  data?: Uint8Array;
  token: string;
}

export interface ApplyArgs {
  /** The command, for the usual small one; msgpack'd with the RPC frame. */
  cmd?: Command;
  /**
   * A wide command (command-codec.ts isWideCommand) as its encoded bytes instead: encoded in
   * slices here, decoded in slices by the receiver, so neither end holds its event loop for
   * the whole command while the RPC frame is written or read.
   */
  data?: Uint8Array;
  /** Sent by a follower to the leader: the receiver must not forward again. */
  forwarded: boolean;
}

/** Raft.Apply's arguments for `cmd`. */
export async function applyArgsFor(cmd: Command, forwarded: boolean): Promise<ApplyArgs> {
  if (!isWideCommand(cmd)) return { cmd, forwarded };
  return { data: await runSliced(encodeCommandSlices(cmd)), forwarded };
}

/** The command Raft.Apply's arguments carry, however they carry it. */
export async function applyCommandOf(args: ApplyArgs): Promise<Command> {
  if (args.cmd !== undefined) return args.cmd;
  if (args.data === undefined) throw new RpcError(RpcErrorCode.Failed, "rpc: Raft.Apply needs a command");
  let cmd: unknown;
  try {
    cmd = await runSliced(decodeCommandSlices(args.data));
  } catch {
    cmd = undefined;
  }
  if (typeof cmd !== "object" || cmd === null || typeof (cmd as { Type?: unknown }).Type !== "string") {
    throw new RpcError(RpcErrorCode.Failed, "rpc: Raft.Apply needs a command");
  }
  return cmd as Command;
}

export interface ApplyReply {
  index: number;
  result: ApplyResult;
}

export interface HttpForwardArgs {
  req: RawApiRequest;
  forwarded: boolean;
  /** Sent by a server of another datacenter (datacenter-router.ts): never sent on to a third one. */
  fromOtherDatacenter?: boolean;
}

export interface PingReply {
  leader: string;
  server: boolean;
}

/**
 * Paths every agent answers from its own state (agent endpoints, its event buffer). The keyring
 * endpoint too: a server runs it over its own gossip pools, a client agent refuses it, as Consul.
 */
export function isAgentLocalPath(path: string): boolean {
  return path.startsWith("/v1/agent/") || path.startsWith("/v1/event/") || path === "/v1/operator/keyring";
}

/**
 * Paths a server answers from its own Raft view without asking the leader; the datacenter list
 * comes from its own WAN pool (Consul's Catalog.ListDatacenters needs no leader).
 */
export function isServerLocalPath(path: string): boolean {
  return isAgentLocalPath(path) || path.startsWith("/v1/status/") || path === "/v1/catalog/datacenters" || path === "/v1/coordinate/datacenters";
}

/** `?stale` reads may be answered by any server, unless `max_stale` says we are too far behind. */
export function isStaleRead(req: ApiRequest, lastContactMs: number): boolean {
  if (req.method !== "GET" || req.query.stale === undefined) return false;
  const maxStale = req.query.max_stale;
  if (typeof maxStale !== "string" || maxStale === "") return true;
  const limitMs = parseDurationMs(maxStale);
  return limitMs === undefined || lastContactMs <= limitMs;
}

function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) return undefined;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000;
  return Number(m[1]) * scale;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "proxy-connection"]);

export function rawRequestOf(req: ApiRequest): RawApiRequest {
  const headers: RawApiRequest["headers"] = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  return { method: req.method, path: req.path, rawQuery: req.rawQuery, headers, body: req.body, remoteAddress: req.remoteAddress, agentNode: req.agentNode };
}

export function asRawResponse(value: unknown): RawApiResponse {
  const v = value as Partial<RawApiResponse> | undefined;
  if (!v || typeof v.status !== "number" || typeof v.headers !== "object" || v.headers === null) {
    throw new RpcError(RpcErrorCode.Failed, "rpc: malformed HTTP.Forward answer");
  }
  const body = typeof v.body === "string" ? v.body : v.body instanceof Uint8Array ? Buffer.from(v.body.buffer, v.body.byteOffset, v.body.byteLength) : "";
  return { status: v.status, headers: { ...v.headers }, body };
}

export function asApplyReply(value: unknown): ApplyReply {
  const v = value as Partial<ApplyReply> | undefined;
  if (!v || typeof v.index !== "number" || typeof v.result !== "object" || v.result === null) {
    throw new RpcError(RpcErrorCode.Failed, "rpc: malformed Raft.Apply answer");
  }
  return { index: v.index, result: v.result };
}

/** An RPC failure as the HTTP answer Consul gives for it. */
export function httpErrorOf(err: unknown): Error {
  if (err instanceof RpcError) {
    if (err.code === RpcErrorCode.NoLeader || err.code === RpcErrorCode.NotLeader) return errors.noLeader();
    if (err.code === RpcErrorCode.LeadershipLost) return errors.internal(err.message);
    return errors.internal(`rpc error making call: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Consul's canRetry: a call that provably did not run (no leader, not the leader, never sent,
 * too busy) may be sent again; a read also after the connection broke mid-call (EOF). A write
 * whose outcome is unknown is never sent twice.
 */
function canRetryCall(err: unknown, isRead: boolean): boolean {
  if (!(err instanceof RpcError)) return false;
  return err.safeToRetry || (isRead && err.code === RpcErrorCode.Connection);
}

/** Raft's ErrLeadershipLost text, which Consul answers for a write caught by a step-down. */
const LEADERSHIP_LOST = "leadership lost while committing log";

/** Consul's default hold on the real clock, for callers that pass none. */
const SYSTEM_HOLD: LeaderHold = { clock: systemClock, rng: systemRng, holdTimeoutMs: DEFAULT_RPC_HOLD_TIMEOUT_MS };

function isNotLeader(err: unknown): err is Error & { code: string } {
  return err instanceof Error && (err as Error & { code?: unknown }).code === RpcErrorCode.NotLeader;
}

/**
 * The server's Consensus as handlers and the local agent see it: proposes locally on the
 * leader; on a follower sends the command to the leader. Without a known leader the proposal
 * is held (performance.rpc_hold_timeout) until one is elected.
 */
export class LeaderForwardingConsensus implements Consensus {
  readonly #inner: Consensus;
  readonly #pool: RpcPool;
  readonly #applyTimeoutMs: number;
  readonly #hold: LeaderHold;

  constructor(inner: Consensus, pool: RpcPool, options: { applyTimeoutMs?: number; hold?: LeaderHold } = {}) {
    this.#inner = inner;
    this.#pool = pool;
    this.#applyTimeoutMs = options.applyTimeoutMs ?? 30_000;
    this.#hold = options.hold ?? SYSTEM_HOLD;
  }

  get inner(): Consensus {
    return this.#inner;
  }

  propose(cmd: Command, options?: ProposeOptions): Promise<ApplyReply> {
    // The leader's own writes (the hot path) skip the hold's promise layers.
    if (this.#inner.isLeader()) return this.#proposeAsLeader(cmd, options);
    return holdUntilLeader(this.#hold, () => this.#proposeOnce(cmd, options), { leadership: this.#inner });
  }

  async #proposeOnce(cmd: Command, options: ProposeOptions | undefined): Promise<HoldAttempt<ApplyReply>> {
    if (this.#inner.isLeader()) return { ok: true, value: await this.#proposeAsLeader(cmd, options) };
    const leader = this.#inner.leaderAddress();
    if (leader === "") return { ok: false, error: new RpcError(RpcErrorCode.NoLeader, "No cluster leader") };
    const args = await applyArgsFor(cmd, true);
    try {
      return { ok: true, value: asApplyReply(await this.#pool.call(leader, RpcMethod.Apply, args, { timeoutMs: this.#applyTimeoutMs })) };
    } catch (err) {
      if (canRetryCall(err, false)) return { ok: false, error: err };
      throw err;
    }
  }

  /** Proposes here only; what Raft.Apply does for a call that was already forwarded once. */
  proposeHere(cmd: Command): Promise<ApplyReply> {
    if (!this.#inner.isLeader()) {
      const leader = this.#inner.leaderAddress();
      return Promise.reject(new RpcError(RpcErrorCode.NotLeader, leader === "" ? "No cluster leader" : `not the leader (leader is ${leader})`, leader));
    }
    return this.#proposeAsLeader(cmd);
  }

  /**
   * Called only while this server leads, so the inner propose accepts the entry: a not-leader
   * failure afterwards means leadership was lost before the entry committed, and the entry may
   * still commit under the next leader. Sending it again could apply it twice.
   */
  #proposeAsLeader(cmd: Command, options?: ProposeOptions): Promise<ApplyReply> {
    return this.#inner.propose(cmd, options).catch((err: unknown) => {
      throw isNotLeader(err) ? new RpcError(RpcErrorCode.LeadershipLost, LEADERSHIP_LOST) : err;
    });
  }

  isLeader(): boolean {
    return this.#inner.isLeader();
  }
  leaderAddress(): string {
    return this.#inner.leaderAddress();
  }
  lastContactMs(): number {
    return this.#inner.lastContactMs();
  }
  peers(): string[] {
    return this.#inner.peers();
  }
  appliedIndex(): number {
    return this.#inner.appliedIndex();
  }
  logStatus(): RaftLogStatus | undefined {
    return this.#inner.logStatus?.();
  }
  readBarrier(): Promise<void> {
    return this.#inner.readBarrier();
  }
  onLeadershipChange(cb: (isLeader: boolean) => void): () => void {
    return this.#inner.onLeadershipChange(cb);
  }
}

/**
 * A follower's HTTP policy: agent and status endpoints and `?stale` reads are answered here;
 * everything else (writes, default and `?consistent` reads) by the leader's handlers. While
 * no leader is known, or the leader cannot be reached, the request is held (Consul's
 * rpc_hold_timeout); when this server wins the election meanwhile it answers itself.
 */
export function followerRequestForwarder(consensus: Consensus, pool: RpcPool, hold: LeaderHold = SYSTEM_HOLD): RequestForwarder {
  return (req, { signal }) => {
    if (consensus.isLeader() || isServerLocalPath(req.path) || isStaleRead(req, consensus.lastContactMs())) return undefined;
    const args: HttpForwardArgs = { req: rawRequestOf(req), forwarded: true };
    const isRead = req.method === "GET" || req.method === "HEAD";
    const attempt = async (): Promise<HoldAttempt<RawApiResponse | undefined>> => {
      if (consensus.isLeader()) return { ok: true, value: undefined };
      const leader = consensus.leaderAddress();
      if (leader === "") return { ok: false, error: errors.noLeader() };
      try {
        return { ok: true, value: asRawResponse(await pool.call(leader, RpcMethod.HttpForward, args, { signal: signal() })) };
      } catch (err) {
        if (canRetryCall(err, isRead) && !signal().aborted) return { ok: false, error: httpErrorOf(err) };
        throw httpErrorOf(err);
      }
    };
    return holdUntilLeader(hold, attempt, { signal: signal(), leadership: consensus });
  };
}
