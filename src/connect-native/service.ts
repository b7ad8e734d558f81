// A Connect service identity held by a Node process: the Connect-native SDK (spec/connect.md
// §9) and the engine of the built-in proxy. It keeps the service's leaf certificate and the CA
// roots fresh through blocking queries, builds one TLS context per generation of that
// material, authorises inbound connections against intentions (via the agent, cached), and
// dials healthy instances of other services with mutual TLS and a SPIFFE ID check.
import https from "node:https";
import type { Server as TlsServer, TLSSocket, TlsOptions, PeerCertificate } from "node:tls";
import type { Duplex } from "node:stream";
import { AgentClient, errorText } from "../connect/mesh/agent-client.ts";
import { AuthorizeCache, type AuthorizeDecision } from "../connect/mesh/authorize-cache.ts";
import { BlockingWatch } from "../connect/mesh/blocking-watch.ts";
import { consulSerial, PeerIdentityCache } from "../connect/mesh/peer-identity.ts";
import { QueryInstances } from "../connect/mesh/query-instances.ts";
import { instanceKey, UpstreamInstances, type MeshInstance } from "../connect/mesh/upstream-instances.ts";
import { parseServiceUri } from "../connect/spiffe.ts";
import { ConnectError } from "../errors/connect-errors.ts";
import { systemClock, type Clock } from "../runtime/clock.ts";
import { silentLogger, type Logger } from "../runtime/logger.ts";
import { systemRng, type Rng } from "../runtime/rng.ts";
import { dialMtls } from "../transport/mesh/mtls-dial.ts";
import { STREAM_REUSE_SNI_PREFIX } from "../transport/mesh/stream-reuse.ts";
import { buildTlsContext, secureContextOptions, type MeshTlsContext } from "../transport/mesh/tls-material.ts";
import { meshFetch, type MeshFetchInit } from "./mesh-fetch.ts";

export interface ConnectServiceOptions {
  /** The local agent's HTTP address; default CONSUL_HTTP_ADDR, else http://127.0.0.1:8500. */
  agent?: string;
  /** ACL token (needs service:write on the service); default CONSUL_HTTP_TOKEN. */
  token?: string;
  /** How long `connect.service()` waits for the first leaf and roots (default 30 s). */
  timeoutMs?: number;
  /** Bound on TCP connect + TLS handshake per instance when dialling (default 10 s). */
  connectTimeoutMs?: number;
}

export interface DialOptions {
  /** Datacenter of the destination (default: the agent's). */
  datacenter?: string;
  /** Overrides ConnectServiceOptions.connectTimeoutMs for this dial. */
  connectTimeoutMs?: number;
  /**
   * The destination names a prepared query rather than a service (Consul's
   * `destination_type = "prepared_query"`): instances come from executing it with connect=true
   * (answers reused for up to 1 s), and each must present the identity of the service it answered for.
   */
  preparedQuery?: boolean;
}

/** Internals the built-in proxy passes; not part of the SDK's surface. */
export interface ConnectServiceInternals {
  logger?: Logger;
  clock?: Clock;
  rng?: Rng;
  /**
   * Resume TLS sessions when dialling an instance again. The built-in proxy turns this on: it
   * only splices bytes. The SDK leaves it off because a resumed client socket has no peer
   * certificate to show (getPeerX509Certificate() is undefined on it in Node 20).
   */
  resumeTlsSessions?: boolean;
}

interface LeafBody {
  CertPEM: string;
  PrivateKeyPEM: string;
  ServiceURI: string;
  SerialNumber: string;
}

interface RootsBody {
  TrustDomain: string;
  ActiveRootID: string;
  Roots: { RootCert: string; IntermediateCerts: string[] | null }[] | null;
}

/** How many distinct instances one dial tries before giving up. */
const MAX_DIAL_ATTEMPTS = 5;

/** Idle kept connections per destination instance (stream reuse), and how long one waits. */
const KEPT_PER_INSTANCE = 64;
const KEPT_IDLE_MS = 10_000;

/** Bound on remembered TLS sessions (one per destination instance). */
const SESSION_CACHE_LIMIT = 1024;

