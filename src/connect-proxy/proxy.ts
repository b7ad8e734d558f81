// The built-in proxy's running part: a public mTLS listener relaying allowed clients to the
// local application, and one TCP listener per upstream relaying to healthy instances of the
// destination. apply() moves it to a new configuration (the registration changed) touching only
// what changed; stop() stops accepting and drains open connections.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ConnectService } from "../connect-native/service.ts";
import { errorText } from "../connect/mesh/agent-client.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { MtlsListener } from "../transport/mesh/mtls-listener.ts";
import { RelaySet } from "../transport/mesh/relay.ts";
import { relayStreamOverConnection, serveStreams, STREAM_REUSE_SNI_PREFIX, type StreamServer } from "../transport/mesh/stream-reuse.ts";
import { dialTcp, TcpListener } from "../transport/mesh/tcp-listener.ts";
import type { ProxyConfig, PublicListenerConfig, UpstreamConfig } from "./proxy-config.ts";

interface RunningPublic {
  config: PublicListenerConfig;
  listener: MtlsListener;
  unsubscribe: () => void;
}

interface RunningUpstream {
  config: UpstreamConfig;
  listener: TcpListener;
}

function upstreamKey(u: UpstreamConfig): string {
  return `${u.localBindAddress}:${u.localBindPort}`;
}

function sameUpstream(a: UpstreamConfig, b: UpstreamConfig): boolean {
  return a.destinationType === b.destinationType && a.destinationName === b.destinationName && a.datacenter === b.datacenter && a.connectTimeoutMs === b.connectTimeoutMs;
}

/** How long an inbound framed connection may sit between streams (the dialler gives up first, at 10 s). */
const FRAMED_IDLE_MS = 60_000;

export class ConnectProxy {
  readonly #svc: ConnectService;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #relays = new RelaySet();
  #public: RunningPublic | undefined;
  readonly #upstreams = new Map<string, RunningUpstream>();
  /** The local application's address; read per connection so a registration change applies at once. */
  #local = { host: "127.0.0.1", port: 0, timeoutMs: 1000 };
  #stopped = false;
  /**
   * Inbound connections carrying framed streams: closed on stop once their streams drained, and
   * retired when our leaf or roots change (they were admitted under the old material).
   */
  readonly #framed = new Map<TLSSocket, StreamServer>();

  constructor(svc: ConnectService, logger: Logger, clock: Clock) {
    this.#svc = svc;
    this.#log = logger;
    this.#clock = clock;
  }

  get openConnections(): number {
    return this.#relays.size;
  }

