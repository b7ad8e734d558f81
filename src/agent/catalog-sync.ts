import type { CheckFields, Command, NodeFields, ServiceFields } from "../fsm/command.ts";
import { SERF_HEALTH_CHECK_ID, type HealthCheck, type Node, type NodeService } from "../model/catalog.ts";
import type { Logger } from "../runtime/logger.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";
import { sameRow } from "../state/rows-equal.ts";
import type { SyncTarget } from "./anti-entropy.ts";
import { isAclRefusal, type CatalogWrites } from "./catalog-writes.ts";
import type { SyncTokenEntry } from "./sync-token.ts";
import type { LocalState } from "./local-state.ts";
import { runSliced, type SlicedWork } from "../runtime/sliced-work.ts";

// The two sync operations anti-entropy schedules (Consul's local.State SyncFull/SyncChanges).
// The catalog is read in-process: on a server its own, on a client agent the rows it wrote.
// Each write carries a token (catalog-writes.ts). A write the servers refuse for its token is
// logged with Consul's "… blocked by ACLs" warning and counted as in sync, as Consul does, so
// it is not retried in a loop; the next full sync finds the difference and tries again.

/** The `consul` service and `serfHealth` belong to the servers' leader duties, not to us. */
const CONSUL_SERVICE_ID = "consul";

export interface CatalogSyncDeps {
  local: LocalState;
  writes: CatalogWrites;
  /** The token a service or check registration syncs with (sync-token.ts). */
  syncToken(entry: SyncTokenEntry): string;
  catalog: CatalogTables;
  logger: Logger;
  /** Wall-clock ms stamped on catalog commands (lock-delay of sessions they invalidate). */
  nowMs(): number;
  /** The node row this agent registers. */
  nodeFields(): NodeFields;
  /** Registers the node from scratch (node, serfHealth, `consul` on servers). */
  registerNode(): Promise<void>;
}

function withoutIndexes<T extends { CreateIndex: number; ModifyIndex: number }>(row: T): Omit<T, "CreateIndex" | "ModifyIndex"> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = row;
  return rest;
}

function nodeMatches(remote: Node, wanted: NodeFields): boolean {
  const pick = (n: NodeFields) => ({ ID: n.ID, Address: n.Address, TaggedAddresses: n.TaggedAddresses ?? {}, Meta: n.Meta ?? {} });
  return sameRow(pick(withoutIndexes(remote)), pick(wanted));
}

export class CatalogSync implements SyncTarget {
  readonly #deps: CatalogSyncDeps;
  #nodeMissing = false;

  constructor(deps: CatalogSyncDeps) {
    this.#deps = deps;
  }

  async syncFull(): Promise<void> {
    await runSliced(this.updateSyncStateSteps());
    await this.syncChanges();
  }

