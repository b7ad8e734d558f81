import { Agent, type AgentIdentity } from "../agent/agent.ts";
import type { Membership } from "../agent/membership.ts";
import { startMembership } from "../agent/membership-config.ts";
import { dnsQueryExecutor } from "./dns-query-wiring.ts";
import type { RemoteQueryExecutor } from "../server/prepared-query-execute.ts";
import { wanRemoteQueryExecutor } from "./prepared-query-remote.ts";
import { startCoordinates } from "./coordinate-wiring.ts";
import { startWanMembership } from "../agent/wan-membership.ts";
import { WanFlood } from "../agent/wan-flood.ts";
import { keyringOperatorFor } from "../agent/keyring-pools.ts";
import { loadLanKeyring, loadWanKeyring } from "../agent/keyring-setup.ts";
import { LocalKeyring } from "../agent/local-keyring.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import { dnsSettingsFromConfig, type DnsSettings } from "../dns/dns-settings.ts";
import { startDnsServer, type RunningDnsServer } from "../dns/dns-server.ts";
import { StateMachine } from "../fsm/apply.ts";
import { BlockingEngine } from "../http/blocking.ts";
import type { HttpContext, HttpSettings } from "../http/context.ts";
import { ApiDispatcher } from "../http/dispatch-request.ts";
import { startHttpServer, type RunningHttpServer } from "../http/server.ts";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { httpsServerOptions } from "./https-options.ts";
import { serverPortTlsFromConfig, serverPortTlsSettings } from "./server-port-tls-config.ts";
import type { ServerPortDialer } from "../transport/server-port-tls.ts";
import { systemClock, type Clock } from "../runtime/clock.ts";
import { createLogger, LogHub, type Logger, type LogLevel } from "../runtime/logger.ts";
import { startHeapSampling } from "../runtime/heap-profiler.ts";
import { Metrics } from "../runtime/metrics.ts";
import { systemRng, type Rng } from "../runtime/rng.ts";
import { TimerWheel } from "../runtime/timer-wheel.ts";
import { LocalLog, type Consensus } from "../server/consensus.ts";
import { RaftConsensus, type RaftPeer } from "../server/raft-consensus.ts";
import { LeaderReconcile } from "../server/leader-reconcile.ts";
import { AutopilotDuty } from "../server/autopilot.ts";
import { autopilotConfigFromAgentConfig } from "../model/autopilot.ts";
import { SessionTtlDuty } from "../server/session-ttl-duty.ts";
import { deliverUserEvent } from "../http/handlers/event.ts";
import { EventBuffer } from "../state/event-buffer.ts";
import { StateStore } from "../state/store.ts";
import { FileRegistrationStore } from "../storage/agent-registrations.ts";
import { setUpClusterRpc } from "./cluster-rpc.ts";
import { loadOrStoreNodeId } from "../storage/node-id-file.ts";
import { lockDataDir } from "../storage/data-dir-lock.ts";
import { removeLeftoverTempFiles } from "../storage/leftover-temp-files.ts";
import { join } from "node:path";
import type { Socket } from "node:net";
import { RaftServerDiscovery } from "../server/raft-server-discovery.ts";
import { raftTicksFor } from "../server/raft-timing.ts";
import { RpcMethod } from "../server/leader-forwarding.ts";
import { startAclSystem, type AclWiringOptions } from "./acl-wiring.ts";
import { clientCatalogWrites, serverCatalogWrites } from "../agent/catalog-writes.ts";
import { gossipBindHost } from "../agent/membership-config.ts";
import { startAgentMetrics } from "./agent-metrics.ts";
import { startRemoteExec } from "./remote-exec-wiring.ts";
import { goListenError, serfStartError, StartedParts } from "./start-errors.ts";
import { ConnectCa } from "../server/connect-ca.ts";
import { ConfigEntryBootstrap } from "../server/config-entry-bootstrap.ts";
import { startConnectAgent } from "./connect-wiring.ts";
import { AutoEncryptClient, rootsThroughDispatcher } from "./auto-encrypt.ts";
import { followConnectRoots } from "../server/connect-roots-trust.ts";

