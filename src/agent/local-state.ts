import type { CheckDefinition } from "../checks/definition.ts";
import type { CheckStatusSink } from "../checks/runner.ts";
import type { CheckFields, ServiceFields } from "../fsm/command.ts";
import type { CheckStatus } from "../model/catalog.ts";
import { WatchHub } from "../state/watch.ts";

// The agent's own services and checks (Consul's local.State): the source of truth for the
// /v1/agent endpoints and what anti-entropy copies into the catalog. Every entry carries its
// sync bookkeeping: `inSync` (the catalog holds exactly this), `deleted` (removed here, still to
// be removed from the catalog) and a `revision` that moves on every change, so a sync that
// finishes after a newer change does not mark the newer value as synced.

/** Where a registration came from: the HTTP API, a config file, or the agent itself. */
export type RegistrationSource = "api" | "config" | "internal";

interface SyncBookkeeping {
  inSync: boolean;
  deleted: boolean;
  revision: number;
  token: string;
  source: RegistrationSource;
}

export interface ServiceEntry extends SyncBookkeeping {
  service: ServiceFields;
}

export interface CheckEntry extends SyncBookkeeping {
  check: CheckFields;
  /** undefined for checks that nothing runs (maintenance, catalog leftovers). */
  definition: CheckDefinition | undefined;
}

export interface RegistrationMeta {
  token: string;
  source: RegistrationSource;
}

const LOCAL_TOPIC = "local";
const serviceTopic = (id: string): string => `local/service/${id}`;

export class LocalState implements CheckStatusSink {
  readonly nodeName: string;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #checks = new Map<string, CheckEntry>();
  readonly #hub = new WatchHub();
  readonly #listeners = new Set<() => void>();
  #revision = 0;
  /** Whether the catalog's node row matches this agent's identity. */
  nodeInfoInSync = false;

  constructor(nodeName: string) {
    this.nodeName = nodeName;
  }

  /** Called after every change that the catalog must learn about (anti-entropy's trigger). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves `wake` once the service changes (or anything does, without an ID). */
  watch(serviceId: string | undefined, wake: () => void): () => void {
    return this.#hub.subscribe([serviceId === undefined ? LOCAL_TOPIC : serviceTopic(serviceId)], wake);
  }

  // ---- reads (deleted entries are invisible) ----

  service(id: string): ServiceFields | undefined {
    const e = this.#services.get(id);
    return e && !e.deleted ? e.service : undefined;
  }

