import type { Authorizer } from "./authorizer.ts";
import { errors } from "../errors/catalog.ts";
import type { CatalogDeregisterCommand, CatalogRegisterCommand } from "../fsm/command.ts";
import type { Node } from "../model/catalog.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";
import { sameRow } from "../state/rows-equal.ts";

// ACLs on catalog writes (Consul's vetRegisterWithACL / vetDeregisterWithACL): node:write when
// the node's fields change, service:write on the service (and on the one an ID replaces),
// and per check node:write or service:write on the service it belongs to.

function changesNode(existing: Node | undefined, node: CatalogRegisterCommand["Node"]): boolean {
  if (!existing) return true;
  return (
    existing.ID !== node.ID ||
    existing.Node !== node.Node ||
    existing.Address !== node.Address ||
    !sameRow(existing.TaggedAddresses ?? {}, node.TaggedAddresses ?? {}) ||
    !sameRow(existing.Meta ?? {}, node.Meta ?? {})
  );
}

export function vetCatalogRegister(authz: Authorizer, catalog: CatalogTables, cmd: CatalogRegisterCommand): void {
  const nodeName = cmd.Node.Node;
  const existing = catalog.getNode(nodeName);
  if (!cmd.SkipNodeUpdate && changesNode(existing, cmd.Node)) authz.require("node:write", nodeName);
  if (cmd.Service) {
    authz.require("service:write", cmd.Service.Service);
    const replaced = existing ? catalog.getService(nodeName, cmd.Service.ID) : undefined;
    if (replaced) authz.require("service:write", replaced.Service);
  }
  for (const check of cmd.Checks) {
    if (check.Node !== nodeName) {
      throw errors.internal(`Node '${check.Node}' for check '${check.CheckID}' doesn't match register request node '${nodeName}'`);
    }
    if (check.ServiceID === "") {
      authz.require("node:write", nodeName);
      continue;
    }
    if (cmd.Service && cmd.Service.ID === check.ServiceID) continue;
    const other = catalog.getService(nodeName, check.ServiceID);
    if (!other) throw errors.internal(`Unknown service ID '${check.ServiceID}' for check ID '${check.CheckID}'`);
    authz.require("service:write", other.Service);
  }
}

export function vetCatalogDeregister(authz: Authorizer, catalog: CatalogTables, cmd: CatalogDeregisterCommand): void {
  // node:write on the node allows removing anything on it
  if (authz.allowed("node:write", cmd.Node)) return;
  if (cmd.ServiceID) {
    const svc = catalog.getService(cmd.Node, cmd.ServiceID);
    if (!svc) throw errors.internal(`Unknown service ID '${cmd.ServiceID}'`);
    authz.require("service:write", svc.Service);
  } else if (cmd.CheckID) {
    const check = catalog.getCheck(cmd.Node, cmd.CheckID);
    if (!check) throw errors.internal(`Unknown check ID '${cmd.CheckID}'`);
    if (check.ServiceID) authz.require("service:write", check.ServiceName);
    else authz.require("node:write", cmd.Node);
  } else {
    authz.require("node:write", cmd.Node);
  }
}