  /**
   * Compares local state with the catalog and marks every difference out of sync, as sliced
   * work: the checks (20,000 on a busy agent, each a row compare) are
   * compared and adopted COMPARE_CHECKS_PER_STEP per step. Each step reads the check's entry as
   * it is then, so a check re-registered or updated between two steps is judged as it stands
   * (a change after its step marks it out of sync itself); the catalog's rows are read once,
   * as Consul's full sync reads them once before comparing.
   */
  *updateSyncStateSteps(): SlicedWork<void> {
    const { local, catalog } = this.#deps;
    const node = local.nodeName;
    const remoteNode = catalog.getNode(node);
    this.#nodeMissing = remoteNode === undefined;
    local.nodeInfoInSync = remoteNode !== undefined && nodeMatches(remoteNode, this.#deps.nodeFields());

    const remoteServices = new Map<string, NodeService>(catalog.nodeServices(node).map((s) => [s.ID, s]));
    for (const [id, entry] of local.serviceEntries()) {
      const remote = remoteServices.get(id);
      if (entry.deleted) {
        // Still there (a removal blocked by ACLs counted as synced): try again.
        if (!remote) local.pruneService(id, entry.revision);
        else local.setServiceInSync(id, false);
        continue;
      }
      if (!remote) {
        local.setServiceInSync(id, false);
        continue;
      }
      if (entry.service.EnableTagOverride) local.adoptRemoteTags(id, remote.Tags);
      local.setServiceInSync(id, sameRow(local.service(id) ?? entry.service, withoutIndexes(remote)));
    }
    for (const [id, remote] of remoteServices) {
      if (id !== CONSUL_SERVICE_ID) local.adoptRemoteService(withoutIndexes(remote));
    }
    yield;

    const remoteChecks = new Map<string, HealthCheck>();
    const rows = catalog.nodeChecks(node);
    for (let i = 0; i < rows.length; i++) {
      remoteChecks.set(rows[i]!.CheckID, rows[i]!);
      if ((i + 1) % COMPARE_CHECKS_PER_STEP === 0) yield;
    }
    const ids = local.checkEntries().map(([id]) => id);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const entry = local.anyCheckEntry(id);
      if (entry !== undefined) {
        const remote = remoteChecks.get(id);
        if (entry.deleted) {
          if (!remote) local.pruneCheck(id, entry.revision);
          else local.setCheckInSync(id, false);
        } else {
          local.setCheckInSync(id, remote !== undefined && sameRow(this.#catalogCheck(entry.check), withoutIndexes(remote)), entry.revision);
        }
      }
      if ((i + 1) % COMPARE_CHECKS_PER_STEP === 0) yield;
    }
    let adopted = 0;
    for (const [id, remote] of remoteChecks) {
      if (id !== SERF_HEALTH_CHECK_ID && !(remote.ServiceID === CONSUL_SERVICE_ID)) local.adoptRemoteCheck(withoutIndexes(remote));
      if (++adopted % COMPARE_CHECKS_PER_STEP === 0) yield;
    }
  }

  /** Pushes everything out of sync; keeps going past failures and throws the first one. */
  async syncChanges(): Promise<void> {
    const { local } = this.#deps;
    let firstError: unknown;
    const attempt = async (what: () => Promise<void>): Promise<void> => {
      try {
        await what();
      } catch (e) {
        firstError ??= e;
      }
    };

    if (this.#nodeMissing) {
      await attempt(async () => {
        await this.#deps.registerNode();
        this.#nodeMissing = false;
        local.nodeInfoInSync = true;
      });
    } else if (!local.nodeInfoInSync) {
      await attempt(async () => {
        const blocked = await this.#write({ Type: "catalog-register", Node: this.#deps.nodeFields(), SkipNodeUpdate: false, Checks: [] }, this.#deps.writes.agentToken(), "Node info update", { node: local.nodeName });
        local.nodeInfoInSync = true;
        if (!blocked) this.#deps.logger.info("Synced node info");
      });
    }

    for (const [id, entry] of local.serviceEntries()) {
      if (entry.inSync) continue;
      const revision = entry.revision;
      if (entry.deleted) {
        await attempt(async () => {
          const blocked = await this.#write({ Type: "catalog-deregister", Node: local.nodeName, ServiceID: id }, this.#deps.writes.agentToken(), "Service deregistration", { service: id });
          if (blocked) return local.setServiceInSync(id, true, revision);
          local.pruneService(id, revision);
          this.#deps.logger.info("Deregistered service", { service: id });
        });
        continue;
      }
      // Checks ride along only when they sync with the same token, so none gains the service's rights (Consul).
      const token = this.#deps.syncToken(entry);
      // In steps: a registration at the body cap brings ~5,000 checks (issue 12 item 6).
      const { checks, rows } = await runSliced(serviceChecksToSync(local, id, token, this.#deps.syncToken));
      await attempt(async () => {
        const blocked = await this.#write(
          {
            Type: "catalog-register",
            Node: this.#deps.nodeFields(),
            SkipNodeUpdate: true,
            Service: entry.service,
            Checks: rows,
          },
          token,
          "Service registration",
          { service: id },
        );
        local.setServiceInSync(id, true, revision);
        for (const { id: cid, revision: r } of checks) local.setCheckInSync(cid, true, r);
        if (!blocked) this.#deps.logger.info("Synced service", { service: id });
      });
    }

    for (const [id, entry] of local.checkEntries()) {
      if (entry.inSync) continue;
      const revision = entry.revision;
      if (entry.deleted) {
        await attempt(async () => {
          const blocked = await this.#write({ Type: "catalog-deregister", Node: local.nodeName, CheckID: id }, this.#deps.writes.agentToken(), "Check deregistration", { check: id });
          if (blocked) return local.setCheckInSync(id, true, revision);
          local.pruneCheck(id, revision);
          this.#deps.logger.info("Deregistered check", { check: id });
        });
        continue;
      }
      const service: ServiceFields | undefined = entry.check.ServiceID ? local.service(entry.check.ServiceID) : undefined;
      if (entry.check.ServiceID && !service) continue; // its service is being removed; the check goes with it
      await attempt(async () => {
        const blocked = await this.#write(
          {
            Type: "catalog-register",
            Node: this.#deps.nodeFields(),
            SkipNodeUpdate: true,
            Service: service,
            Checks: [this.#catalogCheck(entry.check)],
          },
          this.#deps.syncToken(entry),
          "Check registration",
          { check: id },
        );
        local.setCheckInSync(id, true, revision);
        if (!blocked) this.#deps.logger.info("Synced check", { check: id });
      });
    }
    if (firstError !== undefined) throw firstError;
  }

  /** The row as the catalog stores it (apply fills node and service fields the same way). */
  #catalogCheck(check: CheckFields): CheckFields {
    return catalogCheckRow(this.#deps.local, check);
  }

  /**
   * Proposes one write with `token`. True when the servers refused it for its token: then
   * Consul's warning is logged (`<what> blocked by ACLs`, naming the AccessorID, never the
   * secret) and the caller treats the entry as synced.
   */
  async #write(cmd: Command, token: string, what: string, subject: Record<string, string>): Promise<boolean> {
    if (cmd.Type === "catalog-register" || cmd.Type === "catalog-deregister") cmd.NowMs = this.#deps.nowMs();
    let result;
    try {
      ({ result } = await this.#deps.writes.write(cmd, token));
    } catch (err) {
      if (!isAclRefusal(err)) throw err;
      this.#deps.logger.warn(`${what} blocked by ACLs`, { ...subject, accessorID: await this.#deps.writes.accessorOf(token) });
      return true;
    }
    if (!result.ok) throw new Error(result.error);
    return false;
  }
}

/** The row as the catalog stores it (apply fills node and service fields the same way). */
function catalogCheckRow(local: LocalState, check: CheckFields): CheckFields {
  const svc = check.ServiceID ? local.service(check.ServiceID) : undefined;
  return { ...check, Node: local.nodeName, ServiceName: svc?.Service ?? "", ServiceTags: svc ? [...svc.Tags] : [] };
}

/** Checks compared with the catalog per step of a full sync (updateSyncStateSteps). */
export const COMPARE_CHECKS_PER_STEP = 256;

/** Check entries looked at per step of serviceChecksToSync. */
export const SYNC_CHECKS_PER_STEP = 256;

/**
 * A service's live checks that sync with its token, with their catalog rows and the revision
 * each was read at (a check changed meanwhile has a newer one and is not marked synced),
 * looked at a batch per step.
 */
export function* serviceChecksToSync(
  local: LocalState,
  serviceId: string,
  token: string,
  syncToken: (entry: SyncTokenEntry) => string,
): SlicedWork<{ checks: { id: string; revision: number }[]; rows: CheckFields[] }> {
  const entries = local.checkEntries();
  const checks: { id: string; revision: number }[] = [];
  const rows: CheckFields[] = [];
  for (let i = 0; i < entries.length; i++) {
    const [id, c] = entries[i]!;
    if (!c.deleted && c.check.ServiceID === serviceId && syncToken(c) === token) {
      checks.push({ id, revision: c.revision });
      rows.push(catalogCheckRow(local, c.check));
    }
    if ((i + 1) % SYNC_CHECKS_PER_STEP === 0) yield;
  }
  return { checks, rows };
}
