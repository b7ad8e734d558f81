import { createPublicKey, X509Certificate } from "node:crypto";
import { CaConfigError, defaultRawConfig, normalizeRawConfig, parseCaConfig, type ConsulCaSettings } from "../connect/ca-config.ts";
import { createRootCert, crossSignRoot, csrUri, CsrError, rootCertInfo, signLeaf } from "../connect/ca-certs.ts";
import { serialColonHex } from "../connect/hex.ts";
import { generatePrivateKeyPem, importSigningKey, keyIdOf } from "../connect/keys.ts";
import { agentUri, parseAgentUri, parseServiceUri, serviceUri, signingUri, trustDomainOf } from "../connect/spiffe.ts";
import type { Command } from "../fsm/command.ts";
import type { CAConfiguration, CARootFields } from "../model/connect-ca.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { StateStore } from "../state/store.ts";
import type { Consensus } from "./consensus.ts";

// The built-in CA on a server (provider "consul"): the leader initialises it once (cluster ID,
// root key and self-signed root, all Raft state), rotates the root when the configuration asks
// for another key (the new root cross-signed by the old one), and signs leaf CSRs with the
// active root's key. Serial numbers come from Raft in blocks: the leader reserves
// SERIAL_BLOCK of them with one write and hands them out itself, so a leaf costs no Raft write
// (Consul writes one per leaf). A reserved number is never handed out twice: a block lives
// only in the memory of the server that reserved it, and a new leader (or a restarted one)
// reserves past every block already committed.

export const CONNECT_DISABLED = "Connect must be enabled in order to use this endpoint";

/** A CA error a client sees (the HTTP layer maps `status`). */
export class ConnectCaError extends Error {
  readonly status: 400 | 429 | 500;
  constructor(message: string, status: 400 | 429 | 500 = 500) {
    super(message);
    this.status = status;
  }
}

