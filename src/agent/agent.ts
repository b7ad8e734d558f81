import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "../server/consensus.ts";
import type { StateStore } from "../state/store.ts";
import { NODE_MAINTENANCE_CHECK_ID, SERF_HEALTH_CHECK_ID, type CheckStatus } from "../model/catalog.ts";
import type { CatalogRegisterCommand, CheckFields, NodeFields, ServiceFields } from "../fsm/command.ts";
import { errors } from "../errors/catalog.ts";
import { formatGoDuration } from "../model/duration.ts";
import { isObject } from "../http/body.ts";
import { checkKind, definitionView, initialStatus, runsScripts, type CheckDefinition } from "../checks/definition.ts";
import { CheckRunnerRegistry, isExternallyUpdated, type RunningCheck } from "../checks/runner.ts";
import { ttlRunner } from "../checks/ttl.ts";
import { AntiEntropy, DEFAULT_ANTI_ENTROPY_SETTINGS, type AntiEntropySettings } from "./anti-entropy.ts";
import { CatalogSync } from "./catalog-sync.ts";
import { decodeCheckDefinition } from "./check-definition.ts";
import { LocalState, type RegistrationMeta, type RegistrationSource } from "./local-state.ts";
import { nodeMaintenanceCheck, serviceMaintenanceCheck, serviceMaintenanceCheckId } from "./maintenance.ts";
import {
  decodeServiceDefinition,
  toServiceFields,
  validateCheckRegistration,
  validateServiceDefinition,
  type ServiceDefinition,
} from "./service-definition.ts";

/** What the agent role needs to know about itself. */
export interface AgentIdentity {
  nodeName: string;
  nodeId: string;
  datacenter: string;
  server: boolean;
  advertiseAddr: string;
  /** Server RPC port (8300), registered as the `consul` service port. */
  serverPort: number;
  serfLanPort: number;
  nodeMeta: Record<string, string>;
  version: string;
}

/** Agent settings about local checks (agent-config: enable_*_script_checks, check_output_max_size). */
export interface AgentCheckSettings {
  /** `enable_script_checks`: script checks from the HTTP API (and config files). */
  enableScriptChecks: boolean;
  /** `enable_local_script_checks`: script checks from config files only. */
  enableLocalScriptChecks: boolean;
  /** `check_output_max_size` in bytes. */
  checkOutputMaxSize: number;
}

export const DEFAULT_AGENT_CHECK_SETTINGS: AgentCheckSettings = {
  enableScriptChecks: false,
  enableLocalScriptChecks: false,
  checkOutputMaxSize: 4096,
};

export interface AgentDeps {
  identity: AgentIdentity;
  consensus: Consensus;
  state: StateStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  checkSettings?: Partial<AgentCheckSettings>;
  antiEntropy?: Partial<AntiEntropySettings>;
}

export interface AgentLifecycle {
  leave(): Promise<void>;
  reload(): Promise<void>;
}

export interface AddServiceOptions {
  /** Remove this service's checks that the registration does not mention. */
  replaceExistingChecks: boolean;
  source: Exclude<RegistrationSource, "internal">;
}

const SCRIPTS_DISABLED_LOCAL =
  "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true";
const SCRIPTS_DISABLED_REMOTE = "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true";

/**
 * The agent role: this node's own registration, its local services and checks, and their sync
 * into the catalog. Writes go through `consensus` like every other write.
 *
 * Mutating methods change local state at once and resolve after anti-entropy tried to push the
 * change (a failed push is logged and retried; the local change stands), as Consul's handlers
 * call SyncChanges before answering.
 */
export class Agent {
  readonly identity: AgentIdentity;
  readonly consensus: Consensus;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly startedAtMs: number;
  /** Set by the wiring: what PUT /v1/agent/leave and /v1/agent/reload trigger. */
  lifecycle: AgentLifecycle = { leave: async () => {}, reload: async () => {} };
  /** Mutable so config loading/reload can set them after construction. */
  checkSettings: AgentCheckSettings;
  readonly localState: LocalState;
  readonly antiEntropy: AntiEntropy;
  readonly checkRunners = new CheckRunnerRegistry([ttlRunner]);
  readonly #running = new Map<string, RunningCheck>();
  /** IDs registered from config files, so a reload can drop the ones no longer there. */
  readonly #configServiceIds = new Set<string>();
  readonly #configCheckIds = new Set<string>();
  #changeQueued = false;

