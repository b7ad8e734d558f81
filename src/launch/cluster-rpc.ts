import { ServerDelegate } from "../agent/server-delegate.ts";
import type { AclService } from "../acl/service.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";
import type { Metrics } from "../runtime/metrics.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import type { StateMachine } from "../fsm/apply.ts";
import type { ApiDispatcher, RequestForwarder } from "../http/dispatch-request.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "../server/consensus.ts";
import { followerRequestForwarder, LeaderForwardingConsensus } from "../server/leader-forwarding.ts";
import { DEFAULT_RPC_HOLD_TIMEOUT_MS, type LeaderHold } from "../server/leader-wait.ts";
import { serverRpcHandlers } from "../server/rpc-endpoints.ts";
import { datacenterRequestForwarder, ViaServerDatacenterRouter, WanDatacenterRouter, type DatacenterRouter, type WanMembersView } from "../server/datacenter-router.ts";
import { AUTO_ENCRYPT_SIGN, autoEncryptSignHandler } from "../server/auto-encrypt-endpoint.ts";
import { RpcPool } from "../transport/rpc-client.ts";
import type { Socket } from "node:net";
import { RAFT_PROTOCOL_BYTE } from "../transport/rpc.ts";
import type { ServerPortTls } from "../transport/server-port-tls.ts";
import { rpcStartError } from "./start-errors.ts";
import { defaultRpcServerLimits, startRpcServer, type RunningRpcServer } from "../transport/rpc-server.ts";

// The RPC side of the wiring, kept apart from start-agent.ts: a server wraps its consensus so
// followers forward to the leader and listens on the server port; a client agent talks to
// the servers through a ServerDelegate and forwards its non-agent HTTP requests to them.