export interface SignedLeaf {
  SerialNumber: string;
  CertPEM: string;
  Service: string;
  ServiceURI: string;
  /** Agent certificates (auto_encrypt): the node name and its SPIFFE ID; absent for services. */
  Agent?: string;
  AgentURI?: string;
  ValidAfter: string;
  ValidBefore: string;
  Namespace: string;
  /** The active root that signed it (agents re-issue when it changes). */
  RootID: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ConnectCaDeps {
  consensus: Consensus;
  state: StateStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  datacenter: string;
  enabled: boolean;
  /** connect.ca_provider and connect.ca_config of the agent configuration: the initial CA configuration. */
  seed: { provider: string; config: Record<string, unknown> };
  /** Serial numbers reserved per Raft write (SERIAL_BLOCK unless a test wants smaller blocks). */
  serialBlock?: number;
}

const ROOT_NAME = "Consul CA Primary Cert";
/** Serial numbers reserved per Raft write (at 500 leaves/s, two writes a second). */
export const SERIAL_BLOCK = 256;
const ALPHANUM = "abcdefghijklmnopqrstuvwxyz0123456789";

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class ConnectCa {
  readonly #d: ConnectCaDeps;
  #retry: TimerHandle | undefined;
  #initializing: Promise<void> | undefined;
  #stopped = false;
  /** Token bucket for csr_max_per_second; in-flight count for csr_max_concurrent. */
  #tokens = 0;
  #tokensAtMs = 0;
  #inFlight = 0;
  /** The serial numbers this leader reserved and has not handed out yet: [next, end). */
  #serials: { next: number; end: number } | undefined;
  #reserving: Promise<void> | undefined;

  /** Refuses (at start) a CA configuration the agent could never honour: another provider, unknown or invalid keys. */
  constructor(deps: ConnectCaDeps) {
    this.#d = deps;
    if (!deps.enabled) return;
    if (deps.seed.provider !== "consul") throw new Error(`connect.ca_provider: unknown CA provider "${deps.seed.provider}" (only "consul" is built in)`);
    try {
      parseCaConfig(deps.seed.config);
    } catch (err) {
      throw new Error(`connect.ca_config: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  get enabled(): boolean {
    return this.#d.enabled;
  }

  start(): void {
    if (this.#d.consensus.isLeader()) this.leadershipChanged();
  }

  stop(): void {
    this.#stopped = true;
    this.#retry?.cancel();
  }

  /** A new leader initialises the CA when none is stored yet (retrying until it sticks or leadership ends). */
  leadershipChanged(): void {
    // Unused numbers of a block are simply skipped: a new term starts with a fresh block.
    this.#serials = undefined;
    if (!this.#d.enabled || this.#stopped || !this.#d.consensus.isLeader() || this.#initializing) return;
    if (this.#d.state.connectCa.config() !== undefined) return;
    this.#initializing = this.#initialize().then(
      () => {
        this.#initializing = undefined;
      },
      (err: unknown) => {
        this.#initializing = undefined;
        this.#d.logger.warn("CA initialization failed; retrying", { error: err instanceof Error ? err.message : String(err) });
        this.#retry = this.#d.clock.setTimer(1000, () => this.leadershipChanged());
      },
    );
  }

  async #propose(cmd: Command): Promise<{ index: number; value: unknown }> {
    const { index, result } = await this.#d.consensus.propose(cmd);
    if (!result.ok) throw new ConnectCaError(result.error);
    return { index, value: result.value };
  }

  /**
   * The next serial number, and the Raft index a certificate signed now reports: the last
   * applied index, at least that of the block's reservation. Leaves signed between two Raft
   * writes share it (Consul gives each its own write); a re-issued leaf must still pass its
   * predecessor's index (`afterIndex`) for blocking readers, so when nothing was written since,
   * the next block is reserved now. Concurrent callers that find the block used up share one
   * reservation.
   */
  async #nextSerial(afterIndex = 0): Promise<{ serial: number; index: number }> {
    // One reservation is enough to pass any index this cluster gave out; a bogus afterIndex must not loop.
    let reserved = false;
    for (;;) {
      const block = this.#serials;
      const index = this.#d.consensus.appliedIndex();
      if (block !== undefined && block.next < block.end && (index > afterIndex || reserved)) return { serial: block.next++, index };
      this.#reserving ??= this.#reserveSerials().finally(() => {
        this.#reserving = undefined;
      });
      await this.#reserving;
      reserved = true;
    }
  }

  async #reserveSerials(): Promise<void> {
    const count = this.#d.serialBlock ?? SERIAL_BLOCK;
    const { value } = await this.#propose({ Type: "connect-ca-serial", Count: count });
    const first = value as number;
    this.#serials = { next: first, end: first + count };
  }

  async #initialize(): Promise<void> {
    const { seed, rng } = this.#d;
    if (seed.provider !== "consul") throw new Error(`unknown CA provider "${seed.provider}"`);
    const raw = { ...defaultRawConfig(), ...normalizeRawConfig(seed.config) };
    const settings = parseCaConfig(raw);
    const clusterId = rng.uuid();
    const root = await this.#newRoot(settings, clusterId, true);
    const config = { ClusterID: clusterId, Provider: "consul", Config: raw, ForceWithoutCrossSigning: false };
    const { value } = await this.#propose({ Type: "connect-ca-set", Op: "bootstrap", Config: config, Roots: [root] });
    if (value === true) this.#d.logger.info("initialized primary datacenter CA with provider", { provider: "consul", trustDomain: trustDomainOf(clusterId) });
  }

  /** A root row for the settings: the operator's key and certificate, or a new key and self-signed root. */
  async #newRoot(settings: ConsulCaSettings, clusterId: string, bootstrap = false): Promise<CARootFields> {
    const trustDomain = trustDomainOf(clusterId);
    let keyPem = settings.privateKey;
    let certPem = settings.rootCert;
    // At bootstrap the cluster ID is chosen here, so an operator's root cannot name it yet.
    if (certPem !== "") validateOperatorRoot(certPem, keyPem, bootstrap ? undefined : trustDomain);
    else {
      keyPem = await generatePrivateKeyPem(settings.privateKeyType, settings.privateKeyBits);
      const key = await importSigningKey(keyPem);
      const { serial } = await this.#nextSerial();
      let uniqueId = "";
      for (let i = 0; i < 8; i++) uniqueId += ALPHANUM[Math.floor(this.#d.rng.float() * ALPHANUM.length)];
      certPem = await createRootCert({ key, trustDomain, clusterId, serial, nowMs: this.#d.clock.now(), ttlMs: settings.rootCertTtlMs, uniqueId });
    }
    const key = await importSigningKey(keyPem);
    const info = rootCertInfo(certPem);
    return {
      ID: info.id,
      Name: ROOT_NAME,
      SerialNumber: info.serial,
      SigningKeyID: info.signingKeyId,
      ExternalTrustDomain: clusterId,
      NotBefore: rfc3339(info.notBeforeMs),
      NotAfter: rfc3339(info.notAfterMs),
      RootCert: certPem,
      IntermediateCerts: null,
      SigningKey: keyPem,
      Active: true,
      RotatedOutAtMs: 0,
      PrivateKeyType: key.type,
      PrivateKeyBits: key.bits,
    };
  }

  // Parsed once per stored configuration row (every write stores a new row), not per leaf.
  readonly #settings = new WeakMap<CAConfiguration, ConsulCaSettings>();

  #current(): { config: CAConfiguration; settings: ConsulCaSettings } {
    if (!this.#d.enabled) throw new ConnectCaError(CONNECT_DISABLED);
    const config = this.#d.state.connectCa.config();
    if (!config) throw new ConnectCaError("internal error: CA provider is nil");
    let settings = this.#settings.get(config);
    if (!settings) {
      settings = parseCaConfig(config.Config);
      this.#settings.set(config, settings);
    }
    return { config, settings };
  }

  /**
   * PUT /v1/connect/ca/configuration on the leader: stores the new configuration and, when it
   * asks for another root key (type, size, or an operator key/certificate), rotates the root.
   */
  async setConfiguration(provider: string, rawConfig: Record<string, unknown>, forceWithoutCrossSigning: boolean): Promise<void> {
    const { config } = this.#current();
    if (provider !== "consul") throw new ConnectCaError(`unknown CA provider "${provider}"`);
    let raw: Record<string, unknown>;
    let settings: ConsulCaSettings;
    try {
      raw = { ...defaultRawConfig(), ...normalizeRawConfig(rawConfig) };
      settings = parseCaConfig(raw);
    } catch (err) {
      if (err instanceof CaConfigError) throw new ConnectCaError(`error parsing CA config: ${err.message}`);
      throw err;
    }
    const ca = this.#d.state.connectCa;
    const casIndex = ca.rootsIndex;
    const roots = ca.roots();
    const active = roots.find((r) => r.Active);
    if (!active) throw new ConnectCaError("internal error: no active CA root");
    const next = { ClusterID: config.ClusterID, Provider: "consul", Config: raw, ForceWithoutCrossSigning: forceWithoutCrossSigning };
    const keyChanged =
      settings.rootCert !== ""
        ? settings.rootCert.trim() !== active.RootCert.trim()
        : active.PrivateKeyType !== settings.privateKeyType || active.PrivateKeyBits !== settings.privateKeyBits;
    if (!keyChanged) {
      const { value } = await this.#propose({ Type: "connect-ca-set", Op: "cas", CasIndex: casIndex, Config: next });
      if (value !== true) throw new ConnectCaError("The CA configuration was changed concurrently; try again");
      return;
    }
    const fresh = await this.#newRoot(settings, config.ClusterID);
    if (!forceWithoutCrossSigning) {
      const oldKey = await importSigningKey(active.SigningKey);
      const { serial } = await this.#nextSerial();
      fresh.IntermediateCerts = [await crossSignRoot(fresh.RootCert, active.RootCert, oldKey, serial, this.#d.clock.now(), trustDomainOf(config.ClusterID))];
    }
    const now = this.#d.clock.now();
    const keepMs = 2 * settings.leafCertTtlMs;
    const kept: CARootFields[] = [];
    for (const r of roots) {
      if (r.ID === fresh.ID) continue;
      const rotatedOutAtMs = r.Active ? now : r.RotatedOutAtMs;
      // Rotated-out roots stay trusted until every leaf they signed has expired.
      if (!r.Active && rotatedOutAtMs + keepMs < now) continue;
      const { CreateIndex: _c, ModifyIndex: _m, ...fields } = r;
      kept.push({ ...fields, Active: false, RotatedOutAtMs: rotatedOutAtMs });
    }
    const { value } = await this.#propose({ Type: "connect-ca-set", Op: "cas", CasIndex: casIndex, Config: next, Roots: [...kept, fresh] });
    if (value !== true) throw new ConnectCaError("The CA configuration was changed concurrently; try again");
    this.#d.logger.info("CA root rotated", { oldRoot: active.ID, newRoot: fresh.ID });
  }

  #admit(settings: ConsulCaSettings): () => void {
    if (settings.csrMaxConcurrent > 0) {
      if (this.#inFlight >= settings.csrMaxConcurrent) throw new ConnectCaError("Rate limit reached, try again later", 429);
      this.#inFlight++;
      return () => this.#inFlight--;
    }
    if (settings.csrMaxPerSecond > 0) {
      const now = this.#d.clock.monotonicMs();
      const cap = Math.max(1, settings.csrMaxPerSecond);
      this.#tokens = Math.min(cap, this.#tokens + ((now - this.#tokensAtMs) / 1000) * settings.csrMaxPerSecond);
      if (this.#tokensAtMs === 0) this.#tokens = cap;
      this.#tokensAtMs = now;
      if (this.#tokens < 1) throw new ConnectCaError("Rate limit reached, try again later", 429);
      this.#tokens -= 1;
    }
    return () => {};
  }

  /**
   * Signs a CSR with the active root (the leader's job): a service's leaf (the caller needs
   * service:write), or a client agent's auto_encrypt certificate (node:write on its node name).
   */
  async sign(csrPem: string, authorize: (kind: "service" | "node", name: string) => void = () => {}, afterIndex = 0): Promise<SignedLeaf> {
    const { config, settings } = this.#current();
    const release = this.#admit(settings);
    try {
      let parsed;
      try {
        parsed = csrUri(csrPem);
      } catch (err) {
        if (err instanceof CsrError) throw new ConnectCaError(err.message, 400);
        throw err;
      }
      const trustDomain = trustDomainOf(config.ClusterID);
      const agent = parseAgentUri(parsed.uri);
      if (agent) return await this.#signAgent(parsed, agent.datacenter, agent.agent, trustDomain, settings, authorize, afterIndex);
      const id = parseServiceUri(parsed.uri);
      if (!id) throw new ConnectCaError("SPIFFE ID in CSR must be a service, mesh-gateway, or agent ID", 400);
      if (id.trustDomain !== trustDomain) throw new ConnectCaError(`SPIFFE ID in CSR from a different trust domain: ${id.trustDomain}, we are ${trustDomain}`, 400);
      if (id.datacenter !== this.#d.datacenter) throw new ConnectCaError(`SPIFFE ID in CSR from a different datacenter: ${id.datacenter}, we are ${this.#d.datacenter}`, 400);
      if (id.namespace !== "default" || id.partition !== "default") throw new ConnectCaError("Namespaces and partitions are a Consul Enterprise feature", 400);
      authorize("service", id.service);
      const { serial, index } = await this.#nextSerial(afterIndex);
      // Read after taking the serial (which may have waited for a reservation): a rotation applied meanwhile is the root that signs.
      const active = this.#d.state.connectCa.activeRoot();
      if (!active) throw new ConnectCaError("internal error: no active CA root");
      const caKey = await importSigningKey(active.SigningKey);
      const leaf = signLeaf({ csr: parsed, commonName: id.service, caKey, caCertPem: active.RootCert, serial, nowMs: this.#d.clock.now(), ttlMs: settings.leafCertTtlMs });
      const chain = leaf.pem + (active.IntermediateCerts ?? []).map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
      return {
        SerialNumber: serialColonHex(serial),
        CertPEM: chain,
        Service: id.service,
        ServiceURI: serviceUri({ trustDomain, namespace: "default", datacenter: id.datacenter, service: id.service }),
        ValidAfter: rfc3339(leaf.notBeforeMs),
        ValidBefore: rfc3339(leaf.notAfterMs),
        Namespace: "default",
        RootID: active.ID,
        CreateIndex: index,
        ModifyIndex: index,
      };
    } finally {
      release();
    }
  }

  /**
   * An agent certificate: the CSR was made before the agent knew the trust domain (it asks
   * with a placeholder), so the URI is rewritten to ours, as Consul does. The CSR's DNS and IP
   * SANs (localhost, 127.0.0.1, auto_encrypt.dns_san/ip_san) are kept.
   */
  async #signAgent(
    parsed: ReturnType<typeof csrUri>,
    datacenter: string,
    node: string,
    trustDomain: string,
    settings: ConsulCaSettings,
    authorize: (kind: "service" | "node", name: string) => void,
    afterIndex: number,
  ): Promise<SignedLeaf> {
    authorize("node", node);
    const uri = agentUri({ trustDomain, datacenter, agent: node });
    const { serial, index } = await this.#nextSerial(afterIndex);
    const active = this.#d.state.connectCa.activeRoot();
    if (!active) throw new ConnectCaError("internal error: no active CA root");
    const caKey = await importSigningKey(active.SigningKey);
    const leaf = signLeaf({
      csr: parsed,
      uri,
      commonName: node,
      caKey,
      caCertPem: active.RootCert,
      serial,
      nowMs: this.#d.clock.now(),
      ttlMs: settings.leafCertTtlMs,
      dnsNames: parsed.dnsNames,
      ipAddresses: parsed.ipAddresses,
    });
    const chain = leaf.pem + (active.IntermediateCerts ?? []).map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
    return {
      SerialNumber: serialColonHex(serial),
      CertPEM: chain,
      Service: "",
      ServiceURI: "",
      Agent: node,
      AgentURI: uri,
      ValidAfter: rfc3339(leaf.notBeforeMs),
      ValidBefore: rfc3339(leaf.notAfterMs),
      Namespace: "",
      RootID: active.ID,
      CreateIndex: index,
      ModifyIndex: index,
    };
  }
}

/** An operator-supplied root must be a CA for this trust domain whose key is the given private key. */
function validateOperatorRoot(certPem: string, keyPem: string, trustDomain: string | undefined): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new ConnectCaError(`error parsing root cert: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!cert.ca) throw new ConnectCaError("root certificate is not a CA certificate");
  const uris = (cert.subjectAltName ?? "").split(", ").filter((s) => s.startsWith("URI:")).map((s) => s.slice(4));
  if (trustDomain !== undefined && !uris.includes(signingUri(trustDomain))) throw new ConnectCaError(`root certificate URI SAN must be ${signingUri(trustDomain)}`);
  let same = false;
  try {
    same = keyIdOf(createPublicKey(keyPem)).equals(keyIdOf(cert.publicKey));
  } catch (err) {
    throw new ConnectCaError(`error parsing private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!same) throw new ConnectCaError("private key does not match the root certificate");
}
