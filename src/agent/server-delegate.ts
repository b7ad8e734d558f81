import { asTokenResolutionReply, type TokenResolutionReply } from "../acl/token-resolution.ts";
import { ConsulError, type ErrorCode } from "../errors/catalog.ts";
import type { Command } from "../fsm/command.ts";
import { requestToken } from "../http/query.ts";
import { METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { StateMachine } from "../fsm/apply.ts";
import type { RawApiRequest, RawApiResponse, RequestForwarder } from "../http/dispatch-request.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "../server/consensus.ts";
import { InOrderApplier } from "../server/in-order-apply.ts";
import {
  applyArgsFor,
  asApplyReply,
  asRawResponse,
  httpErrorOf,
  isAgentLocalPath,
  rawRequestOf,
  RpcMethod,
  type ApplyReply,
  type CatalogWriteArgs,
  type HttpForwardArgs,
  type PingReply,
} from "../server/leader-forwarding.ts";
import { DEFAULT_RPC_HOLD_TIMEOUT_MS, holdUntilLeader, type HoldAttempt, type LeaderHold } from "../server/leader-wait.ts";
import type { RpcPool } from "../transport/rpc-client.ts";
import { RpcError, RpcErrorCode } from "../transport/rpc.ts";

// A client agent's link to the servers (Consul's client-side RPC router).
//
// Writes: `writeCatalog` sends the command with the token it is made with as Catalog.Register
// (or Deregister) to one server, which authorises it and passes it to the leader; it sticks
// to a server until a call to it fails, then moves on to the next, for up to `holdTimeoutMs`
// (performance.rpc_hold_timeout). The only writes a client makes are its own catalog
// (de)registrations, which are idempotent, so retrying after an unknown outcome is safe. A
// client never sends Raft.Apply: servers take that only from servers.
//
// Reads and API writes: `forwarder` passes every request that is not agent-local to a server
// as HTTP.Forward, so the server's handlers answer (blocking queries included; the call is
// cancelled when the HTTP client goes away). The caller's token travels in the request; one
// that carries none gets this agent's default token (else anonymous) when ACLs are on, as a
// Consul client fills in its user token: the server never applies its own default token to
// a client's caller.
//
// ACLs: `resolveToken` asks a server about a secret (ACL.ResolveToken) for what this agent
// decides itself (its /v1/agent/* endpoints, DNS); remote-token-cache.ts caches the answers.
//
// State: a client keeps its own StateStore holding only what it wrote about its own node:
// every catalog command a server acknowledged is applied to it too (at a local index), so
// anti-entropy and /v1/agent/health/* read this node's rows in-process as on a server. It
// does not see changes others make to those rows; the periodic full sync re-pushes this
// agent's view, which is what Consul converges to as well.

export interface ServerDelegateOptions {
  pool: RpcPool;
  /** The client's local store of its own catalog rows. */
  localFsm: StateMachine;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /**
   * performance.rpc_hold_timeout: how long a call keeps trying servers before failing; rounds
   * over the servers are a random pause of up to a sixteenth of it apart (leader-wait.ts).
   */
  holdTimeoutMs?: number;
  applyTimeoutMs?: number;
  /** consul.client.rpc: one per call to a server, each retry included (Consul's Client.RPC). */
  metrics?: Metrics;
  pingIntervalMs?: number;
  /**
   * This agent's node name. A session created through a client belongs to the client's node
   * (Consul's agent fills it in before the RPC); the server would otherwise default to its own.
   */
  nodeName?: string;
}

interface CallOptions {
  retryUnknownOutcome: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const MIRRORED: ReadonlySet<Command["Type"]> = new Set(["catalog-register", "catalog-deregister"]);

export class ServerDelegate implements Consensus {
  readonly #options: Required<Omit<ServerDelegateOptions, "pool" | "localFsm" | "clock" | "rng" | "logger" | "nodeName" | "metrics">> & ServerDelegateOptions;
  #servers: string[] = [];
  #serverNames: ReadonlyMap<string, string> = new Map();
  /** Index into #servers of the server calls go to until one fails. */
  #current = 0;
  #leader = "";
  /** This agent's own catalog rows, mirrored locally once a server accepted them. */
  readonly #mirror: InOrderApplier;
  #pingTimer: TimerHandle | undefined;
  #stopped = false;
  /**
   * Set when ACLs are on: the secret a forwarded request that carries none is sent with
   * (the agent's default token, else anonymous).
   */
  tokenForUntokenedRequests: (() => string) | undefined;

  constructor(options: ServerDelegateOptions) {
    this.#options = { holdTimeoutMs: DEFAULT_RPC_HOLD_TIMEOUT_MS, applyTimeoutMs: 30_000, pingIntervalMs: 10_000, ...options };
    this.#mirror = new InOrderApplier(options.localFsm);
  }

  /**
   * Replaces the servers to talk to ("host" or "host:port" of their server port); `names`
   * (address → node name) labels consul.client.rpc.failed as Consul labels it.
   */
  setServers(addresses: readonly string[], names?: ReadonlyMap<string, string>): void {
    if (names) this.#serverNames = names;
    const next = [...new Set(addresses.filter((a) => a !== ""))];
    const current = this.#servers[this.#current];
    this.#servers = next;
    const keep = current === undefined ? -1 : next.indexOf(current);
    this.#current = keep >= 0 ? keep : next.length > 0 ? Math.floor(this.#options.rng.float() * next.length) : 0;
  }

  servers(): string[] {
    return [...this.#servers];
  }

  /** Pings a server now and then, so `leaderAddress` stays current; the first ping is awaited. */
  async start(): Promise<void> {
    await this.#ping();
    this.#schedulePing();
  }

  stop(): void {
    this.#stopped = true;
    this.#pingTimer?.cancel();
  }

  /** The Consensus view: a catalog write as anonymous (the agent itself writes through `writeCatalog` with its tokens). */
  propose(cmd: Command): Promise<ApplyReply> {
    return this.writeCatalog(cmd, "");
  }

  /**
   * One of this agent's own catalog writes, made with `token` ("" = anonymous): the server
   * refuses it with Consul's 403 errors (PermissionDenied, ACL not found) when the token may not.
   */
  async writeCatalog(cmd: Command, token: string): Promise<ApplyReply> {
    const method = cmd.Type === "catalog-register" ? RpcMethod.CatalogRegister : cmd.Type === "catalog-deregister" ? RpcMethod.CatalogDeregister : undefined;
    if (method === undefined) throw new Error(`a client agent writes only its own catalog rows, not ${cmd.Type}`);
    const { cmd: small, data } = await applyArgsFor(cmd, false);
    const args: CatalogWriteArgs = { cmd: small, data, token };
    let reply: ApplyReply;
    try {
      reply = asApplyReply(await this.#callAny(method, args, { retryUnknownOutcome: true, timeoutMs: this.#options.applyTimeoutMs }));
    } catch (err) {
      throw aclErrorOf(err);
    }
    // A registration with thousands of checks is mirrored in slices, as servers apply it.
    if (reply.result.ok && MIRRORED.has(cmd.Type)) await this.#mirror.apply(cmd);
    return reply;
  }

  /** A server's answer about `secret`; rejects when no server answered within the hold. */
  async resolveToken(secret: string): Promise<TokenResolutionReply> {
    try {
      return asTokenResolutionReply(await this.#callAny(RpcMethod.AclResolveToken, { secret }, { retryUnknownOutcome: true, timeoutMs: 10_000 }));
    } catch (err) {
      throw aclErrorOf(err);
    }
  }

  /** The HTTP policy of a client agent: agent-local endpoints here, everything else on a server. */
  forwarder(): RequestForwarder {
    return (req, { signal }) => {
      if (isAgentLocalPath(req.path)) return undefined;
      const raw = rawRequestOf(req);
      const fallbackToken = this.tokenForUntokenedRequests;
      if (fallbackToken && requestToken(req.query, req.headers) === "") raw.headers = { ...raw.headers, "x-consul-token": fallbackToken() };
      return this.send(raw, signal());
    };
  }

  /**
   * Runs a request on a server (HTTP.Forward), as the forwarder does for every request that is
   * not agent-local; also how this agent reaches other datacenters (the request names `?dc=`).
   */
  async send(raw: RawApiRequest, signal?: AbortSignal): Promise<RawApiResponse> {
    const nodeName = this.#options.nodeName;
    if (nodeName !== undefined && raw.method === "PUT" && raw.path === "/v1/session/create") raw = { ...raw, body: withDefaultNode(raw.body, nodeName) };
    const args: HttpForwardArgs = { req: raw, forwarded: false };
    try {
      const value = await this.#callAny(RpcMethod.HttpForward, args, { retryUnknownOutcome: raw.method === "GET", signal });
      return asRawResponse(value);
    } catch (err) {
      throw httpErrorOf(err);
    }
  }

  isLeader(): boolean {
    return false;
  }

  leaderAddress(): string {
    return this.#leader;
  }

  lastContactMs(): number {
    return 0;
  }

  peers(): string[] {
    return this.servers();
  }

  appliedIndex(): number {
    return this.#mirror.lastIndex();
  }

  readBarrier(): Promise<void> {
    return Promise.resolve();
  }

  /** A client never leads. */
  onLeadershipChange(_cb: (isLeader: boolean) => void): () => void {
    return () => {};
  }

  /**
   * Calls one server, moving on to the next when a call fails in a way another server may fix
   * (Consul's client RPC with canRetry); `retryUnknownOutcome` also retries when the call may
   * have run (reads, idempotent proposals). Rounds over the servers repeat within the hold.
   */
  #callAny(method: string, args: unknown, options: CallOptions): Promise<unknown> {
    const hold: LeaderHold = { clock: this.#options.clock, rng: this.#options.rng, holdTimeoutMs: this.#options.holdTimeoutMs };
    return holdUntilLeader(hold, () => this.#tryEachServer(method, args, options), { signal: options.signal });
  }

  async #tryEachServer(method: string, args: unknown, options: CallOptions): Promise<HoldAttempt<unknown>> {
    let lastError: unknown = new RpcError(RpcErrorCode.Connection, "rpc: no known servers", "", { notSent: true });
    const count = this.#servers.length;
    for (let i = 0; i < count; i++) {
      const address = this.#servers[this.#current % count];
      if (options.signal?.aborted) throw new RpcError(RpcErrorCode.Cancelled, "rpc: call cancelled");
      try {
        this.#options.metrics?.incrCounter(METRIC_NAMES.clientRpc);
        return { ok: true, value: await this.#options.pool.call(address, method, args, { timeoutMs: options.timeoutMs, signal: options.signal }) };
      } catch (err) {
        // Consul counts every failed call to a server (client.go), retried or not.
        this.#options.metrics?.incrCounter(METRIC_NAMES.clientRpcFailed, 1, { server: this.#serverNames.get(address) ?? address });
        if (!(err instanceof RpcError) || !this.#retryable(err, options.retryUnknownOutcome)) throw err;
        lastError = err;
        if (err.code === RpcErrorCode.Connection || err.code === RpcErrorCode.Timeout) {
          this.#options.logger.warn("rpc: server call failed, trying the next server", { server: address, method, error: err.message });
        }
        this.#current = (this.#current + 1) % Math.max(1, this.#servers.length);
      }
    }
    if (this.#stopped) throw lastError;
    return { ok: false, error: lastError };
  }

  #retryable(err: RpcError, retryUnknownOutcome: boolean): boolean {
    if (err.safeToRetry) return true;
    return retryUnknownOutcome && (err.code === RpcErrorCode.Connection || err.code === RpcErrorCode.Timeout || err.code === RpcErrorCode.LeadershipLost);
  }

  async #ping(): Promise<void> {
    if (this.#servers.length === 0) return;
    const address = this.#servers[this.#current % this.#servers.length];
    try {
      const reply = (await this.#options.pool.call(address, RpcMethod.Ping, null, { timeoutMs: 5000 })) as Partial<PingReply> | undefined;
      if (typeof reply?.leader === "string") this.#leader = reply.leader;
    } catch (err) {
      this.#current = (this.#current + 1) % this.#servers.length;
      this.#options.logger.debug("rpc: ping failed", { server: address, error: err instanceof Error ? err.message : String(err) });
    }
  }

  #schedulePing(): void {
    if (this.#stopped) return;
    this.#pingTimer = this.#options.clock.setTimer(this.#options.pingIntervalMs, () => {
      this.#ping().then(
        () => this.#schedulePing(),
        () => this.#schedulePing(),
      );
    });
  }
}

/** The server's ACL refusals (they travel as RPC error codes) as the 403s they are. */
function aclErrorOf(err: unknown): unknown {
  if (err instanceof RpcError && (err.code === "PermissionDenied" || err.code === "AclNotFound" || err.code === "AclDisabled")) {
    return new ConsulError(err.code satisfies ErrorCode, err.message);
  }
  return err;
}

/** A session create body with `Node` set to this agent's node when the caller left it out. */
function withDefaultNode(body: Buffer | undefined, nodeName: string): Buffer | undefined {
  const text = body === undefined ? "" : body.toString("utf8").trim();
  let parsed: unknown = {};
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      return body; // the server answers the decode error
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return body;
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.Node === "string" && fields.Node !== "") return body;
  return Buffer.from(JSON.stringify({ ...fields, Node: nodeName }));
}
