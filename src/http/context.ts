import type { RestoreReadAhead } from "../fsm/restore-read-ahead.ts";
import type { IncomingHttpHeaders } from "node:http";
import type { LogHub } from "../runtime/logger.ts";
import type { Readable } from "node:stream";
import type { AclService } from "../acl/service.ts";
import type { Authorizer } from "../acl/authorizer.ts";
import type { Agent } from "../agent/agent.ts";
import type { KeyringOperator } from "../agent/keyring-query.ts";
import type { Membership } from "../agent/membership.ts";
import type { RemoteExecutor } from "../agent/remote-exec.ts";
import type { Clock } from "../runtime/clock.ts";
import type { HeapSampler } from "../runtime/heap-profiler.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Metrics } from "../runtime/metrics.ts";
import type { Rng } from "../runtime/rng.ts";
import type { AutopilotDuty } from "../server/autopilot.ts";
import type { LeafCache } from "../connect/leaf-cache.ts";
import type { ConnectCa } from "../server/connect-ca.ts";
import type { CoordinateBatcher } from "../server/coordinate-batcher.ts";
import type { RemoteQueryExecutor } from "../server/prepared-query-execute.ts";
import type { Consensus } from "../server/consensus.ts";
import type { DatacenterRouter } from "../server/datacenter-router.ts";
import type { RaftConsensus } from "../server/raft-consensus.ts";
import type { SessionTtlDuty } from "../server/session-ttl-duty.ts";
import type { EventBuffer } from "../state/event-buffer.ts";
import type { StateStore } from "../state/store.ts";
import type { BlockingEngine } from "./blocking.ts";
import type { QueryParams } from "./query.ts";

/** The agent settings the HTTP layer reads. */
export interface HttpSettings {
  datacenter: string;
  nodeName: string;
  devMode: boolean;
  /** enable_debug: serve /debug/pprof/profile without ACLs (Consul's rule). */
  enableDebug?: boolean;
  kvMaxValueSizeBytes: number;
  txnMaxReqLenBytes: number;
  aclDefaultPolicy: "allow" | "deny";
  prometheusRetentionTimeMs: number;
  discoveryMaxStaleMs: number;
  blockEndpoints: string[];
  /** performance.rpc_hold_timeout; absent: Consul's default (7 s). */
  rpcHoldTimeoutMs?: number;
  /** limits.http_max_conns_per_client (0: no limit); absent: Consul's default (200). Read per connection, so a reload applies. */
  httpMaxConnsPerClient?: number;
  /** ui_config: where the web UI is served ("/ui/") and from which directory ("" = built-in); absent: UI off. */
  ui?: { contentPath: string; dir: string };
  /** Internal (no config key): how long a buffered request body may take to arrive; absent: 30 s (server.ts). */
  bodyReadTimeoutMs?: number;
}

