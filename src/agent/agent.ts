import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { registrationSyncToken, type SyncTokenSource } from "./sync-token.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "../server/consensus.ts";
import type { StateStore } from "../state/store.ts";
import { NODE_MAINTENANCE_CHECK_ID, type CheckStatus } from "../model/catalog.ts";
import { consulServiceRow, serfHealthCheck } from "../model/member-rows.ts";
import type { CatalogRegisterCommand, CheckFields, NodeFields, ServiceFields } from "../fsm/command.ts";
import { errors } from "../errors/catalog.ts";
import { formatGoDuration } from "../model/duration.ts";
import { isObject } from "../decode/json-body.ts";
import { checkKind, checkTypeJson, definitionView, initialStatus, runsScripts, type CheckDefinition } from "../checks/definition.ts";
import { CheckRunnerRegistry, isExternallyUpdated, type CheckStatusSink, type RunningCheck } from "../checks/runner.ts";
import { ttlRunner } from "../checks/ttl.ts";
import { httpRunner } from "../checks/http.ts";
import { tcpRunner } from "../checks/tcp.ts";
import { udpRunner } from "../checks/udp.ts";
import { scriptRunner } from "../checks/script.ts";
import { grpcRunner } from "../checks/grpc.ts";
import { h2pingRunner } from "../checks/h2ping.ts";
import { aliasRunner, type AliasTargets } from "../checks/alias.ts";
import { CheckScheduler } from "../checks/scheduler.ts";
import { TimerWheel } from "../runtime/timer-wheel.ts";
import { DEFAULT_SLICE_MS, forEachInSteps, runSliced, type SlicedWork } from "../runtime/sliced-work.ts";
import { WatchSet } from "../state/watch.ts";
import type { PersistedCheck, PersistedService, RegistrationStore } from "../storage/agent-registrations.ts";
import { restoredServiceRow } from "./restored-registration.ts";
import { AntiEntropy, DEFAULT_ANTI_ENTROPY_SETTINGS, type AntiEntropySettings } from "./anti-entropy.ts";
import { CatalogSync } from "./catalog-sync.ts";
import { isAclRefusal, unauthenticatedCatalogWrites, type CatalogWrites } from "./catalog-writes.ts";
import { decodeCheckDefinition } from "./check-definition.ts";
import { LocalState, type RegistrationMeta, type RegistrationSource } from "./local-state.ts";
import { nodeMaintenanceCheck, serviceMaintenanceCheck, serviceMaintenanceCheckId } from "./maintenance.ts";
import {
  decodeServiceDefinition,
  sidecarDefinition,
  sidecarIdFor,
  toServiceFields,
  validateCheckRegistration,
  validateServiceDefinition,
  type ServiceDefinition,
} from "./service-definition.ts";
import { assignSidecarPort, DEFAULT_SIDECAR_PORT_RANGE, sidecarDefaultChecks, type SidecarPortRange } from "./sidecar-service.ts";

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
  /**
   * `check_update_interval`: a result that changes only the output is written to the catalog
   * after half this plus up to this at random; status changes are written at once.
   */
  checkUpdateIntervalMs: number;
  /** `discard_check_output`: results keep no output. */
  discardCheckOutput: boolean;
}

export const DEFAULT_AGENT_CHECK_SETTINGS: AgentCheckSettings = {
  enableScriptChecks: false,
  enableLocalScriptChecks: false,
  checkOutputMaxSize: 4096,
  checkUpdateIntervalMs: 5 * 60_000,
  discardCheckOutput: false,
};

/** DeregisterCriticalServiceAfter reaping (Consul's CheckReapInterval / CheckDeregisterIntervalMin). */
export interface ReaperSettings {
  intervalMs: number;
  minimumMs: number;
}

export const DEFAULT_REAPER_SETTINGS: ReaperSettings = { intervalMs: 30_000, minimumMs: 60_000 };

