import type { Authorizer } from "../../acl/authorizer.ts";
import type { CheckFields, ServiceFields } from "../../fsm/command.ts";
import type { ServiceDefinition } from "../../agent/service-definition.ts";

// ACLs on the local agent's service and check endpoints (Consul's agent_endpoint.go vet*
// helpers): services need service:write on their name (and on the destination a connect proxy
// stands for), node-level checks node:write on this agent's node, service checks service:write.

export function vetServiceRegister(authz: Authorizer, def: ServiceDefinition, existing: ServiceFields | undefined): void {
  authz.require("service:write", def.name);
  if (existing && existing.Service !== def.name) authz.require("service:write", existing.Service);
  const destination = def.proxy?.DestinationServiceName;
  if (def.kind === "connect-proxy" && typeof destination === "string" && destination !== "") authz.require("service:write", destination);
}

/** A check change: by the service it belongs to, else by the node. */
export function vetCheckWrite(authz: Authorizer, nodeName: string, serviceName: string | undefined): void {
  if (serviceName) authz.require("service:write", serviceName);
  else authz.require("node:write", nodeName);
}

export const canSeeLocalService = (authz: Authorizer, s: ServiceFields): boolean => authz.allowed("service:read", s.Service);

export const canSeeLocalCheck = (authz: Authorizer, nodeName: string, c: CheckFields): boolean =>
  c.ServiceID ? authz.allowed("service:read", c.ServiceName) : authz.allowed("node:read", nodeName);
