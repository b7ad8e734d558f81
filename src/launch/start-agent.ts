import { Agent, type AgentIdentity } from "../agent/agent.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";
import { dnsSettingsFromConfig, type DnsSettings } from "../dns/dns-settings.ts";
import { startDnsServer, type RunningDnsServer } from "../dns/dns-server.ts";
import { StateMachine } from "../fsm/apply.ts";
import { BlockingEngine } from "../http/blocking.ts";
import type { HttpContext, HttpSettings } from "../http/context.ts";
import { startHttpServer, type RunningHttpServer } from "../http/server.ts";
import { systemClock, type Clock } from "../runtime/clock.ts";
import { createLogger, type Logger, type LogLevel } from "../runtime/logger.ts";
import { Metrics } from "../runtime/metrics.ts";
import { systemRng, type Rng } from "../runtime/rng.ts";
import { TimerWheel } from "../runtime/timer-wheel.ts";
import { LocalLog } from "../server/consensus.ts";
import { SessionTtlDuty } from "../server/session-ttl-duty.ts";
import { EventBuffer } from "../state/event-buffer.ts";
import { StateStore } from "../state/store.ts";
import { FileRegistrationStore } from "../storage/agent-registrations.ts";

// The production wiring, in one file: runtime → state → fsm → consensus → agent → http.
// Tests and the simulator wire fakes through the same seams (clock, rng, logger).

import { CONSUL_COMPAT_VERSION } from "../version.ts";

export interface AgentRuntimeOptions {
  identity: Omit<AgentIdentity, "version">;
  http: HttpSettings;
  httpHost: string;
  httpPort: number;
  logLevel: LogLevel;
  logJson: boolean;
  /** The DNS interface; absent or port < 0 disables it (port 0 picks a free port). */
  dns?: { hosts: string[]; port: number; settings: DnsSettings };
  /** The resolved configuration, when started from config (CLI, startDevAgent). */
  runtimeConfig?: RuntimeConfig;
}

export interface RunningAgent {
  agent: Agent;
  state: StateStore;
  http: RunningHttpServer;
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
  /** Re-reads the configuration for SIGHUP and PUT /v1/agent/reload. */
  reloadConfig?: () => Promise<RuntimeConfig>;
}

export async function startAgent(options: AgentRuntimeOptions, deps: StartDeps = {}): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  const rng = deps.rng ?? systemRng;
  const logger =
    deps.logger ?? createLogger({ level: options.logLevel, json: options.logJson, write: (l) => process.stdout.write(l) });
  const state = new StateStore();
  const fsm = new StateMachine(state);
  const identity: AgentIdentity = { ...options.identity, version: CONSUL_COMPAT_VERSION };
  const consensus = new LocalLog(fsm, { serverAddress: `${identity.advertiseAddr}:${identity.serverPort}` });
  const wheel = new TimerWheel(clock);
  const blocking = new BlockingEngine({ hub: state.hub, wheel, rng }, { maxWaiters: 1_000_000 });
  const rc = options.runtimeConfig;
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
    wheel,
    registrations: rc && rc.dataDir !== "" ? new FileRegistrationStore(rc.dataDir) : undefined,
  });
  await agent.start();
  if (rc) await agent.loadDefinitions(rc.services, rc.checks);
  await agent.restoreRegistrations();
  const sessionTtl = new SessionTtlDuty({ clock, consensus, state, logger: logger.named("consul.session") });
  sessionTtl.start();

  const metrics = new Metrics({ clock, prometheusRetentionMs: options.http.prometheusRetentionTimeMs, trackGc: true });
  const runtimeConfig: Record<string, unknown> = { ...options.runtimeConfig };
  const events = new EventBuffer();
  const ctx: HttpContext = { settings: options.http, state, consensus, blocking, agent, clock, rng, logger, runtimeConfig, metrics, sessionTtl, events };
  const http = await startHttpServer(ctx, { host: options.httpHost, port: options.httpPort });
  const dnsServers: RunningDnsServer[] = [];
  if (options.dns && options.dns.port >= 0) {
    for (const host of options.dns.hosts) {
      dnsServers.push(await startDnsServer({ state, settings: options.dns.settings, logger: logger.named("dns"), rng, clock }, { host, port: options.dns.port }));
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
      agent.checkSettings.enableScriptChecks = next.enableScriptChecks;
      agent.checkSettings.enableLocalScriptChecks = next.enableLocalScriptChecks;
      agent.checkSettings.checkOutputMaxSize = next.checkOutputMaxSize;
      await agent.loadDefinitions(next.services, next.checks);
      logger.named("agent").info("Reloaded configuration");
    },
  };
  return {
    agent,
    state,
    http,
    dns: dnsServers,
    logger,
    leaveRequested,
    async leave() {
      // Services registered here leave discovery with the agent; peers hear of it once gossip lands.
      await agent.deregisterAll();
      logger.named("agent").info("Graceful leave complete");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      sessionTtl.stop();
      await agent.stop();
      await http.close();
      for (const d of dnsServers) await d.close();
      wheel.stop();
      metrics.close();
    },
  };
}