export interface ClusterRpcDeps {
  rc: RuntimeConfig | undefined;
  /** The server's own consensus (LocalLog or Raft); unused on client agents. */
  serverConsensus: Consensus;
  /** A client agent's local store (its own catalog rows only). */
  fsm: StateMachine;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** consul.rpc.request (requests this server answers) and consul.client.rpc (a client agent's calls). */
  metrics?: Metrics;
  /** Servers running Raft over the server port: takes each connection that opens with RAFT_PROTOCOL_BYTE. */
  raftConnections?: (socket: Socket, head: Buffer) => void;
  /** TLS on the server port (tls.internal_rpc), for the listener and outgoing calls. */
  tls?: ServerPortTls;
  /** Embedded dev agents only: a taken RPC port leaves the server without a listener instead of failing the start. */
  freePortFallback?: boolean;
  /** This agent's datacenter: `?dc=` naming another one is routed through `datacenters`. */
  datacenter: string;
}

/** What the server RPC methods read besides the route table. */
export interface ServerRpcAccess {
  catalog: CatalogTables;
  acl?: AclService;
}

export interface ClusterRpc {
  role: "server" | "client";
  /** What the agent and the HTTP handlers propose through. */
  consensus: Consensus;
  forwarder: RequestForwarder | undefined;
  /** How this agent reaches other datacenters (servers: over their WAN pool; clients: through a server). */
  datacenters: DatacenterRouter;
  /** Servers: the WAN pool the router reads, once it is started (absent with serf_wan = -1). */
  setWanPool(wan: WanMembersView | undefined): void;
  pool: RpcPool;
  /** Client agents only; gossip feeds its server list (`setServers`) from members with role=consul. */
  delegate: ServerDelegate | undefined;
  /** Servers: starts the RPC listener once the HTTP route table (and the ACL system, when on) exists. */
  listen(dispatcher: ApiDispatcher, access: ServerRpcAccess): Promise<void>;
  stop(): Promise<void>;
}

export async function setUpClusterRpc(deps: ClusterRpcDeps): Promise<ClusterRpc> {
  const { rc, clock, rng } = deps;
  const logger = deps.logger.named("agent.rpc");
  const serverPort = rc?.ports.server ?? 8300;
  const pool = new RpcPool({ clock, rng, defaultPort: serverPort, dial: deps.tls?.dial });
  const isClient = rc !== undefined && !rc.server && !rc.dev;
  const hold: LeaderHold = { clock, rng, holdTimeoutMs: rc?.rpcHoldTimeoutMs ?? DEFAULT_RPC_HOLD_TIMEOUT_MS };

  if (isClient) {
    const delegate = new ServerDelegate({ pool, localFsm: deps.fsm, clock, rng, logger, nodeName: rc.nodeName, holdTimeoutMs: hold.holdTimeoutMs, metrics: deps.metrics });
    await delegate.start();
    const datacenters = new ViaServerDatacenterRouter(deps.datacenter, (req, options) => delegate.send(req, options.signal));
    const toServer = delegate.forwarder();
    return {
      role: "client",
      consensus: delegate,
      // Agent-local paths that take ?dc= (event fire) leave the agent only for another datacenter.
      forwarder: datacenterRequestForwarder(datacenters, toServer),
      datacenters,
      setWanPool: () => {},
      pool,
      delegate,
      listen: () => Promise.resolve(),
      stop() {
        delegate.stop();
        pool.close();
        return Promise.resolve();
      },
    };
  }

  const consensus = new LeaderForwardingConsensus(deps.serverConsensus, pool, { hold });
  let listener: RunningRpcServer | undefined;
  let wanPool: WanMembersView | undefined;
  const remotePools = new Map<string, RpcPool>();
  const memberChangeListeners = new Set<() => void>();
  const datacenters = new WanDatacenterRouter({
    localDatacenter: deps.datacenter,
    wan: {
      members: () => wanPool?.members() ?? [],
      onMemberChange: (listener) => {
        memberChangeListeners.add(listener);
        return () => memberChangeListeners.delete(listener);
      },
    },
    poolFor: (dc) => {
      // With verify_server_hostname each datacenter's servers carry their own name, so each
      // datacenter gets connections of its own; otherwise the one pool serves them all.
      const tls = deps.tls;
      if (!tls || rc?.tls.internalRpc.verifyServerHostname !== true) return pool;
      let remote = remotePools.get(dc);
      if (!remote) {
        remote = new RpcPool({ clock, rng, defaultPort: serverPort, dial: tls.dialerForDatacenter(dc, rc.domain.replace(/\.$/, "")) });
        remotePools.set(dc, remote);
      }
      return remote;
    },
    logger: deps.logger.named("agent.server.rpc"),
    metrics: deps.metrics,
  });
  // A dev server is a lone voter: it always leads, so requests never need to leave it.
  const toLeader = rc?.dev === true ? undefined : followerRequestForwarder(deps.serverConsensus, pool, hold);
  return {
    role: "server",
    consensus,
    forwarder: datacenterRequestForwarder(datacenters, toLeader),
    datacenters,
    setWanPool: (wan) => {
      wanPool = wan;
      const changed = (): void => memberChangeListeners.forEach((l) => l());
      changed();
      wan?.onMemberChange?.(changed);
    },
    pool,
    delegate: undefined,
    async listen(dispatcher, access) {
      if (!rc || rc.ports.server < 0) return;
      const host = rc.bindAddr;
      const handlers = serverRpcHandlers({ consensus, dispatcher, logger, catalog: access.catalog, acl: access.acl });
      // Answered on every server (with Consul's error unless auto_encrypt.allow_tls), and the
      // only call a connection without a client certificate (RPCTLSInsecure) may make.
      const autoEncryptSign = autoEncryptSignHandler({
        dispatcher,
        datacenter: rc.datacenter,
        connectEnabled: rc.connectEnabled,
        allowTls: rc.autoEncrypt.allowTls,
        manualCaPems: () => deps.tls?.manualCaPems ?? [],
        verifyServerHostname: () => deps.tls?.verifiesServerHostname ?? false,
      });
      handlers.set(AUTO_ENCRYPT_SIGN, autoEncryptSign);
      try {
        listener = await startRpcServer({
          host,
          port: rc.ports.server,
          handlers,
          insecureHandlers: new Map([[AUTO_ENCRYPT_SIGN, autoEncryptSign]]),
          logger,
          metrics: deps.metrics,
          ...defaultRpcServerLimits,
          protocols: deps.raftConnections ? new Map([[RAFT_PROTOCOL_BYTE, deps.raftConnections]]) : undefined,
          tls: deps.tls,
        });
      } catch (err) {
        // Embedded dev agents run side by side (tests) on the default 8300: without peers
        // nothing needs the port, so they carry on without it. The CLI fails, as Consul does.
        if (!deps.freePortFallback || !rc.dev) throw rpcStartError(err, host, rc.ports.server);
        logger.warn("RPC listener not started", { address: `${host}:${rc.ports.server}`, error: err instanceof Error ? err.message : String(err) });
      }
    },
    async stop() {
      pool.close();
      for (const remote of remotePools.values()) remote.close();
      await listener?.close();
    },
  };
}