  services(): ServiceFields[] {
    return [...this.#services.values()].filter((e) => !e.deleted).map((e) => e.service);
  }

  check(id: string): CheckFields | undefined {
    const e = this.#checks.get(id);
    return e && !e.deleted ? e.check : undefined;
  }

  /** The check's entry, deleted or not (the syncer's view). */
  anyCheckEntry(id: string): CheckEntry | undefined {
    return this.#checks.get(id);
  }

  checkEntry(id: string): CheckEntry | undefined {
    const e = this.#checks.get(id);
    return e && !e.deleted ? e : undefined;
  }

  checks(): CheckFields[] {
    return [...this.#checks.values()].filter((e) => !e.deleted).map((e) => e.check);
  }

  /** A service's checks, plus the node-level checks when `includeNodeChecks`. */
  checksForService(serviceId: string, includeNodeChecks: boolean): CheckFields[] {
    return this.checks().filter((c) => c.ServiceID === serviceId || (includeNodeChecks && c.ServiceID === ""));
  }

  /** Every entry, deleted ones included, for the syncer. */
  serviceEntries(): [string, ServiceEntry][] {
    return [...this.#services.entries()];
  }

  checkEntries(): [string, CheckEntry][] {
    return [...this.#checks.entries()];
  }

  /** One entry, deleted or not (a removal still syncs, with the registration's token). */
  serviceEntryForSync(id: string): ServiceEntry | undefined {
    return this.#services.get(id);
  }

  checkEntryForSync(id: string): CheckEntry | undefined {
    return this.#checks.get(id);
  }

  // ---- writes ----

  setService(service: ServiceFields, meta: RegistrationMeta): void {
    this.#services.set(service.ID, { service, inSync: false, deleted: false, revision: ++this.#revision, ...meta });
    this.#refreshCheckServiceFields(service);
    this.#changed(service.ID);
  }

  /**
   * A service with its checks, and the removal of `droppedCheckIds`, in one step: Consul
   * registers a service and its checks under one lock, so a reader sees all of them or none.
   * The rows come built (Node, ServiceName and ServiceTags set) by the caller, which builds
   * them aside in slices; this step only files them, a few map writes per check, and wakes
   * watchers and the syncer once instead of once per check.
   */
  putServiceWithChecks(service: ServiceFields, checks: readonly { row: CheckFields; definition: CheckDefinition }[], droppedCheckIds: readonly string[], meta: RegistrationMeta): void {
    this.#services.set(service.ID, { service, inSync: false, deleted: false, revision: ++this.#revision, ...meta });
    this.#refreshCheckServiceFields(service);
    const { token, source } = meta;
    // Fields spelled out (no spread): this loop is the part of the registration that cannot pause.
    for (const { row, definition } of checks) {
      this.#checks.set(row.CheckID, { check: row, definition, inSync: false, deleted: false, revision: ++this.#revision, token, source });
    }
    for (const id of droppedCheckIds) {
      const e = this.#checks.get(id);
      if (e && !e.deleted) Object.assign(e, { deleted: true, inSync: false, revision: ++this.#revision });
    }
    this.#changed(service.ID);
  }

  /** Marks a service and its checks deleted; false when no such (live) service. */
  removeService(id: string): boolean {
    const e = this.#services.get(id);
    if (!e || e.deleted) return false;
    Object.assign(e, { deleted: true, inSync: false, revision: ++this.#revision });
    for (const c of this.#checks.values()) {
      if (c.check.ServiceID === id && !c.deleted) Object.assign(c, { deleted: true, inSync: false, revision: ++this.#revision });
    }
    this.#changed(id);
    return true;
  }

  setCheck(check: CheckFields, definition: CheckDefinition | undefined, meta: RegistrationMeta): void {
    const svc = check.ServiceID ? this.service(check.ServiceID) : undefined;
    const row: CheckFields = { ...check, Node: this.nodeName, ServiceName: svc?.Service ?? "", ServiceTags: svc ? [...svc.Tags] : [] };
    this.#checks.set(check.CheckID, { check: row, definition, inSync: false, deleted: false, revision: ++this.#revision, ...meta });
    this.#changed(check.ServiceID || undefined);
  }

  removeCheck(id: string): boolean {
    const e = this.#checks.get(id);
    if (!e || e.deleted) return false;
    Object.assign(e, { deleted: true, inSync: false, revision: ++this.#revision });
    this.#changed(e.check.ServiceID || undefined);
    return true;
  }

  /** CheckStatusSink: a runner's result; a no-op when nothing changed. */
  updateCheckStatus(checkId: string, status: CheckStatus, output: string): void {
    const e = this.#checks.get(checkId);
    if (!e || e.deleted) return;
    if (e.check.Status === status && e.check.Output === output) return;
    e.check = { ...e.check, Status: status, Output: output };
    Object.assign(e, { inSync: false, revision: ++this.#revision });
    this.#changed(e.check.ServiceID || undefined);
  }

  /**
   * Output-only change whose catalog write is deferred (check_update_interval): visible on the
   * agent endpoints at once, pushed by a later `markCheckOutOfSync` or full sync.
   */
  setCheckOutputDeferred(checkId: string, output: string): void {
    const e = this.#checks.get(checkId);
    if (!e || e.deleted || e.check.Output === output) return;
    e.check = { ...e.check, Output: output };
    const serviceId = e.check.ServiceID;
    if (serviceId) this.#hub.notify(serviceTopic(serviceId));
    this.#hub.notify(LOCAL_TOPIC);
  }

  /** The deferred output write is due: sync the check with the next changes sync. */
  markCheckOutOfSync(checkId: string): void {
    const e = this.#checks.get(checkId);
    if (!e || e.deleted || !e.inSync) return;
    Object.assign(e, { inSync: false, revision: ++this.#revision });
    for (const l of this.#listeners) l();
  }

  // ---- sync bookkeeping (anti-entropy only) ----

  /** The catalog holds a service we do not have: remember it as deleted so the sync removes it. */
  adoptRemoteService(service: ServiceFields): void {
    if (this.#services.has(service.ID)) return;
    this.#services.set(service.ID, { service, inSync: false, deleted: true, revision: ++this.#revision, token: "", source: "internal" });
  }

  adoptRemoteCheck(check: CheckFields): void {
    if (this.#checks.has(check.CheckID)) return;
    this.#checks.set(check.CheckID, { check, definition: undefined, inSync: false, deleted: true, revision: ++this.#revision, token: "", source: "internal" });
  }

  setServiceInSync(id: string, inSync: boolean, revision?: number): void {
    const e = this.#services.get(id);
    if (e && (revision === undefined || e.revision === revision)) e.inSync = inSync;
  }

  setCheckInSync(id: string, inSync: boolean, revision?: number): void {
    const e = this.#checks.get(id);
    if (e && (revision === undefined || e.revision === revision)) e.inSync = inSync;
  }

  /** Forgets a deleted service (and its deleted checks) once the catalog no longer has it. */
  pruneService(id: string, revision: number): void {
    const e = this.#services.get(id);
    if (!e || !e.deleted || e.revision !== revision) return;
    this.#services.delete(id);
    // Deregistering a service removes its checks from the catalog too.
    for (const [cid, c] of this.#checks) if (c.deleted && c.check.ServiceID === id) this.#checks.delete(cid);
  }

  pruneCheck(id: string, revision: number): void {
    const e = this.#checks.get(id);
    if (e && e.deleted && e.revision === revision) this.#checks.delete(id);
  }

  /** Enable-tag-override: the catalog's tags win over ours. */
  adoptRemoteTags(id: string, tags: string[]): void {
    const e = this.#services.get(id);
    if (!e || e.deleted || sameStrings(e.service.Tags, tags)) return;
    e.service = { ...e.service, Tags: [...tags] };
    this.#refreshCheckServiceFields(e.service);
    this.#hub.notify(serviceTopic(id));
    this.#hub.notify(LOCAL_TOPIC);
  }

  #refreshCheckServiceFields(service: ServiceFields): void {
    for (const c of this.#checks.values()) {
      if (c.deleted || c.check.ServiceID !== service.ID) continue;
      if (c.check.ServiceName === service.Service && sameStrings(c.check.ServiceTags, service.Tags)) continue;
      c.check = { ...c.check, ServiceName: service.Service, ServiceTags: [...service.Tags] };
      Object.assign(c, { inSync: false, revision: ++this.#revision });
    }
  }

  #changed(serviceId: string | undefined): void {
    if (serviceId !== undefined) this.#hub.notify(serviceTopic(serviceId));
    this.#hub.notify(LOCAL_TOPIC);
    for (const l of this.#listeners) l();
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