// The production wiring, in one file: runtime → state → fsm → consensus → agent → http.
// Tests and the simulator wire fakes through the same seams (clock, rng, logger).

import { CONSUL_COMPAT_VERSION } from "../version.ts";
import { loadUiSite } from "./load-ui-site.ts";

export interface AgentRuntimeOptions {
  identity: Omit<AgentIdentity, "version">;
  http: HttpSettings;
  httpHost: string;
  /** The plain HTTP port; < 0 disables plain HTTP (then `https` must be given). */
  httpPort: number;
  /** The HTTPS API beside (or instead of) plain HTTP. */
  https?: { host: string; port: number; tls: HttpsServerOptions; /** auto_encrypt.tls: serve the certificate the servers issue. */ autoCert?: boolean };
  logLevel: LogLevel;
  logJson: boolean;
  /** The DNS interface; absent or port < 0 disables it (port 0 picks a free port). */
  dns?: { hosts: string[]; port: number; settings: DnsSettings };
  /** The resolved configuration, when started from config (CLI, startDevAgent). */
  runtimeConfig?: RuntimeConfig;
  /**
   * Internal: how a server replicates. "raft" is the default for a server started from
   * configuration (-dev: a lone in-memory voter); "local" is the pre-Raft single-process log,
   * the default without a runtimeConfig (handler tests). CONSULATE_CONSENSUS=local|raft overrides.
   */
  consensus?: "raft" | "local";
  /** Internal: the other servers of a static Raft configuration (gossip discovery feeds this later). */
  raftPeers?: RaftPeer[];
  /** Internal: where this server's Raft transport listens (default: the bind address, a free port). */
  raftBind?: { host: string; port: number };
  /** ACLs enabled with these settings (from the acl stanza: from-config.ts; tests may set it directly). */
  acl?: AclWiringOptions;
  /**
   * Embedding only (startDevAgent): a taken serf or server RPC port falls back to a free port
   * (serf) or no listener (RPC), so several embedded dev agents run side by side. The CLI fails
   * the start instead, as Consul does.
   */
  freePortFallback?: boolean;
  /**
   * Prepared-query failover across datacenters (tests and embedding; the WAN layer's forwarding
   * provides it otherwise). Absent and without cross-DC forwarding: no failover.
   */
  preparedQueryRemote?: RemoteQueryExecutor;
}

