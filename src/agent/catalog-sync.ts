import type { CheckFields, Command, NodeFields, ServiceFields } from "../fsm/command.ts";
import { SERF_HEALTH_CHECK_ID, type HealthCheck, type Node, type NodeService } from "../model/catalog.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Consensus } from "../server/consensus.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";
import { sameRow } from "../state/rows-equal.ts";
import type { SyncTarget } from "./anti-entropy.ts";
import type { LocalState } from "./local-state.ts";

// The two sync operations anti-entropy schedules (Consul's local.State SyncFull/SyncChanges).
// The catalog is read in-process: this agent is a server. A client agent will read the same
// rows over RPC (Catalog.NodeServices / Health.NodeChecks) behind the same methods.

/** The `consul` service and `serfHealth` belong to the servers' leader duties, not to us. */
const CONSUL_SERVICE_ID = "consul";

export interface CatalogSyncDeps {
  local: LocalState;
  consensus: Consensus;
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
    this.updateSyncState();
    await this.syncChanges();
  }

  /** Compares local state with the catalog and marks every difference out of sync. */
  updateSyncState(): void {
    const { local, catalog } = this.#deps;
    const node = local.nodeName;
    const remoteNode = catalog.getNode(node);
    this.#nodeMissing = remoteNode === undefined;
    local.nodeInfoInSync = remoteNode !== undefined && nodeMatches(remoteNode, this.#deps.nodeFields());

    const remoteServices = new Map<string, NodeService>(catalog.nodeServices(node).map((s) => [s.ID, s]));
    for (const [id, entry] of local.serviceEntries()) {
      const remote = remoteServices.get(id);
      if (entry.deleted) {
        if (!remote) local.pruneService(id, entry.revision);
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

    const remoteChecks = new Map<string, HealthCheck>(catalog.nodeChecks(node).map((c) => [c.CheckID, c]));
    for (const [id, entry] of local.checkEntries()) {
      const remote = remoteChecks.get(id);
      if (entry.deleted) {
        if (!remote) local.pruneCheck(id, entry.revision);
        continue;
      }
      local.setCheckInSync(id, remote !== undefined && sameRow(this.#catalogCheck(entry.check), withoutIndexes(remote)));
    }
    for (const [id, remote] of remoteChecks) {
      if (id !== SERF_HEALTH_CHECK_ID && !(remote.ServiceID === CONSUL_SERVICE_ID)) local.adoptRemoteCheck(withoutIndexes(remote));
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
        await this.#propose({ Type: "catalog-register", Node: this.#deps.nodeFields(), SkipNodeUpdate: false, Checks: [] });
        local.nodeInfoInSync = true;
      });
    }

    for (const [id, entry] of local.serviceEntries()) {
      if (entry.inSync) continue;
      const revision = entry.revision;
      if (entry.deleted) {
        await attempt(async () => {
          await this.#propose({ Type: "catalog-deregister", Node: local.nodeName, ServiceID: id });
          local.pruneService(id, revision);
          this.#deps.logger.info("Deregistered service", { service: id });
        });
        continue;
      }
      const checks = local.checkEntries().filter(([, c]) => !c.deleted && c.check.ServiceID === id);
      await attempt(async () => {
        await this.#propose({
          Type: "catalog-register",
          Node: this.#deps.nodeFields(),
          SkipNodeUpdate: true,
          Service: entry.service,
          Checks: checks.map(([, c]) => this.#catalogCheck(c.check)),
        });
        local.setServiceInSync(id, true, revision);
        for (const [cid, c] of checks) local.setCheckInSync(cid, true, c.revision);
        this.#deps.logger.info("Synced service", { service: id });
      });
    }

    for (const [id, entry] of local.checkEntries()) {
      if (entry.inSync) continue;
      const revision = entry.revision;
      if (entry.deleted) {
        await attempt(async () => {
          await this.#propose({ Type: "catalog-deregister", Node: local.nodeName, CheckID: id });
          local.pruneCheck(id, revision);
          this.#deps.logger.info("Deregistered check", { check: id });
        });
        continue;
      }
      const service: ServiceFields | undefined = entry.check.ServiceID ? local.service(entry.check.ServiceID) : undefined;
      if (entry.check.ServiceID && !service) continue; // its service is being removed; the check goes with it
      await attempt(async () => {
        await this.#propose({
          Type: "catalog-register",
          Node: this.#deps.nodeFields(),
          SkipNodeUpdate: true,
          Service: service,
          Checks: [this.#catalogCheck(entry.check)],
        });
        local.setCheckInSync(id, true, revision);
        this.#deps.logger.info("Synced check", { check: id });
      });
    }
    if (firstError !== undefined) throw firstError;
  }

  /** The row as the catalog stores it (apply fills node and service fields the same way). */
  #catalogCheck(check: CheckFields): CheckFields {
    const svc = check.ServiceID ? this.#deps.local.service(check.ServiceID) : undefined;
    return { ...check, Node: this.#deps.local.nodeName, ServiceName: svc?.Service ?? "", ServiceTags: svc ? [...svc.Tags] : [] };
  }

  async #propose(cmd: Command): Promise<void> {
    if (cmd.Type === "catalog-register" || cmd.Type === "catalog-deregister") cmd.NowMs = this.#deps.nowMs();
    const { result } = await this.#deps.consensus.propose(cmd);
    if (!result.ok) throw new Error(result.error);
  }
}