export class ConnectService {
  /** The service name this process speaks for (its leaf certificate's identity). */
  readonly name: string;
  readonly #client: AgentClient;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #log: Logger;
  readonly #connectTimeoutMs: number;
  readonly #leafWatch: BlockingWatch<LeafBody>;
  readonly #rootsWatch: BlockingWatch<RootsBody>;
  #intentionsWatch: BlockingWatch<unknown> | undefined;
  readonly #authz: AuthorizeCache;
  readonly #peers = new PeerIdentityCache();
  readonly #upstreams = new Map<string, UpstreamInstances>();
  readonly #queries = new Map<string, QueryInstances>();
  readonly #agents = new Set<https.Agent>();
  /** fetch()'s pooled agents, one per destination and datacenter. */
  readonly #fetchAgents = new Map<string, https.Agent>();
  readonly #rotationListeners = new Set<(ctx: MeshTlsContext) => void>();
  /**
   * The latest TLS session ticket per destination instance, so the next dial resumes instead of
   * repeating the certificate exchange (signatures and chain checks are most of a handshake's
   * CPU). Only sessions of the current generation are kept: a new leaf or new roots empties
   * it, so a resumed connection never carries an identity or trust we have since dropped.
   */
  readonly #sessions = new Map<string, Buffer>();
  readonly #resumeSessions: boolean;
  /** Idle connections to stream-reuse instances, per instance; emptied when our material changes. */
  readonly #kept = new Map<string, TLSSocket[]>();
  #leaf: LeafBody | undefined;
  #roots: RootsBody | undefined;
  #context: MeshTlsContext | undefined;
  #generation = 0;
  #closed = false;