export interface RunningAgent {
  agent: Agent;
  state: StateStore;
  consensus: Consensus;
  /** The Raft consensus of a server running Raft (cluster membership: addPeer, setPeerAddress…). */
  raft?: RaftConsensus;
  /** The LAN gossip pool: members, servers() and onServersChanged() for RPC routing and Raft bootstrap. */
  membership: Membership;
  /** A server's WAN gossip pool; absent on client agents and with ports.serf_wan = -1. */
  wanMembership?: Membership;
  /** The plain HTTP listener, or the HTTPS one when plain HTTP is disabled (ports.http = -1). */
  http: RunningHttpServer;
  /** The blocking-query engine (its `waiting` count is every parked query). */
  blocking: BlockingEngine;
  /** The HTTPS listener, when ports.https is set. */
  https?: RunningHttpServer;
  /** One per DNS listen address; each serves UDP and TCP on the same port. */
  dns: RunningDnsServer[];
  logger: Logger;
  /** Resolves when the agent was asked to leave (PUT /v1/agent/leave). */
  leaveRequested: Promise<void>;
  /** Graceful leave: tells the cluster this member is going away (before stop). */
  leave(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartDeps {
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** The hub `logger` publishes to (GET /v1/agent/monitor); made here along with a default logger. */
  logHub?: LogHub;
  /** Re-reads the configuration for SIGHUP and PUT /v1/agent/reload. */
  reloadConfig?: () => Promise<RuntimeConfig>;
}

/**
 * Starts an agent. One with a data dir first takes the dir's lock (a second agent on it is
 * refused, naming the holder's pid), held until stop(), and clears files left by interrupted
 * writes.
 */
export async function startAgent(options: AgentRuntimeOptions, deps: StartDeps = {}): Promise<RunningAgent> {
  const rc = options.runtimeConfig;
  const lock = rc && rc.dataDir !== "" && !rc.inMemory ? await lockDataDir(rc.dataDir) : undefined;
  const parts = new StartedParts();
  try {
    const running = await startAgentParts(options, deps, parts, lock !== undefined);
    if (!lock) return running;
    return {
      ...running,
      async stop() {
        try {
          await running.stop();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (err) {
    await parts.unwind();
    await lock?.release();
    throw err;
  }
}

async function startAgentParts(options: AgentRuntimeOptions, deps: StartDeps, parts: StartedParts, dataDirLocked: boolean): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  const rng = deps.rng ?? systemRng;
  const logHub = deps.logger ? deps.logHub : new LogHub();
  const logger =
    deps.logger ?? createLogger({ level: options.logLevel, json: options.logJson, write: (l) => process.stdout.write(l), hub: logHub });
  if (dataDirLocked && options.runtimeConfig) {
    for (const path of await removeLeftoverTempFiles(options.runtimeConfig.dataDir)) {
      logger.named("agent").warn("Removed a file left by an interrupted write", { path });
    }
  }
  const state = new StateStore();
  const fsm = new StateMachine(state);
  const rc = options.runtimeConfig;
  const nodeId = rc && rc.nodeIdGenerated && rc.dataDir !== "" && !rc.inMemory ? await loadOrStoreNodeId(rc.dataDir, options.identity.nodeId) : options.identity.nodeId;
  const identity: AgentIdentity = { ...options.identity, nodeId, version: CONSUL_COMPAT_VERSION };
  const serverAddress = `${identity.advertiseAddr}:${identity.serverPort}`;
  // Before anything listens: a ui_config.dir that cannot be read refuses start with nothing to undo.
  const ui = options.http.ui
    ? await loadUiSite(options.http.ui, { datacenter: identity.datacenter, primaryDatacenter: rc?.primaryDatacenter ?? identity.datacenter, aclsEnabled: rc?.aclEnabled ?? false }, logger)
    : undefined;
  const metrics = new Metrics({ clock, prometheusRetentionMs: options.http.prometheusRetentionTimeMs, trackGc: true, trackEventLoopDelay: true });
  parts.add(() => metrics.close());
  fsm.timeWith({ now: () => clock.monotonicMs(), applied: (series, ms) => metrics.addSample(series.name, ms, series.labels) });
  // TLS on the server port (tls.internal_rpc): shared by the RPC listener, the RPC pool and Raft.
  const serverPortTls = serverPortTlsFromConfig(rc);
  // auto_encrypt.tls: a client agent gets its RPC certificate from a server before anything else.
  const autoEncrypt =
    rc && rc.autoEncrypt.tls && serverPortTls ? new AutoEncryptClient({ rc, tls: serverPortTls, clock, rng, logger: logger.named("auto_config") }) : undefined;
  if (autoEncrypt) {
    parts.add(() => autoEncrypt.stop());
    await autoEncrypt.fetchInitial();
  }
  const raft =
    consensusKind(options) === "raft" ? await startRaft(options, nodeId, serverAddress, fsm, { clock, rng, logger, metrics, dial: serverPortTls?.dial }) : undefined;
  if (raft) parts.add(() => raft.close());
  const serverConsensus: Consensus = raft ?? new LocalLog(fsm, { serverAddress });
  // Servers forward to the leader, client agents send everything to a server (cluster-rpc.ts).
  const raftConnections = raft && raft.raftAddress() === serverAddress ? (socket: Socket, head: Buffer) => raft.acceptConnection(socket, head) : undefined;
  const cluster = await setUpClusterRpc({ rc, serverConsensus, fsm, clock, rng, logger, metrics, raftConnections, tls: serverPortTls, freePortFallback: options.freePortFallback === true, datacenter: identity.datacenter });
  parts.add(() => cluster.stop());
  const consensus = cluster.consensus;
  const wheel = new TimerWheel(clock);
  parts.add(() => wheel.stop());
  const blocking = new BlockingEngine({ hub: state.hub, wheel, rng }, { maxWaiters: 1_000_000 });
  // Before the agent: its first catalog writes already carry the agent token.
  const delegate = cluster.delegate;
  const acl = options.acl
    ? await startAclSystem(options.acl, {
        state,
        consensus,
        clock,
        rng,
        logger,
        datacenter: identity.datacenter,
        nodeName: identity.nodeName,
        server: identity.server,
        resolveRemotely: delegate ? (secret) => delegate.resolveToken(secret) : undefined,
      })
    : undefined;
  if (acl) parts.add(() => acl.stop());
  if (acl && delegate) delegate.tokenForUntokenedRequests = () => acl.service.effectiveSecret("");
  const catalogWrites = delegate
    ? clientCatalogWrites((cmd, token) => delegate.writeCatalog(cmd, token), acl?.service)
    : acl
      ? serverCatalogWrites(consensus, state.catalog, acl.service)
      : undefined;
  const agent = new Agent({
    identity,
    consensus,
    state,
    clock,
    rng,
    logger,
    checkSettings: rc
      ? {
          enableScriptChecks: rc.enableScriptChecks,
          enableLocalScriptChecks: rc.enableLocalScriptChecks,
          checkOutputMaxSize: rc.checkOutputMaxSize,
          checkUpdateIntervalMs: rc.checkUpdateIntervalMs,
          discardCheckOutput: rc.discardCheckOutput,
        }
      : undefined,
    sidecarPorts: rc ? { min: rc.ports.sidecarMin, max: rc.ports.sidecarMax } : undefined,
    wheel,
    registrations: rc && rc.dataDir !== "" ? new FileRegistrationStore(rc.dataDir) : undefined,
    catalogWrites,
  });
  // Registration syncs fall back to acl.tokens.config_file_service_registration / default (agent/sync-token.ts).
  if (acl) agent.syncTokens = acl.service.agentTokens;
  parts.add(() => agent.stop());
  if (consensus.isLeader()) await agent.start();
  else startWhenLeaderKnown(agent, logger, clock);
  if (rc) await agent.loadDefinitions(rc.services, rc.checks);
  await agent.restoreRegistrations();
  const sessionTtl = new SessionTtlDuty({ clock, consensus, state, logger: logger.named("consul.session") });
  sessionTtl.start();
  parts.add(() => sessionTtl.stop());
  const stopLeadershipWatch = consensus.onLeadershipChange((leading) => {
    if (leading) sessionTtl.onLeadershipAcquired();
  });

  const lanKeyring = new LocalKeyring(rc ? await loadLanKeyring(rc, logger.named("agent")) : { keyring: undefined, file: undefined });
  const fallbackToFreePort = options.freePortFallback === true;
  const membership = await startMembership(rc, identity, { clock, logger, metrics }, lanKeyring.keyring, fallbackToFreePort).catch((err: unknown) => {
    throw rc && isListenError(err) ? serfStartError(err, "LAN", identity.server, gossipBindHost(rc.serfLanBindAddr, rc.advertiseAddr), rc.ports.serfLan) : err;
  });
  parts.add(() => membership.stop());
  const wanKeyring =
    rc && identity.server && rc.ports.serfWan > 0 ? new LocalKeyring(await loadWanKeyring(rc, logger.named("agent"))) : undefined;
  const wanMembership = await startWanMembership(rc, identity, { clock, logger, metrics }, wanKeyring?.keyring, fallbackToFreePort).catch((err: unknown) => {
    throw rc && isListenError(err) ? serfStartError(err, "WAN", true, gossipBindHost(rc.serfWanBindAddr, rc.advertiseAddrWan), rc.ports.serfWan) : err;
  });
  if (wanMembership) parts.add(() => wanMembership.stop());
  cluster.setWanPool(wanMembership);
  // Every server of this datacenter joins the WAN pool along with us (Consul's flood join).
  const wanFlood = wanMembership ? new WanFlood({ lan: membership, wan: wanMembership, datacenter: identity.datacenter, clock, logger: logger.named("agent.server") }) : undefined;
  wanFlood?.start();
  parts.add(() => wanFlood?.stop());
  // A client agent learns its servers from gossip: alive role=consul members of its datacenter.
  if (delegate) {
    const serversOf = (servers: readonly { rpcAddr: string; name: string }[]): void =>
      delegate.setServers(servers.map((s) => s.rpcAddr), new Map(servers.map((s) => [s.rpcAddr, s.name])));
    serversOf(membership.servers());
    membership.onServersChanged(serversOf);
  }
  autoEncrypt?.startRenewal(cluster.pool, () => membership.servers().map((s) => s.rpcAddr));
  // auto_encrypt.allow_tls: RPC client certificates from the Connect CA are accepted.
  if (rc?.autoEncrypt.allowTls && serverPortTls) {
    const stopTrust = followConnectRoots(state, (pems) => serverPortTls.setConnectRoots(pems));
    parts.add(stopTrust);
  }
  const discovery =
    raft && raftConnections && rc
      ? new RaftServerDiscovery({
          raft,
          membership,
          queryPeers: async (rpcAddr) => peersOf(await cluster.pool.call(rpcAddr, RpcMethod.Peers, {}, { timeoutMs: 2000 })),
          bootstrapExpect: rc.bootstrapExpect,
          clock,
          logger: logger.named("consul.server"),
        })
      : undefined;
  discovery?.start();
  parts.add(() => discovery?.stop());
  const reconcile = identity.server
    ? new LeaderReconcile({ consensus, catalog: state.catalog, membership, clock, logger: logger.named("consul.leader"), nodeName: identity.nodeName, datacenter: identity.datacenter, metrics })
    : undefined;
  reconcile?.start();
  parts.add(() => reconcile?.stop());
  const stopReconcileWatch = consensus.onLeadershipChange(() => reconcile?.leadershipChanged());
  const autopilot = identity.server
    ? new AutopilotDuty({
        consensus,
        raft,
        membership,
        state,
        self: { nodeId, nodeName: identity.nodeName, version: identity.version, serverAddress },
        seed: autopilotConfigFromAgentConfig(rc?.autopilot),
        clock,
        logger: logger.named("consul.autopilot"),
      })
    : undefined;
  autopilot?.start();
  parts.add(() => autopilot?.stop());
  const stopAutopilotWatch = consensus.onLeadershipChange(() => autopilot?.leadershipChanged());
  const stopAgentMetrics = startAgentMetrics({ metrics, clock, membership, wanMembership, autopilot });
  parts.add(stopAgentMetrics);
  const connectCa = identity.server
    ? new ConnectCa({
        consensus,
        state,
        clock,
        rng,
        logger: logger.named("connect.ca"),
        datacenter: identity.datacenter,
        enabled: rc?.connectEnabled ?? options.http.devMode,
        seed: { provider: rc?.connectCaProvider ?? "consul", config: rc?.connectCaConfig ?? {} },
      })
    : undefined;
  connectCa?.start();
  parts.add(() => connectCa?.stop());
  const stopConnectCaWatch = consensus.onLeadershipChange(() => connectCa?.leadershipChanged());
  const entryBootstrap = identity.server
    ? new ConfigEntryBootstrap({ consensus, state, clock, logger: logger.named("consul.config-entries"), entries: rc?.configEntriesBootstrap ?? [] })
    : undefined;
  entryBootstrap?.start();
  parts.add(() => entryBootstrap?.stop());
  const stopEntryBootstrapWatch = consensus.onLeadershipChange(() => entryBootstrap?.leadershipChanged());

  // Certificate material (private keys included) stays out of /v1/agent/self's DebugConfig.
  const { httpsTls: _https, internalRpcTls: _internalRpc, ...visibleConfig } = options.runtimeConfig ?? {};
  const runtimeConfig: Record<string, unknown> = { ...visibleConfig };
  const events = new EventBuffer();
  const keyring = keyringOperatorFor(identity, lanKeyring, membership, wanMembership, wanKeyring, logger);
  const ctx: HttpContext = { settings: options.http, state, consensus, restoreReadAhead: fsm.restoreReadAhead, blocking, agent, clock, rng, logger, runtimeConfig, metrics, sessionTtl, autopilot, events, membership, wanMembership, raft, keyring, acl: acl?.service, logHub, connectCa, datacenters: cluster.datacenters };
  // Prepared-query failover reaches other datacenters through the WAN router (servers run queries).
  const router = cluster.datacenters;
  ctx.preparedQueryRemote =
    options.preparedQueryRemote ?? (router && identity.server ? wanRemoteQueryExecutor(wanMembership, identity.datacenter, (dc, req) => router.forward(dc, req)) : undefined);
  membership.onUserEvent((e) => deliverUserEvent(ctx, e));
  const dispatcher = new ApiDispatcher(ctx, cluster.forwarder);
  const connectLeaves = startConnectAgent(ctx, dispatcher, { clock, rng, logger: logger.named("agent.leaf-certs"), datacenter: identity.datacenter });
  parts.add(() => connectLeaves.stop());
  if (rc?.disableRemoteExec === false) ctx.remoteExec = startRemoteExec(ctx, acl?.service);
  if (options.http.enableDebug === true || acl) {
    const sampler = await startHeapSampling();
    ctx.heapSampler = sampler;
    parts.add(() => sampler.stop());
  }
  const stopCoordinates = startCoordinates(ctx, dispatcher, rc, { clock, rng, logger, nodeName: identity.nodeName, server: identity.server });
  parts.add(stopCoordinates);
  const listenFailure = (host: string, port: number) => (err: unknown): never => {
    throw isListenError(err) ? new Error(goListenError(err, "tcp", host, port)) : err;
  };
  const plain =
    options.httpPort >= 0
      ? await startHttpServer(ctx, { host: options.httpHost, port: options.httpPort, dispatcher, ui }).catch(listenFailure(options.httpHost, options.httpPort))
      : undefined;
  if (plain) parts.add(() => plain.close());
  const httpsTls =
    options.https?.autoCert === true && autoEncrypt ? httpsServerOptions(autoEncrypt.httpsMaterial(rc?.httpsTls), rc?.httpsHandshakeTimeoutMs ?? 0) : options.https?.tls;
  const https = options.https
    ? await startHttpServer(ctx, { host: options.https.host, port: options.https.port, dispatcher, tls: httpsTls, ui }).catch(listenFailure(options.https.host, options.https.port))
    : undefined;
  if (https) parts.add(() => https.close());
  if (https?.reloadTls && options.https?.autoCert === true && autoEncrypt) {
    const reloadTls = https.reloadTls;
    autoEncrypt.onCertificate(() => reloadTls(httpsServerOptions(autoEncrypt.httpsMaterial(rc?.httpsTls), rc?.httpsHandshakeTimeoutMs ?? 0)));
  }
  const http = plain ?? https;
  if (http === undefined) throw new Error("neither the HTTP nor the HTTPS API is enabled");
  await cluster.listen(dispatcher, { catalog: state.catalog, acl: acl?.service });
  // Client agents only: a server trusts the Connect roots through its own state.
  if (autoEncrypt && !identity.server) autoEncrypt.watchRoots(rootsThroughDispatcher(dispatcher));
  const dnsServers: RunningDnsServer[] = [];
  if (options.dns && options.dns.port >= 0) {
    for (const host of options.dns.hosts) {
      const authorizer = acl ? () => acl.service.dnsAuthorizer() : undefined;
      const authorizerReady = acl ? () => acl.service.dnsAuthorizerReady() : undefined;
      const executeQuery = dnsQueryExecutor(dispatcher, () => acl?.service.agentTokens.get("dns") ?? "");
      const dns = await startDnsServer(
        // With ACLs on, names in other datacenters are not looked up there: ACLs run only in this
        // (primary) datacenter, and another would answer without checking the dns token.
        { state, settings: options.dns.settings, logger: logger.named("dns"), rng, clock, authorizer, authorizerReady, datacenters: acl ? undefined : cluster.datacenters, executeQuery },
        { host, port: options.dns.port },
      );
      dnsServers.push(dns);
      parts.add(() => dns.close());
    }
  }

  let stopped = false;
  let onLeave: () => void = () => {};
  const leaveRequested = new Promise<void>((resolve) => (onLeave = resolve));
  agent.lifecycle = {
    leave: () => {
      onLeave();
      return Promise.resolve();
    },
    reload: async () => {
      if (!deps.reloadConfig) return;
      const next = await deps.reloadConfig();
      for (const d of dnsServers) d.updateSettings(dnsSettingsFromConfig(next));
      // Reloadable in Consul: new connections are judged against the new limit.
      options.http.httpMaxConnsPerClient = next.httpMaxConnsPerClient;
      agent.checkSettings.enableScriptChecks = next.enableScriptChecks;
      agent.checkSettings.enableLocalScriptChecks = next.enableLocalScriptChecks;
      agent.checkSettings.checkOutputMaxSize = next.checkOutputMaxSize;
      agent.sidecarPorts = { min: next.ports.sidecarMin, max: next.ports.sidecarMax };
      await agent.loadDefinitions(next.services, next.checks);
      // Renewed certificates: new handshakes use them, open connections (blocking queries) keep theirs.
      if (https?.reloadTls && next.httpsTls?.cert !== undefined) https.reloadTls(httpsServerOptions(next.httpsTls, next.httpsHandshakeTimeoutMs));
      const nextPortTls = serverPortTlsSettings(next);
      if (autoEncrypt && nextPortTls) autoEncrypt.setBase(nextPortTls);
      else if (serverPortTls && nextPortTls) serverPortTls.update(nextPortTls);
      logger.named("agent").info("Reloaded configuration");
    },
  };
  return {
    agent,
    state,
    consensus,
    raft,
    membership,
    wanMembership,
    http,
    blocking,
    https,
    dns: dnsServers,
    logger,
    leaveRequested,
    async leave() {
      // Services registered here leave discovery with the agent; the gossip leave then tells
      // the pool (and through the leader, the catalog) that this node is gone.
      try {
        await agent.deregisterAll();
      } catch (e) {
        logger.named("agent").warn("could not deregister local services before leaving", { error: e instanceof Error ? e.message : String(e) });
      }
      await wanMembership?.leave();
      await membership.leave();
      logger.named("agent").info("Graceful leave complete");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      stopLeadershipWatch();
      stopReconcileWatch();
      stopAutopilotWatch();
      stopAgentMetrics();
      stopConnectCaWatch();
      stopEntryBootstrapWatch();
      entryBootstrap?.stop();
      connectCa?.stop();
      connectLeaves.stop();
      stopCoordinates();
      discovery?.stop();
      wanFlood?.stop();
      reconcile?.stop();
      autopilot?.stop();
      acl?.stop();
      sessionTtl.stop();
      await agent.stop();
      await plain?.close();
      await https?.close();
      await cluster.stop();
      for (const d of dnsServers) await d.close();
      await membership.stop();
      await wanMembership?.stop();
      await raft?.close();
      wheel.stop();
      metrics.close();
      await ctx.heapSampler?.stop();
    },
  };
}

function consensusKind(options: AgentRuntimeOptions): "raft" | "local" {
  const fromEnv = process.env.CONSULATE_CONSENSUS;
  if (fromEnv === "raft" || fromEnv === "local") return fromEnv;
  if (options.consensus) return options.consensus;
  return options.runtimeConfig?.server === true ? "raft" : "local";
}

/**
 * A server's Raft: -dev (or no data dir) is a lone voter in memory with no listener; otherwise
 * the log and snapshots live under <data-dir>/raft. A self-electing server (-dev, -bootstrap)
 * campaigns at once, so it leads before the HTTP listener opens.
 */
async function startRaft(
  options: AgentRuntimeOptions,
  nodeId: string,
  serverAddress: string,
  fsm: StateMachine,
  deps: { clock: Clock; rng: Rng; logger: Logger; metrics: Metrics; dial?: ServerPortDialer },
): Promise<RaftConsensus> {
  const { clock, rng, logger, metrics } = deps;
  const rc = options.runtimeConfig;
  const inMemory = !rc || rc.inMemory || rc.dataDir === "";
  const peers = options.raftPeers ?? [];
  const selfElect = rc ? rc.selfElect : true;
  const expect = rc?.bootstrapExpect ?? 0;
  const ticks = raftTicksFor(rc?.raft.electionTimeoutMs ?? 5000);
  // A server with a data dir carries Raft over its RPC port and finds its peers through gossip
  // (raft-server-discovery.ts); an explicit raftBind/raftPeers is a static test cluster.
  const overServerPort = !inMemory && options.raftBind === undefined && options.raftPeers === undefined;
  return RaftConsensus.start({
    nodeId,
    serverAddress,
    storage: inMemory ? { kind: "memory" } : { kind: "disk", dir: join(rc.dataDir, "raft"), recoverTruncatedLog: rc.recoverTruncatedLog },
    raftBind: overServerPort ? undefined : (options.raftBind ?? (inMemory && peers.length === 0 ? undefined : { host: rc?.bindAddr ?? "127.0.0.1", port: 0 })),
    raftAdvertiseHost: options.identity.advertiseAddr,
    overServerPort,
    dial: deps.dial,
    fsm,
    peers,
    // -bootstrap and -dev start a cluster of one at once; bootstrap_expect waits for gossip.
    bootstrap: selfElect || (peers.length > 0 && peers.length + 1 >= expect),
    selfElect,
    ...ticks,
    snapshots: { threshold: rc?.raft.snapshotThreshold ?? 16384, trailingLogs: rc?.raft.trailingLogs ?? 10240 },
    clock,
    rng,
    logger: logger.named("raft"),
    metrics,
  });
}

function peersOf(reply: unknown): string[] {
  const peers = (reply as { peers?: unknown } | undefined)?.peers;
  return Array.isArray(peers) ? peers.filter((p): p is string => typeof p === "string") : [];
}

/** A server without a leader yet registers itself once one is elected (retrying until it sticks). */
function startWhenLeaderKnown(agent: Agent, logger: Logger, clock: Clock): void {
  const attempt = (delayMs: number): void => {
    clock.setTimer(delayMs, () => {
      agent.start().then(
        () => {},
        (err: unknown) => {
          logger.named("agent").debug("node registration deferred until a leader is elected", { error: err instanceof Error ? err.message : String(err) });
          attempt(Math.min(2000, delayMs * 2));
        },
      );
    });
  };
  attempt(50);
}

function isListenError(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EACCES";
}
