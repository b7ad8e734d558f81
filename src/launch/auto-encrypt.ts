// auto_encrypt on a client agent (Consul's agent/auto-config/auto_encrypt.go): before it talks
// to any server, the agent makes a key and a CSR for its agent SPIFFE ID and calls
// AutoEncrypt.Sign on a retry_join server over TLS without a client certificate
// (RPCTLSInsecure), checking the server's certificate against its own ca_file. The answer —
// a certificate from the Connect CA, the Connect roots and the servers' CA — becomes its
// client certificate for RPC (and its HTTPS certificate when no cert_file is set). Start-up
// waits for it, as Consul's does. The certificate is renewed between 60 % and 90 % of its
// lifetime over the ordinary (now mutual) TLS connection. Between renewals it follows the
// Connect CA roots with a blocking query (Consul's auto_encrypt client watches ConnectCA.Roots),
// so a new root is trusted as soon as the servers publish it, not only at the next renewal.

import type { RuntimeConfig } from "../config/runtime-config.ts";
import type { TlsMaterial } from "../config/tls.ts";
import type { ApiDispatcher } from "../http/dispatch-request.ts";
import { createLeafKeyAndCsr } from "../connect/leaf-key.ts";
import { agentUri } from "../connect/spiffe.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { holdProcessOpen } from "../runtime/process-hold.ts";
import type { Rng } from "../runtime/rng.ts";
import { AUTO_ENCRYPT_SIGN, type AutoEncryptSignArgs, type AutoEncryptSignReply } from "../server/auto-encrypt-endpoint.ts";
import { RpcPool } from "../transport/rpc-client.ts";
import { parseHostPort } from "../transport/rpc.ts";
import type { ServerPortTls, ServerPortTlsSettings } from "../transport/server-port-tls.ts";

/** Placeholder trust domain of the first CSR: the server rewrites it to the cluster's. */
const UNKNOWN_TRUST_DOMAIN = "unknown.consul";
const DEFAULT_DNS_SANS = ["localhost"];
const DEFAULT_IP_SANS = ["127.0.0.1", "::1"];
const CALL_TIMEOUT_MS = 30_000;
// Between rounds over the join hosts: from half a second, growing by half each round, to 30 s.
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface AutoEncryptDeps {
  rc: RuntimeConfig;
  /** The agent's server-port TLS: its CA checks servers; the issued certificate is put in. */
  tls: ServerPortTls;
  clock: Clock;
  rng: Rng;
  logger: Logger;
}

export interface AutoCertificate {
  certPem: string;
  keyPem: string;
  /** Connect CA roots (and intermediates) at the time of signing. */
  connectRoots: string[];
  manualCaRoots: string[];
  validBeforeMs: number;
}

/** One answer of the Connect CA roots watch: the roots' PEMs at a Raft index. */
export interface RootsAnswer {
  index: number;
  rootPems: string[];
}

/**
 * Asks a server for the roots, blocking while they are unchanged since `index` (0: at once);
 * rejects when no answer came (no server, a refusal).
 */
export type RootsSource = (index: number, signal: AbortSignal) => Promise<RootsAnswer>;

export class AutoEncryptClient {
  readonly #d: AutoEncryptDeps;
  /** The configured server-port settings; the issued certificate is laid over them. */
  #base: ServerPortTlsSettings;
  #current: AutoCertificate | undefined;
  #verifyServerHostname = false;
  /** The cluster's trust domain, learnt from the first answer (renewals ask with it). */
  #lastTrustDomain = "";
  #renewTimer: TimerHandle | undefined;
  #waitTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;
  /** Aborts the roots watch's pending query on stop. */
  readonly #watchAbort = new AbortController();
  readonly #listeners: ((cert: AutoCertificate) => void)[] = [];

  constructor(deps: AutoEncryptDeps) {
    this.#d = deps;
    this.#base = deps.tls.settings;
  }

  get certificate(): AutoCertificate | undefined {
    return this.#current;
  }

  /** Called with every new certificate or trusted root set (HTTPS swaps its context). */
  onCertificate(listener: (cert: AutoCertificate) => void): void {
    this.#listeners.push(listener);
  }