  private constructor(name: string, options: ConnectServiceOptions, internals: ConnectServiceInternals) {
    this.name = name;
    this.#client = new AgentClient(options.agent ?? process.env.CONSUL_HTTP_ADDR ?? "", options.token ?? process.env.CONSUL_HTTP_TOKEN ?? "");
    this.#clock = internals.clock ?? systemClock;
    this.#rng = internals.rng ?? systemRng;
    this.#log = internals.logger ?? silentLogger;
    this.#resumeSessions = internals.resumeTlsSessions === true;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#authz = new AuthorizeCache(this.#client, name, this.#clock);
    const warn = (what: string) => (err: unknown): void => {
      if (!this.#closed) this.#log.warn(`${what} failed, retrying`, { service: name, error: errorText(err) });
    };
    this.#leafWatch = new BlockingWatch<LeafBody>({
      client: this.#client,
      path: `/v1/agent/connect/ca/leaf/${encodeURIComponent(name)}`,
      clock: this.#clock,
      onChange: (leaf) => {
        this.#leaf = leaf;
        this.#rebuild();
      },
      onError: warn("leaf certificate watch"),
    });
    this.#rootsWatch = new BlockingWatch<RootsBody>({
      client: this.#client,
      path: "/v1/agent/connect/ca/roots",
      clock: this.#clock,
      onChange: (roots) => {
        this.#roots = roots;
        this.#authz.invalidate();
        this.#rebuild();
      },
      onError: warn("CA roots watch"),
    });
  }

  /** Resolves once the service's leaf and the roots are loaded. */
  static async create(name: string, options: ConnectServiceOptions = {}, internals: ConnectServiceInternals = {}): Promise<ConnectService> {
    if (typeof name !== "string" || name === "") throw new ConnectError("BadDestination", "a service name is required");
    const svc = new ConnectService(name, options, internals);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = svc.#clock.setTimer(timeoutMs, () => reject(new ConnectError("AgentError", `timed out after ${timeoutMs} ms loading the leaf certificate and CA roots of "${name}" from ${svc.#client.base}`)));
    });
    try {
      await Promise.race([Promise.all([svc.#leafWatch.ready, svc.#rootsWatch.ready]), timeout]);
    } catch (err) {
      svc.close();
      throw err;
    } finally {
      timer?.cancel();
    }
    return svc;
  }

  #rebuild(): void {
    const leaf = this.#leaf;
    const roots = this.#roots;
    if (!leaf || !roots || this.#closed) return;
    const caPems: string[] = [];
    for (const r of roots.Roots ?? []) {
      caPems.push(r.RootCert);
      for (const i of r.IntermediateCerts ?? []) caPems.push(i);
    }
    try {
      this.#context = buildTlsContext({ generation: ++this.#generation, keyPem: leaf.PrivateKeyPEM, certPem: leaf.CertPEM, caPems });
      this.#sessions.clear();
      this.#dropKept();
    } catch (err) {
      this.#log.error("cannot build a TLS context from the leaf and roots", { service: this.name, error: errorText(err) });
      return;
    }
    this.#log.debug("TLS material updated", { service: this.name, generation: this.#generation, serial: leaf.SerialNumber });
    for (const l of this.#rotationListeners) l(this.#context);
  }

  /** The current generation of TLS material (for the built-in proxy's listeners). */
  get tlsContext(): MeshTlsContext {
    if (!this.#context) throw new ConnectError("Closed", "the service has no TLS material yet");
    return this.#context;
  }

  /** The SPIFFE ID of this service's current leaf. */
  get uri(): string {
    return this.#leaf?.ServiceURI ?? "";
  }

  get #datacenter(): string {
    return parseServiceUri(this.uri)?.datacenter ?? "";
  }

  /** Calls `listener` with each new generation of TLS material; returns an unsubscribe function. */
  onRotate(listener: (ctx: MeshTlsContext) => void): () => void {
    this.#rotationListeners.add(listener);
    return () => this.#rotationListeners.delete(listener);
  }

  /**
   * Options for tls.createServer / https.createServer: present the leaf, require a client
   * certificate verified against the roots. Pass the server to serve() as well, so that every
   * connection is authorised against intentions and rotated material reaches new connections.
   */
  tlsServerOptions(): TlsOptions {
    return {
      ...secureContextOptions(this.tlsContext),
      requestCert: true,
      rejectUnauthorized: true,
      // Clients that send SNI (ours do) get the current generation even before serve() swaps it.
      SNICallback: (_servername, cb) => cb(null, this.tlsContext.secureContext),
    };
  }

  /**
   * Attaches a server made with tlsServerOptions(): rotated leaf and roots become its context
   * for new connections, and a connection reaches the server's listeners (an https handler
   * included) only once intentions allow its client; a denied one is closed.
   */
  serve<S extends TlsServer>(server: S): S {
    const unsubscribe = this.onRotate((ctx) => server.setSecureContext(secureContextOptions(ctx)));
    server.once("close", unsubscribe);
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
    // 'secureConnection' is where tls and https servers hand out a verified socket; holding
    // the event back until the decision keeps every listener, whenever registered, behind it.
    server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== "secureConnection") return emit(event, ...args);
      const socket = args[0] as TLSSocket;
      this.authorizeSocket(socket).then(
        (d) => {
          if (socket.destroyed) return;
          if (d.authorized) emit(event, ...args);
          else {
            this.#log.debug("connection refused", { service: this.name, reason: d.reason });
            socket.destroy();
          }
        },
        () => socket.destroy(),
      );
      return true;
    }) as S["emit"];
    return server;
  }

  /** Asks intentions whether the client of an established mTLS connection may talk to this service. */
  async authorizeSocket(socket: TLSSocket): Promise<AuthorizeDecision> {
    const cert = socket.getPeerX509Certificate();
    if (!cert || !socket.authorized) return { authorized: false, reason: "no verified client certificate" };
    const id = this.#peers.identify(cert.fingerprint256, cert.raw);
    if (!id.service) return { authorized: false, reason: `client certificate URI ${JSON.stringify(id.uri)} is not a Connect service identity` };
    this.#watchIntentions();
    return this.#authz.authorize(id.uri, consulSerial(cert.serialNumber));
  }

  /** Follows this service's intentions so a change drops cached decisions at once. */
  #watchIntentions(): void {
    if (this.#intentionsWatch || this.#closed) return;
    this.#intentionsWatch = new BlockingWatch<unknown>({
      client: this.#client,
      path: "/v1/connect/intentions/match",
      query: { by: "destination", name: this.name },
      clock: this.#clock,
      onChange: () => this.#authz.invalidate(),
      // Without intentions:read the 1 s decision lifetime still bounds staleness.
      onError: (err) => this.#log.debug("intentions watch failed", { service: this.name, error: errorText(err) }),
    });
  }

  #instances(destination: string, datacenter: string): UpstreamInstances {
    const key = `${destination}\u0000${datacenter}`;
    let inst = this.#upstreams.get(key);
    if (!inst) {
      inst = new UpstreamInstances({
        client: this.#client,
        destination,
        datacenter: datacenter === "" ? undefined : datacenter,
        clock: this.#clock,
        rng: this.#rng,
        onError: (err) => this.#log.warn("health watch failed, retrying", { destination, error: errorText(err) }),
      });
      this.#upstreams.set(key, inst);
    }
    return inst;
  }

  #queryInstances(query: string, datacenter: string): QueryInstances {
    const key = `${query}\u0000${datacenter}`;
    let inst = this.#queries.get(key);
    if (!inst) {
      inst = new QueryInstances({ client: this.#client, query, datacenter, clock: this.#clock, rng: this.#rng });
      this.#queries.set(key, inst);
    }
    return inst;
  }

  /** Checks that a server certificate names `destination` in our trust domain and the instance's datacenter. */
  #verifyServer(destination: string, instance: MeshInstance, cert: PeerCertificate): Error | undefined {
    const id = this.#peers.identify(cert.fingerprint256, cert.raw);
    const want = `service "${destination}" in datacenter "${instance.datacenter}" of trust domain "${this.#roots?.TrustDomain ?? ""}"`;
    const svc = id.service;
    if (
      !svc ||
      svc.service.toLowerCase() !== destination.toLowerCase() ||
      svc.trustDomain !== (this.#roots?.TrustDomain ?? "").toLowerCase() ||
      svc.namespace !== "default" ||
      (instance.datacenter !== "" && svc.datacenter !== instance.datacenter)
    ) {
      return new ConnectError("IdentityMismatch", `${instance.host}:${instance.port} presented ${JSON.stringify(id.uri)}, want ${want}`);
    }
    return undefined;
  }

  /** Dials a healthy instance of `destination` with mTLS; a failed instance makes way for another. */
  async dial(destination: string, options: DialOptions = {}): Promise<TLSSocket> {
    return (await this.#dial(destination, options, false)).socket;
  }

  /**
   * The built-in proxy's dial: like dial(), but an instance whose registration advertises stream
   * reuse (a Consulate sidecar) is reached over a kept connection when one is idle (unless
   * `fresh`: the retry of a stream whose kept connection turned out dead). With
   * `release` set, the socket carries framed streams (transport/mesh/stream-reuse.ts) and must
   * be handed back with release(reusable) when the stream is over.
   */
  async dialForRelay(destination: string, options: DialOptions & { fresh?: boolean } = {}): Promise<{ socket: TLSSocket; release?: (reusable: boolean) => void }> {
    return this.#dial(destination, options, true);
  }

  async #dial(destination: string, options: DialOptions & { fresh?: boolean }, relay: boolean): Promise<{ socket: TLSSocket; release?: (reusable: boolean) => void }> {
    if (this.#closed) throw new ConnectError("Closed", "the service is closed");
    if (typeof destination !== "string" || destination === "") throw new ConnectError("BadDestination", "a destination service name is required");
    const dc = options.datacenter ?? "";
    const instances = options.preparedQuery === true ? this.#queryInstances(destination, dc) : this.#instances(destination, dc);
    await instances.ready();
    const tried = new Set<string>();
    const failures: string[] = [];
    for (let attempt = 0; attempt < MAX_DIAL_ATTEMPTS; attempt++) {
      const instance = instances.pick(tried);
      if (!instance) break;
      tried.add(instanceKey(instance));
      const ctx = this.tlsContext;
      const service = instance.service ?? destination;
      const reuse = relay && instance.streamReuse === true;
      // The expected service is part of the key: a session proves the identity checked when it
      // was made, so it must only stand in for the same check. Reuse asks with another SNI, so
      // its sessions (bound to the SNI) and kept connections are keyed apart.
      const key = `${reuse ? "r" : "p"}\u0000${service}\u0000${instanceKey(instance)}`;
      if (reuse && options.fresh !== true) {
        const kept = this.#takeKept(key);
        if (kept) return { socket: kept, release: (ok) => this.#keep(ctx.generation, key, kept, ok) };
      }
      const sni = this.#roots ? `${service}.default.${instance.datacenter || this.#datacenter}.internal.${this.#roots.TrustDomain}` : undefined;
      try {
        const socket = await dialMtls({
          host: instance.host,
          port: instance.port,
          secureContext: ctx.secureContext,
          session: this.#resumeSessions ? this.#sessions.get(key) : undefined,
          onSession: this.#resumeSessions ? (session) => this.#rememberSession(ctx.generation, key, session) : undefined,
          servername: reuse && sni ? `${STREAM_REUSE_SNI_PREFIX}${sni}` : sni,
          verifyPeer: (cert) => this.#verifyServer(service, instance, cert),
          timeoutMs: options.connectTimeoutMs ?? this.#connectTimeoutMs,
        });
        if (!reuse) return { socket };
        socket.on("error", () => socket.destroy());
        // Only an idle kept connection has its timer set; a closed one leaves the idle list.
        socket.on("timeout", () => socket.destroy());
        socket.once("close", () => {
          const idle = this.#kept.get(key);
          const at = idle ? idle.indexOf(socket) : -1;
          if (idle && at >= 0) idle.splice(at, 1);
        });
        return { socket, release: (ok) => this.#keep(ctx.generation, key, socket, ok) };
      } catch (err) {
        failures.push(`${instanceKey(instance)}: ${errorText(err)}`);
        this.#log.debug("dial failed, trying another instance", { destination, instance: instanceKey(instance), error: errorText(err) });
      }
    }
    if (tried.size === 0) throw new ConnectError("NoHealthyInstances", `no healthy instances of ${options.preparedQuery === true ? "prepared query " : ""}"${destination}"`);
    throw new ConnectError("DialFailed", `dialing "${destination}" failed: ${failures.join("; ")}`);
  }

  /** An idle kept connection for `key` that is still open, or undefined. */
  #takeKept(key: string): TLSSocket | undefined {
    const idle = this.#kept.get(key);
    while (idle && idle.length > 0) {
      const socket = idle.pop();
      if (socket && !socket.destroyed && socket.readable && socket.writable && socket.readableLength === 0) {
        socket.setTimeout(0);
        return socket;
      }
      socket?.destroy();
    }
    return undefined;
  }

  /** Takes a connection back after a stream: kept while our material is unchanged, up to a bound, for a while. */
  #keep(generation: number, key: string, socket: TLSSocket, reusable: boolean): void {
    if (!reusable || socket.destroyed) return void socket.destroy();
    if (this.#closed || generation !== this.#generation) return void socket.destroy();
    let idle = this.#kept.get(key);
    if (!idle) {
      idle = [];
      this.#kept.set(key, idle);
    }
    if (idle.length >= KEPT_PER_INSTANCE) return void socket.destroy();
    idle.push(socket);
    socket.setTimeout(KEPT_IDLE_MS);
  }

  #dropKept(): void {
    for (const idle of this.#kept.values()) for (const socket of idle.splice(0)) socket.destroy();
    this.#kept.clear();
  }

  #rememberSession(generation: number, key: string, session: Buffer): void {
    if (generation !== this.#generation || this.#closed) return;
    if (!this.#sessions.has(key) && this.#sessions.size >= SESSION_CACHE_LIMIT) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(key, session);
  }

  /** An https.Agent whose connections go to healthy instances of `destination` over mTLS (kept alive). */
  httpsAgent(destination: string, options: DialOptions = {}): https.Agent {
    const dial = (): Promise<TLSSocket> => this.dial(destination, options);
    class MeshAgent extends https.Agent {
      override createConnection(_opts: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        dial().then(
          (socket) => callback?.(null, socket),
          (err: Error) => callback?.(err, undefined as unknown as Duplex),
        );
        return undefined;
      }
    }
    const agent = new MeshAgent({ keepAlive: true });
    this.#agents.add(agent);
    return agent;
  }

  /**
   * fetch() for mesh destinations: the URL's host names the service, as
   * "https://web.service.consul/path" (or "<svc>.service.<dc>.consul", "<svc>.connect.consul").
   */
  fetch(url: string | URL, init: MeshFetchInit = {}): Promise<Response> {
    return meshFetch(url, init, (destination, datacenter) => this.#agentFor(destination, datacenter));
  }

  #agentFor(destination: string, datacenter: string): https.Agent {
    const key = `${destination}\u0000${datacenter}`;
    let agent = this.#fetchAgents.get(key);
    if (!agent) {
      agent = this.httpsAgent(destination, datacenter === "" ? {} : { datacenter });
      this.#fetchAgents.set(key, agent);
    }
    return agent;
  }

  /** Stops every watch and closes pooled client connections. Servers passed to serve() stay the caller's. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leafWatch.stop();
    this.#rootsWatch.stop();
    this.#intentionsWatch?.stop();
    for (const u of this.#upstreams.values()) u.stop();
    this.#upstreams.clear();
    for (const q of this.#queries.values()) q.stop();
    this.#queries.clear();
    for (const a of this.#agents) a.destroy();
    this.#agents.clear();
    this.#fetchAgents.clear();
    this.#rotationListeners.clear();
    this.#sessions.clear();
    this.#dropKept();
  }
}