/** Everything a handler may use: reads go to `state` through the engine, writes to `consensus`. */
export interface HttpContext {
  settings: HttpSettings;
  state: StateStore;
  consensus: Consensus;
  /** Where a snapshot restore offers the state it read to this server's apply (absent: it reads it again). */
  restoreReadAhead?: RestoreReadAhead;
  blocking: BlockingEngine;
  agent: Agent;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** The merged agent configuration (DebugConfig of /v1/agent/self, ports and flags not in settings). */
  runtimeConfig: Record<string, unknown>;
  metrics: Metrics;
  /** The server's autopilot (configuration in force, latest health judgement); absent on client agents. */
  autopilot?: AutopilotDuty;
  /** The server's session TTL duty (renew restarts a timer); absent on client agents. */
  sessionTtl?: SessionTtlDuty;
  /** User events seen by this agent (agent-local, not Raft state). */
  events: EventBuffer;
  /** The agent's LAN gossip pool: members, join/leave, user event broadcast. */
  membership: Membership;
  /** A server's WAN gossip pool (`<node>.<dc>` members); absent on client agents and with ports.serf_wan = -1. */
  wanMembership?: Membership;
  /** This server's Raft (operator raft/autopilot, snapshot metadata); absent on client agents and LocalLog servers. */
  raft?: RaftConsensus;
  /** Gossip keyring operations across this server's pools (/v1/operator/keyring); absent on client agents. */
  keyring?: KeyringOperator;
  /** The ACL system; absent while ACLs are disabled (then /v1/acl/* answers 401 "ACL support disabled"). */
  acl?: AclService;
  /** Live log subscribers (GET /v1/agent/monitor); absent when the agent's logger has none. */
  logHub?: LogHub;
  /** The built-in Connect CA (init, rotation, signing on the leader); absent on client agents. */
  connectCa?: ConnectCa;
  /** This agent's Connect leaf certificates (set by the wiring once the dispatcher exists). */
  connectLeaves?: LeafCache;
  /**
   * How this agent reaches other datacenters: `forward(dc, rawRequest)` runs an API request in
   * `dc` as if asked there (server: WAN RPC to one of its servers; client agent: through its
   * server). Set by the wiring; absent in handler tests without a cluster.
   */
  datacenters?: DatacenterRouter;
  /** Heap sampling since start (/debug/pprof/heap); present while profiling is allowed (enable_debug or ACLs). */
  heapSampler?: HeapSampler;
  /** Runs `consul exec` jobs (`_rexec` events); absent while disable_remote_exec is true (the default). */
  remoteExec?: RemoteExecutor;
  /** The leader's queue of agents' coordinate updates (Coordinate.Update batching); absent on client agents. */
  coordinateUpdates?: CoordinateBatcher;
  /** Cross-datacenter execution for prepared-query failover; absent until the WAN layer provides it. */
  preparedQueryRemote?: RemoteQueryExecutor;
  /** Runs an API request through this agent's own dispatcher (forwarded as any request would be); set by the wiring. */
  internalRequest?: (req: InternalApiRequest) => Promise<{ status: number; headers: Record<string, string>; body: string | Buffer }>;
}

export interface InternalApiRequest {
  method: string;
  path: string;
  rawQuery: string;
  body?: Buffer;
  token?: string;
}

export interface ApiRequest {
  method: string;
  /** The whole request path, still percent-encoded. */
  path: string;
  /** Percent-decoded remainder of the path after the route prefix ("" for exact routes). */
  suffix: string;
  query: QueryParams;
  /** The raw query string (without "?"), for messages that echo it. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
  /**
   * The body still unread, on routes that stream it (Route.streamedBodyLimit) when this agent
   * answers itself; `body` is then undefined. Forwarded requests carry `body` instead.
   */
  bodyStream?: Readable;
  remoteAddress: string;
  /** The node of the agent that first took the request (RawApiRequest.agentNode), never "". */
  agentNode: string;
  /**
   * Aborted when whoever asked went away (HTTP client hung up, RPC call cancelled); made on
   * first use. A blocking query gives up its wait on it.
   */
  signal?: () => AbortSignal;
  /**
   * What the request's token resolved to (or the refusal it met): set once by
   * http/request-authorizer.ts, the enforcement seam, and read only through it.
   */
  authorization?: { authz: Authorizer } | { error: unknown };
}

export type Reply =
  | { kind: "json"; status: number; value: unknown; headers?: Record<string, string>; encoded?: string | Buffer }
  | { kind: "text"; status: number; body: string | Buffer; contentType?: string; headers?: Record<string, string> }
  | { kind: "empty"; status: number; headers?: Record<string, string> }
  /** A body produced while it is sent (snapshot save): piped to the client with backpressure, collected for RPC. */
  | { kind: "stream"; status: number; body: Readable; contentType: string; headers?: Record<string, string> };

export type Handler = (ctx: HttpContext, req: ApiRequest) => Promise<Reply> | Reply;