  /** retry_join hosts at this agent's own server port, as Consul dials them. */
  #joinAddresses(): string[] {
    const port = this.#d.rc.ports.server;
    return this.#d.rc.retryJoin.map((entry) => {
      const { host } = parseHostPort(entry, port);
      return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    });
  }

  #token(): string {
    return this.#d.rc.aclTokens.agent || this.#d.rc.aclTokens.default;
  }

  async #request(): Promise<{ args: AutoEncryptSignArgs; keyPem: string }> {
    const rc = this.#d.rc;
    const uri = agentUri({ trustDomain: this.#current ? this.#trustDomain() : UNKNOWN_TRUST_DOMAIN, datacenter: rc.datacenter, agent: rc.nodeName });
    const { privateKeyPem, csrPem } = await createLeafKeyAndCsr(uri, rc.nodeName, {
      dnsNames: [...DEFAULT_DNS_SANS, ...rc.autoEncrypt.dnsSan],
      ipAddresses: [...DEFAULT_IP_SANS, ...rc.autoEncrypt.ipSan],
    });
    return { args: { Datacenter: rc.datacenter, CSR: csrPem, Token: this.#token() }, keyPem: privateKeyPem };
  }

  #trustDomain(): string {
    return this.#lastTrustDomain || UNKNOWN_TRUST_DOMAIN;
  }

  /**
   * Start-up: asks the retry_join servers in turn until one answers (backing off between
   * rounds), then installs the certificate. Rejects only when stopped.
   */
  async fetchInitial(): Promise<void> {
    const addresses = this.#joinAddresses();
    if (addresses.length === 0) throw new Error("auto_encrypt.tls needs retry_join (or start_join) addresses: they are the servers asked for the agent's certificate");
    const log = this.#d.logger;
    const pool = new RpcPool({ clock: this.#d.clock, rng: this.#d.rng, defaultPort: this.#d.rc.ports.server, dial: this.#d.tls.dialInsecure, reconnectBaseMs: 0, reconnectMaxMs: 0 });
    // Nothing listens yet, and clock timers do not keep the process alive between rounds.
    const release = holdProcessOpen();
    try {
      for (let round = 0; ; round++) {
        const { args, keyPem } = await this.#request();
        for (const address of addresses) {
          if (this.#stopped) throw new Error("auto_encrypt: stopped before a certificate was issued");
          try {
            const reply = (await pool.call(address, AUTO_ENCRYPT_SIGN, args, { timeoutMs: CALL_TIMEOUT_MS })) as AutoEncryptSignReply;
            this.#install(reply, keyPem);
            log.info("automatically upgraded to TLS", { server: address });
            return;
          } catch (err) {
            log.error("AutoEncrypt.Sign RPC failed", { addr: address, error: err instanceof Error ? err.message : String(err) });
          }
        }
        log.error("No servers successfully responded to the auto-encrypt request");
        await this.#sleep(this.#backoffMs(round));
      }
    } finally {
      release();
      pool.close();
    }
  }

  #backoffMs(attempt: number): number {
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 1.5 ** Math.min(attempt, 20));
    return base / 2 + this.#d.rng.float() * (base / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#waitTimer = this.#d.clock.setTimer(ms, () => {
        this.#wake = undefined;
        resolve();
      });
    });
  }

  #install(reply: AutoEncryptSignReply, keyPem: string): void {
    const issued = reply.IssuedCert;
    if (typeof issued?.CertPEM !== "string" || issued.CertPEM === "") throw new Error("AutoEncrypt.Sign answered without a certificate");
    const connectRoots = (reply.ConnectCARoots?.Roots ?? []).map((r) => r.RootCert);
    this.#lastTrustDomain = reply.ConnectCARoots?.TrustDomain ?? "";
    this.#verifyServerHostname = reply.VerifyServerHostname === true;
    this.#current = {
      certPem: issued.CertPEM,
      keyPem,
      connectRoots,
      manualCaRoots: reply.ManualCARoots ?? [],
      validBeforeMs: Date.parse(issued.ValidBefore),
    };
    this.#apply();
    for (const l of this.#listeners) l(this.#current);
  }

  /** The server-port TLS settings with the issued certificate as client certificate. */
  #apply(): void {
    const cert = this.#current;
    if (!cert) return this.#d.tls.update(this.#base);
    const base = this.#base;
    const domain = this.#d.rc.domain.replace(/\.$/, "");
    this.#d.tls.update({
      ...base,
      material: { ...base.material, ca: [...base.material.ca, ...cert.connectRoots], cert: cert.certPem, key: cert.keyPem },
      verifyOutgoing: true,
      // The servers say whether they check hostnames; then this agent checks theirs.
      serverName: base.serverName ?? (this.#verifyServerHostname ? `server.${this.#d.rc.datacenter}.${domain}` : undefined),
    });
  }

  /** Reload: new configured settings (CA, versions); the issued certificate stays. */
  setBase(settings: ServerPortTlsSettings): void {
    this.#base = settings;
    this.#apply();
  }

  /** HTTPS material for a client with ports.https and no cert_file: the issued certificate. */
  httpsMaterial(configured: TlsMaterial | undefined): TlsMaterial {
    const cert = this.#current;
    if (!cert) throw new Error("auto_encrypt: no certificate yet");
    return {
      ca: [...(configured?.ca ?? this.#base.material.ca), ...cert.connectRoots],
      cert: cert.certPem,
      key: cert.keyPem,
      verifyIncoming: configured?.verifyIncoming ?? this.#d.rc.tls.https.verifyIncoming,
      minVersion: configured?.minVersion ?? this.#base.material.minVersion,
      ciphers: configured?.ciphers ?? this.#base.material.ciphers,
    };
  }

  /**
   * Renews over the agent's ordinary RPC pool (mutual TLS with the current certificate) at a
   * random point between 60 % and 90 % of the certificate's lifetime.
   */
  startRenewal(pool: RpcPool, servers: () => string[]): void {
    const schedule = (delayMs: number): void => {
      if (this.#stopped) return;
      // Timers hold at most ~24.8 days; a longer-lived certificate is then renewed early.
      this.#renewTimer = this.#d.clock.setTimer(Math.min(2 ** 31 - 1, Math.max(0, delayMs)), () => {
        this.#renew(pool, servers).then(
          () => schedule(this.#renewDelayMs()),
          (err: unknown) => {
            this.#d.logger.error("auto_encrypt: renewing the agent certificate failed; retrying", { error: err instanceof Error ? err.message : String(err) });
            schedule(Math.min(this.#backoffMs(2), Math.max(1000, (this.#current?.validBeforeMs ?? 0) - this.#d.clock.now())));
          },
        );
      });
    };
    schedule(this.#renewDelayMs());
  }

  #renewDelayMs(): number {
    const cert = this.#current;
    if (!cert) return RETRY_MIN_MS;
    const now = this.#d.clock.now();
    const lifetime = Math.max(0, cert.validBeforeMs - now);
    return lifetime * (0.6 + 0.3 * this.#d.rng.float());
  }

  async #renew(pool: RpcPool, servers: () => string[]): Promise<void> {
    const candidates = [...servers(), ...this.#joinAddresses()];
    const { args, keyPem } = await this.#request();
    let last: unknown = new Error("no known servers");
    for (const address of candidates) {
      if (this.#stopped) return;
      try {
        const reply = (await pool.call(address, AUTO_ENCRYPT_SIGN, args, { timeoutMs: CALL_TIMEOUT_MS })) as AutoEncryptSignReply;
        this.#install(reply, keyPem);
        this.#d.logger.info("auto_encrypt: renewed the agent certificate", { validBefore: new Date(this.#current?.validBeforeMs ?? 0).toISOString() });
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /**
   * Follows the roots until stopped: every answer whose roots differ from those trusted now
   * becomes the trusted set (server-port TLS at once, HTTPS through the certificate listeners).
   */
  watchRoots(source: RootsSource): void {
    void this.#watchRoots(source);
  }

  async #watchRoots(source: RootsSource): Promise<void> {
    let index = 0;
    let failures = 0;
    while (!this.#stopped) {
      try {
        const answer = await source(index, this.#watchAbort.signal);
        failures = 0;
        // An index that went backwards (a restore, another cluster) restarts the watch at once.
        index = answer.index < index ? 0 : answer.index;
        this.#trustRoots(answer.rootPems);
      } catch (err) {
        if (this.#stopped) return;
        this.#d.logger.warn("auto_encrypt: watching the Connect CA roots failed; retrying", { error: err instanceof Error ? err.message : String(err) });
        await this.#pause(this.#backoffMs(failures++));
      }
    }
  }

  #trustRoots(rootPems: string[]): void {
    const cert = this.#current;
    if (!cert || rootPems.length === 0) return;
    const known = new Set(cert.connectRoots);
    if (rootPems.length === known.size && rootPems.every((pem) => known.has(pem))) return;
    this.#current = { ...cert, connectRoots: rootPems };
    this.#apply();
    this.#d.logger.info("auto_encrypt: updated the trusted Connect CA roots", { roots: rootPems.length });
    for (const l of this.#listeners) l(this.#current);
  }

  /** A wait of the roots watch between failed attempts; stop ends it early. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#d.clock.setTimer(ms, resolve);
      this.#watchAbort.signal.addEventListener("abort", () => {
        timer.cancel();
        resolve();
      }, { once: true });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#watchAbort.abort();
    this.#renewTimer?.cancel();
    this.#waitTimer?.cancel();
    this.#wake?.();
  }
}

/** The roots watch's source on a client agent: the roots endpoint, which it forwards to a server. */
export function rootsThroughDispatcher(dispatcher: Pick<ApiDispatcher, "dispatch">): RootsSource {
  return async (index, signal) => {
    const answer = await dispatcher.dispatch(
      { method: "GET", path: "/v1/connect/ca/roots", rawQuery: index > 0 ? `index=${index}` : "", headers: {}, body: undefined, remoteAddress: "" },
      { signal: () => signal },
    );
    const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
    if (answer.status !== 200) throw new Error(`roots query answered ${answer.status}: ${text.trim()}`);
    const body = JSON.parse(text) as { Roots?: { RootCert?: unknown }[] | null };
    const rootPems = (body.Roots ?? []).map((r) => r.RootCert).filter((pem): pem is string => typeof pem === "string" && pem !== "");
    return { index: Number(answer.headers["X-Consul-Index"] ?? 0) || 0, rootPems };
  };
}
