// `consulate connect proxy` from start to exit: find the registration (-sidecar-for,
// -proxy-id) or build the configuration from flags (-service), load the identity, start the
// listeners, follow the registration with a blocking query, optionally register the proxy
// itself (a TTL check kept passing while it runs), and on shutdown stop accepting, drain and
// deregister what it registered.
import { AgentClient, errorText } from "../connect/mesh/agent-client.ts";
import { BlockingWatch } from "../connect/mesh/blocking-watch.ts";
import { ConnectService } from "../connect-native/service.ts";
import { AgentStatusError } from "../errors/connect-errors.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { configFromRegistration, ProxyConfigError, type ProxyConfig, type ProxyRegistration } from "./proxy-config.ts";
import { ConnectProxy } from "./proxy.ts";

export type ProxySource =
  | { kind: "registration"; proxyId: string }
  | { kind: "sidecar-for"; serviceId: string }
  | { kind: "flags"; config: ProxyConfig; register: { id: string } | undefined };

export interface RunProxyOptions {
  agent: string;
  token: string;
  source: ProxySource;
  logger: Logger;
  clock: Clock;
  shutdown: AbortSignal;
  /** How long open connections may take to finish on shutdown. */
  drainMs?: number;
}

const REGISTER_TTL_S = 30;

/** The one connect-proxy registration whose Proxy.DestinationServiceID is `serviceId` (Consul's LookupProxyIDForSidecar). */
export async function proxyIdForSidecar(client: AgentClient, serviceId: string): Promise<string> {
  let services: Record<string, ProxyRegistration & { Proxy?: { DestinationServiceID?: string } }>;
  try {
    services = (await client.get<typeof services>("/v1/agent/services")).body ?? {};
  } catch (err) {
    throw new ProxyConfigError(`Failed looking up sidecar proxy info for ${serviceId}: ${errorText(err)}`);
  }
  const ids = Object.values(services)
    .filter((s) => s.Kind === "connect-proxy" && (s.Proxy?.DestinationServiceID ?? "").toLowerCase() === serviceId.toLowerCase())
    .map((s) => s.ID)
    .sort();
  if (ids.length === 0) throw new ProxyConfigError(`No sidecar proxy registered for ${serviceId}`);
  if (ids.length > 1) throw new ProxyConfigError(`More than one sidecar proxy registered for ${serviceId}.\n    Start proxy with -proxy-id and one of the following IDs: ${ids.join(", ")}`);
  return ids[0];
}

/** Runs until `shutdown` aborts; resolves with the exit code. */
export async function runProxy(opts: RunProxyOptions): Promise<number> {
  const { logger: log, clock } = opts;
  const client = new AgentClient(opts.agent, opts.token);
  let proxyId = "";
  let config: ProxyConfig;
  if (opts.source.kind === "flags") {
    config = opts.source.config;
  } else {
    proxyId = opts.source.kind === "registration" ? opts.source.proxyId : await proxyIdForSidecar(client, opts.source.serviceId);
    let reg: ProxyRegistration;
    try {
      reg = (await client.get<ProxyRegistration>(`/v1/agent/service/${encodeURIComponent(proxyId)}`)).body;
    } catch (err) {
      if (err instanceof AgentStatusError && err.statusCode === 404) throw new ProxyConfigError(`proxy registration "${proxyId}" not found on the agent`);
      throw err;
    }
    config = configFromRegistration(reg);
  }

  const svc = await ConnectService.create(config.service, { agent: opts.agent, token: opts.token }, { logger: log, clock, resumeTlsSessions: true });
  const proxy = new ConnectProxy(svc, log, clock);
  let registration: { id: string; heartbeat: TimerHandle | undefined } | undefined;
  let watch: BlockingWatch<ProxyRegistration> | undefined;
  try {
    await proxy.apply(config);

    if (opts.source.kind === "flags" && opts.source.register) {
      registration = { id: opts.source.register.id, heartbeat: undefined };
      await registerSelf(client, registration.id, config);
      const beat = (): void => {
        if (!registration) return;
        client.send("PUT", `/v1/agent/check/pass/${encodeURIComponent(`${registration.id}-ttl`)}`, undefined).then(
          () => undefined,
          (err: unknown) => log.warn("proxy TTL check update failed", { error: errorText(err) }),
        );
        registration.heartbeat = clock.setTimer((REGISTER_TTL_S * 1000) / 3, beat);
      };
      beat();
      log.info("proxy registered", { id: registration.id });
    }
    log.info("proxy started", { service: config.service, identity: svc.uri });

    if (proxyId !== "") {
      watch = new BlockingWatch<ProxyRegistration>({
        client,
        path: `/v1/agent/service/${encodeURIComponent(proxyId)}`,
        mode: "hash",
        clock,
        onChange: (reg) => {
          let next: ProxyConfig;
          try {
            next = configFromRegistration(reg);
          } catch (err) {
            log.error("ignoring a proxy registration change", { error: errorText(err) });
            return;
          }
          proxy.apply(next).then(
            () => log.debug("proxy configuration updated", { id: proxyId }),
            (err: unknown) => log.error("proxy configuration update failed", { error: errorText(err) }),
          );
        },
        onError: (err) => log.warn("proxy registration watch failed, retrying", { id: proxyId, error: errorText(err) }),
      });
    }

    await new Promise<void>((resolve) => {
      if (opts.shutdown.aborted) return resolve();
      opts.shutdown.addEventListener("abort", () => resolve(), { once: true });
    });
    log.info("proxy stopping: draining connections", { open: proxy.openConnections });
    return 0;
  } finally {
    watch?.stop();
    if (registration) {
      registration.heartbeat?.cancel();
      const id = registration.id;
      registration = undefined;
      try {
        await client.send("PUT", `/v1/agent/service/deregister/${encodeURIComponent(id)}`, undefined);
        log.info("proxy deregistered", { id });
      } catch (err) {
        log.warn("proxy deregistration failed", { id, error: errorText(err) });
      }
    }
    await proxy.stop(opts.drainMs ?? 5000);
    svc.close();
  }
}

async function registerSelf(client: AgentClient, id: string, config: ProxyConfig): Promise<void> {
  const pub = config.publicListener;
  await client.send("PUT", "/v1/agent/service/register", {
    Kind: "connect-proxy",
    ID: id,
    Name: `${config.service}-proxy`,
    Address: pub && pub.bindAddress !== "0.0.0.0" ? pub.bindAddress : "",
    Port: pub?.bindPort ?? 0,
    Proxy: {
      DestinationServiceName: config.service,
      LocalServiceAddress: pub?.localServiceAddress,
      LocalServicePort: pub?.localServicePort,
      Upstreams: config.upstreams.map((u) => ({ DestinationName: u.destinationName, LocalBindAddress: u.localBindAddress, LocalBindPort: u.localBindPort })),
    },
    Check: { CheckID: `${id}-ttl`, Name: "Connect Proxy Listening", TTL: `${REGISTER_TTL_S}s`, DeregisterCriticalServiceAfter: "10m" },
  });
}