  /** Brings listeners in line with `config`; a listener that fails to bind rejects (the rest stay). */
  async apply(config: ProxyConfig): Promise<void> {
    if (this.#stopped) return;
    if (config.service !== this.#svc.name) {
      this.#log.error("the registration now names another service; keeping the old identity", { have: this.#svc.name, registration: config.service });
    }
    const errors: string[] = [];
    try {
      await this.#applyPublic(config.publicListener);
    } catch (err) {
      errors.push(errorText(err));
    }
    const wanted = new Map(config.upstreams.map((u) => [upstreamKey(u), u]));
    for (const [key, running] of this.#upstreams) {
      const next = wanted.get(key);
      if (next && sameUpstream(next, running.config)) continue;
      this.#upstreams.delete(key);
      await running.listener.close();
      this.#log.info("upstream listener stopped", { destination: running.config.destinationName, bind: key });
    }
    for (const [key, u] of wanted) {
      if (this.#upstreams.has(key)) continue;
      const listener = new TcpListener(u.localBindAddress, u.localBindPort, (socket) => this.#onUpstreamConnection(u, socket));
      try {
        await listener.listen();
        this.#upstreams.set(key, { config: u, listener });
        this.#log.info("upstream listener started", { destination: u.destinationName, bind: key });
      } catch (err) {
        errors.push(`upstream ${u.destinationName} on ${key}: ${errorText(err)}`);
      }
    }
    if (errors.length > 0) throw new Error(errors.join("; "));
  }

  async #applyPublic(config: PublicListenerConfig | undefined): Promise<void> {
    if (config) this.#local = { host: config.localServiceAddress, port: config.localServicePort, timeoutMs: config.localConnectTimeoutMs };
    const current = this.#public;
    if (current && config && current.config.bindAddress === config.bindAddress && current.config.bindPort === config.bindPort && current.config.handshakeTimeoutMs === config.handshakeTimeoutMs) {
      current.config = config;
      return;
    }
    if (current) {
      this.#public = undefined;
      current.unsubscribe();
      await current.listener.close();
      this.#log.info("public listener stopped", { bind: `${current.config.bindAddress}:${current.config.bindPort}` });
    }
    if (!config) return;
    const listener = new MtlsListener({
      host: config.bindAddress,
      port: config.bindPort,
      context: this.#svc.tlsContext,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      admit: (socket) => this.#admit(socket),
      onAdmitted: (socket, generation) =>
        typeof socket.servername === "string" && socket.servername.startsWith(STREAM_REUSE_SNI_PREFIX) ? this.#serveStreams(socket, generation) : this.#toLocalApp(socket),
      onHandshakeError: (err) => this.#log.debug("inbound TLS handshake failed", { error: err.message }),
    });
    await listener.listen();
    const unsubscribe = this.#svc.onRotate((ctx) => {
      listener.rotate(ctx);
      // The dialler drops its kept connections when its own material changes; ours changing
      // must end them too, or a connection made under the old leaf and trust would carry new
      // streams indefinitely. Streams in flight finish first.
      for (const framed of this.#framed.values()) framed.retire();
    });
    // Material may have rotated between reading the context and subscribing.
    listener.rotate(this.#svc.tlsContext);
    this.#public = { config, listener, unsubscribe };
    this.#log.info("public listener started", { bind: `${config.bindAddress}:${config.bindPort}`, local: `${config.localServiceAddress}:${config.localServicePort}` });
  }

  async #admit(socket: TLSSocket): Promise<boolean> {
    const decision = await this.#svc.authorizeSocket(socket);
    if (!decision.authorized) this.#log.debug("inbound connection refused", { reason: decision.reason, remote: socket.remoteAddress });
    return decision.authorized;
  }

  /** A Consulate sidecar asked for stream reuse: every stream is authorised (from the cache) before the app is dialled. */
  #serveStreams(socket: TLSSocket, generation: number): void {
    socket.once("close", () => this.#framed.delete(socket));
    const server = serveStreams(socket, {
      idleTimeoutMs: FRAMED_IDLE_MS,
      track: () => this.#relays.hold(() => socket.destroy()),
      open: async () => {
        if (this.#stopped || !(await this.#admit(socket))) return undefined;
        const { host, port, timeoutMs } = this.#local;
        try {
          return await dialTcp(host, port, timeoutMs);
        } catch (err) {
          this.#log.warn("cannot reach the local application", { local: `${host}:${port}`, error: errorText(err) });
          return undefined;
        }
      },
    });
    if (socket.destroyed) return;
    this.#framed.set(socket, server);
    // Made under material that rotated away while it was being admitted: no stream for it.
    if (generation !== this.#svc.tlsContext.generation) server.retire();
  }

  #toLocalApp(socket: TLSSocket): void {
    socket.pause();
    const { host, port, timeoutMs } = this.#local;
    dialTcp(host, port, timeoutMs).then(
      (local) => {
        if (socket.destroyed || this.#stopped) {
          local.destroy();
          socket.destroy();
          return;
        }
        this.#relays.relay(socket, local);
      },
      (err: unknown) => {
        this.#log.warn("cannot reach the local application", { local: `${host}:${port}`, error: errorText(err) });
        socket.destroy();
      },
    );
  }

  #onUpstreamConnection(u: UpstreamConfig, socket: Socket, fresh = false): void {
    const options = { datacenter: u.datacenter === "" ? undefined : u.datacenter, connectTimeoutMs: u.connectTimeoutMs, preparedQuery: u.destinationType === "prepared_query", fresh };
    this.#svc.dialForRelay(u.destinationName, options).then(
      ({ socket: remote, release }) => {
        if (socket.destroyed || this.#stopped) {
          remote.destroy();
          socket.destroy();
          return;
        }
        if (release) {
          const done = this.#relays.hold(() => {
            socket.destroy();
            remote.destroy();
          });
          relayStreamOverConnection(socket, remote, (outcome) => {
            release(outcome === "reusable" && !this.#stopped);
            done();
            // A kept connection that died unnoticed took nothing from the app: dial afresh once.
            if (outcome === "lost" && !fresh && !socket.destroyed && !this.#stopped) this.#onUpstreamConnection(u, socket, true);
            else if (outcome === "lost") socket.destroy();
          });
          return;
        }
        this.#relays.relay(socket, remote);
        socket.resume();
      },
      (err: unknown) => {
        this.#log.warn("upstream dial failed", { destination: u.destinationName, error: errorText(err) });
        socket.destroy();
      },
    );
  }

  /** Stops accepting everywhere, then waits up to `drainMs` for open connections to finish. */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const closing: Promise<void>[] = [];
    if (this.#public) {
      this.#public.unsubscribe();
      closing.push(this.#public.listener.close());
    }
    for (const u of this.#upstreams.values()) closing.push(u.listener.close());
    this.#upstreams.clear();
    this.#public = undefined;
    await Promise.all(closing);
    await this.#relays.drain(drainMs, (ms, fn) => this.#clock.setTimer(ms, fn));
    for (const socket of this.#framed.keys()) socket.destroy();
    this.#framed.clear();
  }
}
