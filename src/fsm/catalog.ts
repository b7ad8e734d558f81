import type { StateStore } from "../state/store.ts";
import type { PreparedCheckRows } from "../state/catalog-tables.ts";
import type { SlicedWork } from "../runtime/sliced-work.ts";
import type { ApplyResult, CatalogDeregisterCommand, CatalogRegisterCommand, CheckFields } from "./command.ts";
import { invalidateSessionsOnNode } from "./session.ts";

const done: ApplyResult = { ok: true, value: true };

/** Registrations with at least this many checks build their check rows ahead, in slices. */
export const PREPARE_MIN_CHECKS = 256;

/**
 * A registration's check rows and the node's whole check table, built ahead
 * (prepareCatalogRegister) against the state as of `stateIndex`, for the service as the command
 * names it.
 */
export interface PreparedCatalogRegister {
  stateIndex: number;
  rows: PreparedCheckRows;
}

export function applyCatalogRegister(state: StateStore, index: number, cmd: CatalogRegisterCommand, prepared?: PreparedCatalogRegister): ApplyResult {
  const cat = state.catalog;
  const existing = cat.getNode(cmd.Node.Node);
  if (!existing || !cmd.SkipNodeUpdate) {
    if (existing && existing.ID && cmd.Node.ID && existing.ID !== cmd.Node.ID && existing.Node === cmd.Node.Node) {
      // Consul refuses to let a second node steal a live node's name.
      return { ok: false, error: `Failed to set node ${cmd.Node.Node}: node ID ${cmd.Node.ID} conflicts with existing node ID ${existing.ID}` };
    }
    const name = existing?.Node ?? cmd.Node.Node;
    // upsertNode stores a copy of what it is given: the command's own fields unless the stored spelling wins.
    cat.upsertNode(index, name === cmd.Node.Node ? cmd.Node : { ...cmd.Node, Node: name });
  }
  const nodeName = existing?.Node ?? cmd.Node.Node;
  for (const check of cmd.Checks) {
    if (check.ServiceID && !(cmd.Service?.ID === check.ServiceID) && !cat.getService(nodeName, check.ServiceID)) {
      return { ok: false, error: "Missing service registration" };
    }
  }
  if (cmd.Service) cat.upsertService(index, nodeName, cmd.Service);
  // One batch for all checks: a registration may carry thousands (issue 12 item 6). Rows built
  // ahead count only if the service they name is stored as the command gave it.
  const ahead = prepared !== undefined && serviceStoredAsGiven(state, nodeName, cmd) ? prepared : undefined;
  if (ahead === undefined || cmd.Checks.length === 0 || !cat.swapPreparedChecks(index, nodeName, ahead.rows)) {
    cat.upsertChecks(
      index,
      nodeName,
      cmd.Checks.map((check) => checkFields(state, nodeName, check, undefined)),
    );
  }
  invalidateSessionsOnNode(state, index, cmd.NowMs ?? 0, nodeName);
  return done;
}

/**
 * The costly part of a registration with many checks, done before its turn to apply without
 * changing the state: each check's stored row and the node's table with them. Read against the
 * state as apply will find it (the Raft host applies nothing else meanwhile); undefined for
 * small registrations. Each check's filled-in fields are made, turned into its row and dropped
 * at once: kept for the apply, they were a second copy of every check surviving each scavenge.
 */
export function* prepareCatalogRegister(state: StateStore, index: number, cmd: CatalogRegisterCommand): SlicedWork<PreparedCatalogRegister | undefined> {
  if (cmd.Checks.length < PREPARE_MIN_CHECKS) return undefined;
  const stateIndex = state.lastIndex;
  const nodeName = state.catalog.getNode(cmd.Node.Node)?.Node ?? cmd.Node.Node;
  // The command's own service is what apply stores before the checks.
  const rows = yield* state.catalog.prepareCheckRowsOf(index, nodeName, cmd.Checks.length, (i) => checkFields(state, nodeName, cmd.Checks[i], cmd.Service));
  return { stateIndex, rows: yield* state.catalog.withCheckTable(rows) };
}

function checkFields(state: StateStore, nodeName: string, check: CheckFields, ownService: CatalogRegisterCommand["Service"]): CheckFields {
  const svc = !check.ServiceID ? undefined : ownService !== undefined && ownService.ID === check.ServiceID ? ownService : state.catalog.getService(nodeName, check.ServiceID);
  return { ...check, Node: nodeName, ServiceName: svc?.Service ?? "", ServiceTags: svc ? [...svc.Tags] : [] };
}

/** Whether the command's service (if any) is stored with the name and tags it gave. */
function serviceStoredAsGiven(state: StateStore, nodeName: string, cmd: CatalogRegisterCommand): boolean {
  if (!cmd.Service) return true;
  const stored = state.catalog.getService(nodeName, cmd.Service.ID);
  const given: unknown = cmd.Service.Tags;
  if (!stored || stored.Service !== cmd.Service.Service || !Array.isArray(given) || stored.Tags.length !== given.length) return false;
  return stored.Tags.every((tag, i) => tag === given[i]);
}

export function applyCatalogDeregister(state: StateStore, index: number, cmd: CatalogDeregisterCommand): ApplyResult {
  if (cmd.ServiceID) state.catalog.deleteService(index, cmd.Node, cmd.ServiceID);
  else if (cmd.CheckID) state.catalog.deleteCheck(index, cmd.Node, cmd.CheckID);
  else {
    state.catalog.deleteNode(index, cmd.Node);
    state.coordinates.deleteNode(index, cmd.Node);
  }
  invalidateSessionsOnNode(state, index, cmd.NowMs ?? 0, cmd.Node);
  return done;
}
