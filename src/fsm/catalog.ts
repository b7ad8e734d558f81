import type { StateStore } from "../state/store.ts";
import type { ApplyResult, CatalogDeregisterCommand, CatalogRegisterCommand } from "./command.ts";
import { invalidateSessionsOnNode } from "./session.ts";

const done: ApplyResult = { ok: true, value: true };

export function applyCatalogRegister(state: StateStore, index: number, cmd: CatalogRegisterCommand): ApplyResult {
  const cat = state.catalog;
  const existing = cat.getNode(cmd.Node.Node);
  if (!existing || !cmd.SkipNodeUpdate) {
    if (existing && existing.ID && cmd.Node.ID && existing.ID !== cmd.Node.ID && existing.Node === cmd.Node.Node) {
      // Consul refuses to let a second node steal a live node's name.
      return { ok: false, error: `Failed to set node ${cmd.Node.Node}: node ID ${cmd.Node.ID} conflicts with existing node ID ${existing.ID}` };
    }
    cat.upsertNode(index, { ...cmd.Node, Node: existing?.Node ?? cmd.Node.Node });
  }
  const nodeName = existing?.Node ?? cmd.Node.Node;
  for (const check of cmd.Checks) {
    if (check.ServiceID && !(cmd.Service?.ID === check.ServiceID) && !cat.getService(nodeName, check.ServiceID)) {
      return { ok: false, error: "Missing service registration" };
    }
  }
  if (cmd.Service) cat.upsertService(index, nodeName, cmd.Service);
  // One batch for all checks: a registration may carry thousands (issue 12 item 6).
  cat.upsertChecks(
    index,
    nodeName,
    cmd.Checks.map((check) => {
      const svc = check.ServiceID ? cat.getService(nodeName, check.ServiceID) : undefined;
      return { ...check, Node: nodeName, ServiceName: svc?.Service ?? "", ServiceTags: svc ? [...svc.Tags] : [] };
    }),
  );
  invalidateSessionsOnNode(state, index, cmd.NowMs ?? 0, nodeName);
  return done;
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