  constructor(deps: AgentDeps) {
    this.identity = deps.identity;
    this.consensus = deps.consensus;
    this.state = deps.state;
    this.clock = deps.clock;
    this.rng = deps.rng;
    this.logger = deps.logger.named("agent");
    this.startedAtMs = deps.clock.now();
    this.checkSettings = { ...DEFAULT_AGENT_CHECK_SETTINGS, ...deps.checkSettings };
    this.localState = new LocalState(deps.identity.nodeName);
    const sync = new CatalogSync({
      local: this.localState,
      consensus: deps.consensus,
      catalog: deps.state.catalog,
      logger: this.logger,
      nodeFields: () => this.#nodeFields(),
      registerNode: () => this.#registerNode(),
    });
    this.antiEntropy = new AntiEntropy(
      { target: sync, clock: deps.clock, rng: deps.rng, logger: this.logger },
      { ...DEFAULT_ANTI_ENTROPY_SETTINGS, ...deps.antiEntropy },
    );
    // Changes that come from check runners (TTL expiry) reach the catalog through this;
    // one microtask coalesces the several changes of one registration.
    this.localState.onChange(() => {
      if (this.#changeQueued) return;
      this.#changeQueued = true;
      queueMicrotask(() => {
        this.#changeQueued = false;
        this.antiEntropy.notifyChange();
      });
    });
  }

  /** Registers this node (and, on servers, the `consul` service) with a passing serfHealth. */
  async start(): Promise<void> {
    await this.#registerNode();
    this.localState.nodeInfoInSync = true;
    this.logger.info("Synced node info");
    this.antiEntropy.start();
  }

  async stop(): Promise<void> {
    for (const r of this.#running.values()) r.stop();
    this.#running.clear();
    await this.antiEntropy.stop();
  }

  // ---- reads ----

  localServices(): ServiceFields[] {
    return this.localState.services();
  }

  localChecks(): CheckFields[] {
    return this.localState.checks();
  }

  /** Waits for the local changes made so far to be pushed; false if that push failed. */
  syncChanges(): Promise<boolean> {
    return this.antiEntropy.syncChanges();
  }

  /** Runs a full anti-entropy sync now (catalog drift repair); false if it failed. */
  syncFull(): Promise<boolean> {
    return this.antiEntropy.syncFull();
  }

  // ---- services ----

  /** Adds or replaces a service and its checks (Consul's addServiceInternal). */
  async addService(def: ServiceDefinition, options: AddServiceOptions, token = def.token): Promise<void> {
    this.#refuseDisabledScripts(def.checks, options.source);
    const service = toServiceFields(def);
    const meta: RegistrationMeta = { token, source: options.source };
    const existing = new Set(this.localState.checksForService(service.ID, false).map((c) => c.CheckID));
    const many = def.checks.length > 1;
    const checks = def.checks.map((d, i) => {
      const checkId = d.id || (many ? `service:${service.ID}:${i + 1}` : `service:${service.ID}`);
      const row = this.#checkRow({ ...d, serviceId: service.ID }, checkId, d.name || `Service '${service.Service}' check`, false);
      return { row, definition: { ...d, id: checkId, serviceId: service.ID } };
    });

    this.localState.setService(service, meta);
    for (const { row, definition } of checks) this.#putCheck(row, definition, meta);
    if (options.replaceExistingChecks) {
      const kept = new Set(checks.map((c) => c.row.CheckID));
      for (const id of existing) if (!kept.has(id)) this.#dropCheck(id);
    }
    await this.syncChanges();
  }

  /** Removes a service and its checks; false when there is no such service. */
  async removeService(serviceId: string): Promise<boolean> {
    for (const c of this.localState.checksForService(serviceId, false)) this.#stopRunner(c.CheckID);
    if (!this.localState.removeService(serviceId)) return false;
    this.#configServiceIds.delete(serviceId);
    await this.syncChanges();
    return true;
  }

  // ---- checks ----

  /** Adds or replaces a node or service check (Consul's addCheckLocked). */
  async addCheck(def: CheckDefinition, source: Exclude<RegistrationSource, "internal">, token = def.token): Promise<void> {
    if (def.serviceId && !this.localState.service(def.serviceId)) throw errors.notFound(`ServiceID "${def.serviceId}" does not exist`);
    this.#refuseDisabledScripts([def], source);
    const checkId = def.id || def.name;
    this.#putCheck(this.#checkRow(def, checkId, def.name, true), { ...def, id: checkId }, { token, source });
    await this.syncChanges();
  }

  async removeCheck(checkId: string): Promise<boolean> {
    this.#stopRunner(checkId);
    if (!this.localState.removeCheck(checkId)) return false;
    this.#configCheckIds.delete(checkId);
    await this.syncChanges();
    return true;
  }

  /**
   * TTL update (pass/warn/fail/update). Unknown check → 404; a check that is not a TTL check
   * → 500 with Consul's text.
   */
  async updateTtlCheck(checkId: string, status: CheckStatus, output: string): Promise<void> {
    if (!this.localState.check(checkId)) throw errors.unknownCheckId(checkId);
    const running = this.#running.get(checkId);
    if (!isExternallyUpdated(running)) throw errors.internal(`CheckID "${checkId}" does not have associated TTL`);
    running.setStatus(status, output);
    await this.syncChanges();
  }

  // ---- maintenance (agent.md §10) ----

  /** False when the service does not exist; enabling twice is a no-op. */
  async enableServiceMaintenance(serviceId: string, reason: string): Promise<boolean> {
    if (!this.localState.service(serviceId)) return false;
    if (this.localState.check(serviceMaintenanceCheckId(serviceId))) return true;
    this.localState.setCheck(serviceMaintenanceCheck(this.identity.nodeName, serviceId, reason), undefined, { token: "", source: "internal" });
    this.logger.info("Service entered maintenance mode", { service: serviceId });
    await this.syncChanges();
    return true;
  }

  async disableServiceMaintenance(serviceId: string): Promise<boolean> {
    if (!this.localState.service(serviceId)) return false;
    if (this.localState.removeCheck(serviceMaintenanceCheckId(serviceId))) {
      this.logger.info("Service left maintenance mode", { service: serviceId });
      await this.syncChanges();
    }
    return true;
  }

  async enableNodeMaintenance(reason: string): Promise<void> {
    if (this.localState.check(NODE_MAINTENANCE_CHECK_ID)) return;
    this.localState.setCheck(nodeMaintenanceCheck(this.identity.nodeName, reason), undefined, { token: "", source: "internal" });
    this.logger.info("Node entered maintenance mode");
    await this.syncChanges();
  }

  async disableNodeMaintenance(): Promise<void> {
    if (!this.localState.removeCheck(NODE_MAINTENANCE_CHECK_ID)) return;
    this.logger.info("Node left maintenance mode");
    await this.syncChanges();
  }

  // ---- config files and leave ----

  /**
   * Registers the `service`/`services` and `check`/`checks` definitions of the config files
   * (snake_case or PascalCase keys). Called at start-up and again on reload: definitions that
   * left the config are removed; API registrations are untouched. Everything is validated
   * before anything changes; the first problem is thrown as an Error naming the definition.
   */
  async loadDefinitions(services: unknown[], checks: unknown[]): Promise<void> {
    const serviceDefs = services.map((raw, i) => {
      const where = `service definition ${i + 1}`;
      return this.#asConfigError(where, () => {
        if (!isObject(raw)) throw new Error("not an object");
        const d = decodeServiceDefinition(raw);
        validateServiceDefinition(d);
        this.#refuseDisabledScripts(d.checks, "config");
        return d;
      });
    });
    const checkDefs = checks.map((raw, i) =>
      this.#asConfigError(`check definition ${i + 1}`, () => {
        if (!isObject(raw)) throw new Error("not an object");
        const d = decodeCheckDefinition(raw);
        validateCheckRegistration(d);
        this.#refuseDisabledScripts([d], "config");
        return d;
      }),
    );

    const serviceIds = new Set(serviceDefs.map((d) => d.id || d.name));
    for (const id of [...this.#configServiceIds]) {
      if (serviceIds.has(id)) continue;
      this.#configServiceIds.delete(id);
      for (const c of this.localState.checksForService(id, false)) this.#stopRunner(c.CheckID);
      this.localState.removeService(id);
    }
    const checkIds = new Set(checkDefs.map((d) => d.id || d.name));
    for (const id of [...this.#configCheckIds]) {
      if (checkIds.has(id)) continue;
      this.#configCheckIds.delete(id);
      this.#dropCheck(id);
    }
    // Services first: top-level checks may name them by service_id.
    for (const d of serviceDefs) {
      await this.addService(d, { replaceExistingChecks: true, source: "config" });
      this.#configServiceIds.add(d.id || d.name);
    }
    for (const d of checkDefs) {
      await this.#asConfigErrorAsync(`check "${d.id || d.name}"`, () => this.addCheck(d, "config"));
      this.#configCheckIds.add(d.id || d.name);
    }
    await this.syncChanges();
  }

  /** Leave: every local service and check is removed, locally and from the catalog. */
  async deregisterAll(): Promise<void> {
    for (const r of this.#running.values()) r.stop();
    this.#running.clear();
    for (const s of this.localState.services()) this.localState.removeService(s.ID);
    for (const c of this.localState.checks()) this.localState.removeCheck(c.CheckID);
    this.#configServiceIds.clear();
    this.#configCheckIds.clear();
    await this.syncChanges();
  }

  // ---- internals ----

  #asConfigError<T>(where: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new Error(`Failed to register ${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  async #asConfigErrorAsync(where: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      throw new Error(`Failed to register ${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  #refuseDisabledScripts(defs: readonly CheckDefinition[], source: Exclude<RegistrationSource, "internal">): void {
    if (!defs.some(runsScripts)) return;
    const s = this.checkSettings;
    if (source === "config" && !(s.enableLocalScriptChecks || s.enableScriptChecks)) throw errors.internal(SCRIPTS_DISABLED_LOCAL);
    if (source === "api" && !s.enableScriptChecks) throw errors.internal(SCRIPTS_DISABLED_REMOTE);
  }

  /**
   * The health-check row for a definition. Top-level registrations print unset durations as
   * "0s", service-inline ones as "" (both as Consul does). A re-registered check keeps its
   * current status and output, so re-registration does not flap.
   */
  #checkRow(def: CheckDefinition, checkId: string, name: string, topLevel: boolean): CheckFields {
    const duration = (ms: number): string => (ms > 0 || topLevel ? formatGoDuration(ms) : "");
    const prev = this.localState.check(checkId);
    return {
      Node: this.identity.nodeName,
      CheckID: checkId,
      Name: name,
      Status: prev?.Status ?? initialStatus(def),
      Notes: def.notes,
      Output: prev?.Output ?? "",
      ServiceID: def.serviceId,
      ServiceName: "",
      ServiceTags: [],
      Type: checkKind(def) ?? "",
      Interval: duration(def.intervalMs),
      Timeout: duration(def.timeoutMs),
      ExposedPort: 0,
      Definition: definitionView(def),
    };
  }

  #putCheck(row: CheckFields, definition: CheckDefinition, meta: RegistrationMeta): void {
    this.#stopRunner(row.CheckID);
    this.localState.setCheck(row, definition, meta);
    const kind = checkKind(definition);
    const runner = kind ? this.checkRunners.get(kind) : undefined;
    if (!runner) return; // registered, not executed: this kind has no runner yet
    const agentMax = this.checkSettings.checkOutputMaxSize;
    const outputMaxSize = definition.outputMaxSize > 0 && definition.outputMaxSize < agentMax ? definition.outputMaxSize : agentMax;
    this.#running.set(row.CheckID, runner.start(row.CheckID, definition, { clock: this.clock, logger: this.logger, sink: this.localState, outputMaxSize }));
  }

  #dropCheck(checkId: string): void {
    this.#stopRunner(checkId);
    this.localState.removeCheck(checkId);
  }

  #stopRunner(checkId: string): void {
    this.#running.get(checkId)?.stop();
    this.#running.delete(checkId);
  }

  #nodeFields(): NodeFields {
    const id = this.identity;
    return {
      ID: id.nodeId,
      Node: id.nodeName,
      Address: id.advertiseAddr,
      Datacenter: id.datacenter,
      TaggedAddresses: { lan: id.advertiseAddr, lan_ipv4: id.advertiseAddr, wan: id.advertiseAddr, wan_ipv4: id.advertiseAddr },
      Meta: { "consul-network-segment": "", "consul-version": id.version, ...id.nodeMeta },
    };
  }

  /** Node, `consul` service (servers) and a passing serfHealth, as a joining member gets. */
  async #registerNode(): Promise<void> {
    const id = this.identity;
    const cmd: CatalogRegisterCommand = {
      Type: "catalog-register",
      Node: this.#nodeFields(),
      SkipNodeUpdate: false,
      Service: id.server
        ? {
            ID: "consul",
            Service: "consul",
            Tags: [],
            Address: "",
            Meta: { raft_version: "3", serf_protocol_current: "2", serf_protocol_max: "5", serf_protocol_min: "1", version: id.version },
            Port: id.serverPort,
            Weights: { Passing: 1, Warning: 1 },
            EnableTagOverride: false,
            Proxy: { MeshGateway: {}, Expose: {} },
            Connect: {},
            PeerName: "",
          }
        : undefined,
      Checks: [
        {
          Node: id.nodeName,
          CheckID: SERF_HEALTH_CHECK_ID,
          Name: "Serf Health Status",
          Status: "passing",
          Notes: "",
          Output: "Agent alive and reachable",
          ServiceID: "",
          ServiceName: "",
          ServiceTags: [],
          Type: "",
          Interval: "",
          Timeout: "",
          ExposedPort: 0,
          Definition: {},
        },
      ],
    };
    const { result } = await this.consensus.propose(cmd);
    if (!result.ok) throw new Error(`agent: failed to register node: ${result.error}`);
  }
}