export interface AgentDeps {
  identity: AgentIdentity;
  consensus: Consensus;
  state: StateStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  checkSettings?: Partial<AgentCheckSettings>;
  antiEntropy?: Partial<AntiEntropySettings>;
  /** Where API registrations persist (`-data-dir`); none = they live as long as the process. */
  registrations?: RegistrationStore;
  /** The check scheduler's wheel; the agent makes (and stops) its own when not given. */
  wheel?: TimerWheel;
  reaper?: Partial<ReaperSettings>;
  /** `ports.sidecar_min_port`..`sidecar_max_port`, where sidecars without a port get one. */
  sidecarPorts?: SidecarPortRange;
  /** How this agent's own catalog writes are made and with which tokens (default: proposed as is, ACLs off). */
  catalogWrites?: CatalogWrites;
  /** Budget of one slice of a registration's check work (runtime/sliced-work.ts); tests pass 0 to pause at every step. */
  registrationSliceMs?: number;
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

/**
 * A registration's checks are built, and their runners started, this many per step: ~5,000
 * checks fit in a body at the 512 KiB cap, ~110 ms in one turn (issue 12 item 6).
 */
export const REGISTRATION_CHECKS_PER_STEP = 64;

/** Check runners stopped per step of Agent.stop. */
export const STOP_RUNNERS_PER_STEP = 256;

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
  readonly checkRunners: CheckRunnerRegistry;
  /** Runs every interval-driven check of this agent. */
  readonly scheduler: CheckScheduler;
  readonly #running = new Map<string, RunningCheck>();
  /**
   * Checks registered and visible whose runner has not started yet (started in slices after
   * the registration's commit), by ID: a TTL update for one starts it at once.
   */
  readonly #pendingRunners = new Map<string, CheckDefinition>();
  readonly #registrationSliceMs: number;
  readonly #wheel: TimerWheel;
  readonly #ownsWheel: boolean;
  readonly #registrations: RegistrationStore | undefined;
  readonly #reaper: ReaperSettings;
  #reapTimer: TimerHandle | undefined;
  /** When each currently critical check turned critical (DeregisterCriticalServiceAfter). */
  readonly #criticalSinceMs = new Map<string, number>();
  /** Checks that have reported at least once: their first result is logged like a change. */
  readonly #reportedChecks = new Set<string>();
  /** Output-only results waiting for their catalog write (check_update_interval). */
  readonly #deferredOutput = new Map<string, TimerHandle>();
  /** Every runner reports here; results reach local state (and then the catalog) from it. */
  readonly #resultSink: CheckStatusSink = { updateCheckStatus: (id, status, output) => this.#recordResult(id, status, output) };
  /** IDs registered from config files, so a reload can drop the ones no longer there. */
  readonly #configServiceIds = new Set<string>();
  readonly #configCheckIds = new Set<string>();
  /** Services registered as another's `Connect.SidecarService` (Consul's LocallyRegisteredAsSidecar). */
  readonly #sidecarIds = new Set<string>();
  /** Mutable so a reload can change it. */
  sidecarPorts: SidecarPortRange;
  /** With ACLs on, the agent's tokens (set by the wiring): what registration syncs fall back to. */
  syncTokens: SyncTokenSource | undefined;
  #changeQueued = false;
  readonly #catalogWrites: CatalogWrites;

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
    this.#registrations = deps.registrations;
    this.#reaper = { ...DEFAULT_REAPER_SETTINGS, ...deps.reaper };
    this.#registrationSliceMs = deps.registrationSliceMs ?? DEFAULT_SLICE_MS;
    this.sidecarPorts = deps.sidecarPorts ?? DEFAULT_SIDECAR_PORT_RANGE;
    this.#ownsWheel = deps.wheel === undefined;
    this.#wheel = deps.wheel ?? new TimerWheel(deps.clock);
    this.scheduler = new CheckScheduler({ wheel: this.#wheel, rng: deps.rng, logger: this.logger });
    this.checkRunners = new CheckRunnerRegistry([
      ttlRunner,
      httpRunner,
      tcpRunner,
      udpRunner,
      scriptRunner,
      grpcRunner,
      h2pingRunner,
      aliasRunner(this.#aliasTargets()),
    ]);
    this.#catalogWrites = deps.catalogWrites ?? unauthenticatedCatalogWrites(deps.consensus);
    const sync = new CatalogSync({
      local: this.localState,
      writes: this.#catalogWrites,
      syncToken: (entry) => registrationSyncToken(entry, this.syncTokens),
      catalog: deps.state.catalog,
      logger: this.logger,
      nowMs: () => deps.clock.now(),
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
    this.#armReaper();
  }

  async stop(): Promise<void> {
    // In slices: 20,000 TTL runners took one ~130 ms turn to stop, while Raft and gossip still
    // ran on the loop. A runner not stopped yet may still report meanwhile, as before stop().
    const running = [...this.#running.values()];
    this.#running.clear();
    this.#pendingRunners.clear();
    await runSliced(forEachInSteps(running, STOP_RUNNERS_PER_STEP, (r) => r.stop()), this.#registrationSliceMs);
    this.scheduler.stopAll();
    this.#reapTimer?.cancel();
    this.#reapTimer = undefined;
    for (const t of this.#deferredOutput.values()) t.cancel();
    this.#deferredOutput.clear();
    if (this.#ownsWheel) this.#wheel.stop();
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

  /**
   * Adds or replaces a service and its checks (Consul's addServiceInternal), and the sidecar its
   * `Connect.SidecarService` stands for: registered after the service, with a port from the
   * sidecar range and the two default checks unless the registration gives them.
   */
  async addService(def: ServiceDefinition, options: AddServiceOptions, token = def.token): Promise<void> {
    const sidecar = sidecarDefinition(def);
    this.#refuseDisabledScripts([...def.checks, ...(sidecar?.checks ?? [])], options.source);
    await this.#addServiceLocally(def, options, token);
    if (sidecar) {
      const port = sidecar.port > 0 ? sidecar.port : assignSidecarPort(sidecar.id, this.localState.services(), this.sidecarPorts);
      const localAddress = typeof sidecar.proxy?.LocalServiceAddress === "string" ? sidecar.proxy.LocalServiceAddress : "";
      const checks = sidecar.checks.length > 0 ? sidecar.checks : sidecarDefaultChecks(sidecar.id, sidecar.address, localAddress, port);
      this.#sidecarIds.add(sidecar.id);
      await this.#addServiceLocally({ ...sidecar, port, checks }, options, def.sidecar?.token || token);
    }
    await this.syncChanges();
  }

  /**
   * Consul registers a service and its checks under one lock. Here the check rows are built
   * aside in slices (nothing visible changes), then filed with the service in one step
   * (LocalState.putServiceWithChecks), then their runners start in slices.
   */
  async #addServiceLocally(def: ServiceDefinition, options: AddServiceOptions, token: string): Promise<void> {
    const service = toServiceFields(def);
    const meta: RegistrationMeta = { token, source: options.source };
    const checks = await runSliced(this.#serviceCheckRows(def, service), this.#registrationSliceMs);

    // The commit: everything below up to the runner start runs in one turn.
    const kept = new Set<string>();
    for (const c of checks) {
      // Status and output are the current ones, read now: a check re-registered keeps them.
      const prev = this.localState.check(c.row.CheckID);
      c.row.Status = prev?.Status ?? initialStatus(c.definition);
      c.row.Output = prev?.Output ?? "";
      kept.add(c.row.CheckID);
    }
    const dropped: string[] = [];
    if (options.replaceExistingChecks) {
      for (const c of this.localState.checksForService(service.ID, false)) if (!kept.has(c.CheckID)) dropped.push(c.CheckID);
    }
    for (const id of dropped) this.#forgetCheck(id);
    for (const { row, definition } of checks) {
      this.#stopRunner(row.CheckID);
      this.#pendingRunners.set(row.CheckID, definition);
    }
    this.localState.putServiceWithChecks(service, checks, dropped, meta);

    await runSliced(this.#startPendingRunners(checks.map((c) => c.row.CheckID)), this.#registrationSliceMs);
    if (options.source === "api") {
      await this.#persist(async (store) => {
        await store.saveService(service.ID, this.#persistedService(service.ID));
        for (const { row } of checks) await store.saveCheck(row.CheckID, this.#persistedCheck(row.CheckID));
        for (const id of dropped) await store.removeCheck(id);
      });
    }
  }

  /** The rows a service registration's checks will have, built without changing anything visible. */
  *#serviceCheckRows(def: ServiceDefinition, service: ServiceFields): SlicedWork<{ row: CheckFields; definition: CheckDefinition }[]> {
    const many = def.checks.length > 1;
    const out: { row: CheckFields; definition: CheckDefinition }[] = [];
    for (let i = 0; i < def.checks.length; i++) {
      const d = def.checks[i]!;
      const checkId = d.id || (many ? `service:${service.ID}:${i + 1}` : `service:${service.ID}`);
      const row = this.#checkRow({ ...d, serviceId: service.ID }, checkId, d.name || `Service '${service.Service}' check`, false);
      // What LocalState.setCheck would add: the node and the service's name and tags.
      row.Node = this.localState.nodeName;
      row.ServiceName = service.Service;
      row.ServiceTags = [...service.Tags];
      out.push({ row, definition: { ...d, id: checkId, serviceId: service.ID } });
      if ((i + 1) % REGISTRATION_CHECKS_PER_STEP === 0) yield;
    }
    return out;
  }

  /** Starts the runners of checks just committed, a batch per step (those since forgotten or started are skipped). */
  *#startPendingRunners(checkIds: readonly string[]): SlicedWork<void> {
    for (let i = 0; i < checkIds.length; i++) {
      this.#startPendingRunner(checkIds[i]!);
      if ((i + 1) % REGISTRATION_CHECKS_PER_STEP === 0) yield;
    }
  }

  #startPendingRunner(checkId: string): void {
    const definition = this.#pendingRunners.get(checkId);
    if (definition === undefined) return;
    this.#pendingRunners.delete(checkId);
    const row = this.localState.check(checkId);
    if (!row) return;
    this.#trackCritical(checkId, row.Status);
    this.#startRunner(checkId, definition);
  }

  /** Removes a service and its checks, and the sidecar registered with it; false when there is no such service. */
  async removeService(serviceId: string): Promise<boolean> {
    if (!(await this.#removeServiceLocally(serviceId))) return false;
    const sidecarId = sidecarIdFor(serviceId);
    if (this.#sidecarIds.has(sidecarId)) await this.#removeServiceLocally(sidecarId);
    await this.syncChanges();
    return true;
  }

  async #removeServiceLocally(serviceId: string): Promise<boolean> {
    const checkIds = this.localState.checksForService(serviceId, false).map((c) => c.CheckID);
    for (const id of checkIds) this.#forgetCheck(id);
    if (!this.localState.removeService(serviceId)) return false;
    this.#configServiceIds.delete(serviceId);
    this.#sidecarIds.delete(serviceId);
    await this.#persist(async (store) => {
      await store.removeService(serviceId);
      for (const id of checkIds) await store.removeCheck(id);
    });
    return true;
  }

  // ---- checks ----

  /** Adds or replaces a node or service check (Consul's addCheckLocked). */
  async addCheck(def: CheckDefinition, source: Exclude<RegistrationSource, "internal">, token = def.token): Promise<void> {
    if (def.serviceId && !this.localState.service(def.serviceId)) throw errors.notFound(`ServiceID "${def.serviceId}" does not exist`);
    this.#refuseDisabledScripts([def], source);
    const checkId = def.id || def.name;
    this.#putCheck(this.#checkRow(def, checkId, def.name, true), { ...def, id: checkId }, { token, source });
    if (source === "api") await this.#persist((store) => store.saveCheck(checkId, this.#persistedCheck(checkId)));
    await this.syncChanges();
  }

  async removeCheck(checkId: string): Promise<boolean> {
    this.#forgetCheck(checkId);
    if (!this.localState.removeCheck(checkId)) return false;
    this.#configCheckIds.delete(checkId);
    await this.#persist((store) => store.removeCheck(checkId));
    await this.syncChanges();
    return true;
  }

  /**
   * Brings back the services and checks registered through the API before a restart (call
   * after the config definitions are loaded: a config registration with the same ID wins and
   * the persisted file is dropped, as Consul does). Restored checks start critical.
   */
  async restoreRegistrations(): Promise<void> {
    const store = this.#registrations;
    if (!store) return;
    const services = await store.loadServices();
    const checks = await store.loadChecks();
    for (const s of [...services.skipped, ...checks.skipped]) this.logger.warn("Ignoring unreadable registration file", { file: s.file, error: s.reason });
    let restoredServices = 0;
    let restoredChecks = 0;
    for (const p of services.records) {
      const row = restoredServiceRow(p.Service);
      if (row === undefined) continue;
      if (this.localState.service(row.ID)) {
        this.logger.debug("service exists, not restoring from file", { service: row.ID });
        await this.#persist((st) => st.removeService(row.ID));
        continue;
      }
      this.localState.setService(row, { token: p.Token, source: p.Source === "local" ? "config" : "api" });
      restoredServices++;
    }
    for (const p of checks.records) {
      const restored = this.#restoredCheck(p);
      if (restored === "drop") {
        const id = typeof p.Check.CheckID === "string" ? p.Check.CheckID : "";
        if (id) await this.#persist((st) => st.removeCheck(id));
        continue;
      }
      this.#putCheck(restored.row, restored.definition, { token: p.Token, source: p.Source === "local" ? "config" : "api" });
      restoredChecks++;
    }
    if (restoredServices + restoredChecks > 0) this.logger.info("Restored registrations", { services: restoredServices, checks: restoredChecks });
    await this.syncChanges();
  }

  /**
   * TTL update (pass/warn/fail/update). Unknown check → 404; a check that is not a TTL check
   * → 500 with Consul's text.
   */
  async updateTtlCheck(checkId: string, status: CheckStatus, output: string): Promise<void> {
    if (!this.localState.check(checkId)) throw errors.unknownCheckId(checkId);
    this.#startPendingRunner(checkId);
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
  /** The token anti-entropy presents for this service's catalog write or removal (sync-token.ts); undefined: no such entry. */
  serviceSyncToken(serviceId: string): string | undefined {
    const entry = this.localState.serviceEntryForSync(serviceId);
    return entry && registrationSyncToken(entry, this.syncTokens);
  }

  /** The token anti-entropy presents for this check's catalog write or removal; undefined: no such entry. */
  checkSyncToken(checkId: string): string | undefined {
    const entry = this.localState.checkEntryForSync(checkId);
    return entry && registrationSyncToken(entry, this.syncTokens);
  }

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

    // A sidecar belongs to the definition that declares it: it leaves with it, or with its block.
    const serviceIds = new Set(serviceDefs.flatMap((d) => (d.sidecar ? [d.id || d.name, sidecarIdFor(d.id || d.name)] : [d.id || d.name])));
    for (const id of [...this.#configServiceIds]) {
      if (serviceIds.has(id)) continue;
      this.#configServiceIds.delete(id);
      this.#sidecarIds.delete(id);
      for (const c of this.localState.checksForService(id, false)) this.#forgetCheck(c.CheckID);
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
      await this.#asConfigErrorAsync(`service "${d.id || d.name}"`, () => this.addService(d, { replaceExistingChecks: true, source: "config" }));
      this.#configServiceIds.add(d.id || d.name);
      if (d.sidecar) this.#configServiceIds.add(sidecarIdFor(d.id || d.name));
    }
    for (const d of checkDefs) {
      await this.#asConfigErrorAsync(`check "${d.id || d.name}"`, () => this.addCheck(d, "config"));
      this.#configCheckIds.add(d.id || d.name);
    }
    await this.syncChanges();
  }

  /** Leave: every local service and check is removed, locally and from the catalog. */
  async deregisterAll(): Promise<void> {
    for (const id of [...this.#running.keys()]) this.#forgetCheck(id);
    for (const s of this.localState.services()) this.localState.removeService(s.ID);
    for (const c of this.localState.checks()) this.localState.removeCheck(c.CheckID);
    this.#configServiceIds.clear();
    this.#configCheckIds.clear();
    this.#sidecarIds.clear();
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
    this.#pendingRunners.delete(row.CheckID);
    this.#stopRunner(row.CheckID);
    this.localState.setCheck(row, definition, meta);
    this.#trackCritical(row.CheckID, row.Status);
    this.#startRunner(row.CheckID, definition);
  }

  #startRunner(checkId: string, definition: CheckDefinition): void {
    const kind = checkKind(definition);
    const runner = kind ? this.checkRunners.get(kind) : undefined;
    if (!runner) return; // registered, not executed: docker and os_service checks have no runner
    const agentMax = this.checkSettings.checkOutputMaxSize;
    const outputMaxSize = definition.outputMaxSize > 0 && definition.outputMaxSize < agentMax ? definition.outputMaxSize : agentMax;
    const ctx = { clock: this.clock, logger: this.logger, sink: this.#resultSink, outputMaxSize, scheduler: this.scheduler };
    this.#running.set(checkId, runner.start(checkId, definition, ctx));
  }

  #dropCheck(checkId: string): void {
    this.#forgetCheck(checkId);
    this.localState.removeCheck(checkId);
  }

  /** Stops a check's runner and drops the agent's bookkeeping about it. */
  #forgetCheck(checkId: string): void {
    this.#pendingRunners.delete(checkId);
    this.#stopRunner(checkId);
    this.#criticalSinceMs.delete(checkId);
    this.#reportedChecks.delete(checkId);
    this.#deferredOutput.get(checkId)?.cancel();
    this.#deferredOutput.delete(checkId);
  }

  /**
   * A runner's result (Consul's local.State.UpdateCheck): nothing happens when neither status
   * nor output changed; an output-only change is written to the catalog after
   * check_update_interval; a status change at once.
   */
  #recordResult(checkId: string, status: CheckStatus, output: string): void {
    const current = this.localState.check(checkId);
    if (!current) return;
    const kept = this.checkSettings.discardCheckOutput ? "" : output;
    this.#trackCritical(checkId, status);
    if (current.Status !== status || !this.#reportedChecks.has(checkId)) this.#logStatusChange(current, status, output);
    this.#reportedChecks.add(checkId);
    if (current.Status === status && current.Output === kept) return;
    const deferMs = this.checkSettings.checkUpdateIntervalMs;
    if (deferMs > 0 && current.Status === status) {
      this.localState.setCheckOutputDeferred(checkId, kept);
      if (!this.#deferredOutput.has(checkId)) {
        const delay = deferMs / 2 + Math.floor(this.rng.float() * deferMs);
        this.#deferredOutput.set(
          checkId,
          this.clock.setTimer(delay, () => {
            this.#deferredOutput.delete(checkId);
            this.localState.markCheckOutOfSync(checkId);
          }),
        );
      }
      return;
    }
    this.#deferredOutput.get(checkId)?.cancel();
    this.#deferredOutput.delete(checkId);
    this.localState.updateCheckStatus(checkId, status, kept);
  }

  /**
   * Consul's StatusHandler wording: a check turning critical or warning is a WARN line with its
   * ID (and here its output, which says why); a recovery is Consul's DEBUG "Check status updated".
   * A TTL check's expiry has its own line (checks/ttl.ts), as in Consul.
   */
  #logStatusChange(current: { CheckID: string; Type: string }, status: CheckStatus, output: string): void {
    const check = current.CheckID;
    if (status === "critical") {
      if (current.Type === "ttl" && output.startsWith("TTL expired")) return;
      this.logger.warn("Check is now critical", { check, output });
    } else if (status === "warning") this.logger.warn("Check is now warning", { check, output });
    else this.logger.debug("Check status updated", { check, status });
  }

  #trackCritical(checkId: string, status: CheckStatus): void {
    if (status !== "critical") this.#criticalSinceMs.delete(checkId);
    else if (!this.#criticalSinceMs.has(checkId)) this.#criticalSinceMs.set(checkId, this.clock.now());
  }

  #armReaper(): void {
    this.#reapTimer = this.clock.setTimer(this.#reaper.intervalMs, () => {
      this.reapCriticalServices().catch((err: unknown) => this.logger.error("service reaper failed", { error: String(err) }));
      this.#armReaper();
    });
  }

  /**
   * One reaper pass (Consul's reapServicesInternal): a service whose check has been critical
   * for longer than its DeregisterCriticalServiceAfter (at least the minimum) is deregistered.
   */
  async reapCriticalServices(): Promise<string[]> {
    const now = this.clock.now();
    const reaped: string[] = [];
    for (const [checkId, since] of [...this.#criticalSinceMs]) {
      const entry = this.localState.checkEntry(checkId);
      const serviceId = entry?.check.ServiceID ?? "";
      const after = entry?.definition?.deregisterCriticalServiceAfterMs ?? 0;
      if (!entry || serviceId === "" || after <= 0 || reaped.includes(serviceId)) continue;
      const timeout = Math.max(after, this.#reaper.minimumMs);
      if (now - since <= timeout) continue;
      reaped.push(serviceId);
      if (await this.removeService(serviceId)) {
        this.logger.info("Check for service has been critical for too long; deregistered service", { service: serviceId, check: checkId });
      }
    }
    return reaped;
  }

  async #persist(write: (store: RegistrationStore) => Promise<void>): Promise<void> {
    if (!this.#registrations) return;
    try {
      await write(this.#registrations);
    } catch (err) {
      this.logger.error("failed to persist registration", { error: err instanceof Error ? err.message : String(err) });
    }
  }

  #persistedService(serviceId: string): PersistedService {
    const entry = this.localState.serviceEntryForSync(serviceId);
    return {
      Token: entry?.token ?? "",
      Service: { ...(entry?.service ?? { ID: serviceId }) },
      Source: entry?.source === "config" ? "local" : "remote",
    };
  }

  #persistedCheck(checkId: string): PersistedCheck {
    const entry = this.localState.checkEntry(checkId);
    return {
      Check: { ...(entry?.check ?? { CheckID: checkId }) },
      ChkType: entry?.definition ? checkTypeJson(entry.definition) : null,
      Token: entry?.token ?? "",
      Source: entry?.source === "config" ? "local" : "remote",
    };
  }

  #restoredCheck(p: PersistedCheck): { row: CheckFields; definition: CheckDefinition } | "drop" {
    const c = p.Check;
    const checkId = typeof c.CheckID === "string" ? c.CheckID : "";
    const serviceId = typeof c.ServiceID === "string" ? c.ServiceID : "";
    if (checkId === "" || !p.ChkType) return "drop";
    if (this.localState.check(checkId)) return "drop"; // config wins
    if (serviceId !== "" && !this.localState.service(serviceId)) return "drop";
    let def: CheckDefinition;
    try {
      def = { ...decodeCheckDefinition(p.ChkType), id: checkId, serviceId };
    } catch (err) {
      this.logger.warn("Ignoring unreadable persisted check", { check: checkId, error: String(err) });
      return "drop";
    }
    const name = typeof c.Name === "string" && c.Name !== "" ? c.Name : def.name;
    const row = this.#checkRow(def, checkId, name, serviceId === "");
    // Restored checks start critical, so a service is not put back into rotation unproven.
    row.Status = "critical";
    row.Output = "";
    if (typeof c.Interval === "string") row.Interval = c.Interval;
    if (typeof c.Timeout === "string") row.Timeout = c.Timeout;
    return { row, definition: def };
  }

  /** Alias checks read their target from local state (no AliasNode) or the catalog. */
  #aliasTargets(): AliasTargets {
    return {
      observe: (node, serviceId, wake) => {
        if (node === "") {
          const view = { checks: this.localState.checks(), serviceExists: this.localState.service(serviceId) !== undefined };
          return { view, cancel: this.localState.watch(undefined, wake) };
        }
        const ws = new WatchSet();
        const checks = this.state.catalog.nodeChecks(node, ws);
        const serviceExists = this.state.catalog.nodeServices(node, ws).some((s) => s.ID === serviceId);
        return { view: { checks, serviceExists }, cancel: this.state.hub.subscribe(ws.topics, wake) };
      },
    };
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
      Service: id.server ? consulServiceRow(id.serverPort, { raft: "3", consul: id.version }) : undefined,
      Checks: [serfHealthCheck(id.nodeName, true)],
    };
    cmd.NowMs = this.clock.now();
    let result;
    const token = this.#catalogWrites.agentToken();
    try {
      ({ result } = await this.#catalogWrites.write(cmd, token));
    } catch (err) {
      // As Consul: the agent carries on; a full sync tries again (with whatever token it has then).
      if (!isAclRefusal(err)) throw err;
      this.logger.warn("Node info update blocked by ACLs", { node: id.nodeName, accessorID: await this.#catalogWrites.accessorOf(token) });
      return;
    }
    if (!result.ok) throw new Error(`agent: failed to register node: ${result.error}`);
  }
}
