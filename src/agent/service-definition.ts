import { checkDefinitionProblem, type CheckDefinition } from "../checks/definition.ts";
import { errors } from "../errors/catalog.ts";
import type { ServiceFields } from "../fsm/command.ts";
import { bool, int, isObject, list, obj, str, strList, strMap, type JsonObject } from "../http/body.ts";
import { isCheckStatus, type ServiceAddress, type Weights } from "../model/catalog.ts";
import { decodeCheckDefinition, isEmptyCheckDefinition } from "./check-definition.ts";

// A service registration as /v1/agent/service/register and config files send it
// (agent.md §7.4, agent-config.md §4), decoded, validated with Consul's messages, and turned
// into the NodeService row the agent keeps and syncs.

export interface ServiceDefinition {
  kind: string;
  id: string;
  name: string;
  tags: string[];
  address: string;
  taggedAddresses: Record<string, ServiceAddress>;
  meta: Record<string, string>;
  port: number;
  socketPath: string;
  enableTagOverride: boolean;
  /** undefined = not given (defaults to {1,1}). */
  weights: Weights | undefined;
  proxy: Record<string, unknown> | undefined;
  connectNative: boolean;
  token: string;
  /** `Check` followed by `Checks`, empty `Check` dropped. */
  checks: CheckDefinition[];
}

export const PROXY_KINDS = ["connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway"] as const;

// Proxy blocks arrive in PascalCase (HTTP API) or snake_case (config files); both map onto
// these names. Values under `Config` are opaque and keep their keys.
const PROXY_KEYS = [
  "DestinationServiceName", "DestinationServiceID", "LocalServiceAddress", "LocalServicePort", "LocalServiceSocketPath",
  "Mode", "TransparentProxy", "OutboundListenerPort", "DialedDirectly", "Config", "Upstreams", "DestinationType",
  "DestinationNamespace", "DestinationPartition", "DestinationPeer", "DestinationName", "Datacenter", "LocalBindAddress",
  "LocalBindPort", "LocalBindSocketPath", "LocalBindSocketMode", "MeshGateway", "CentrallyConfigured", "Expose", "Checks",
  "Paths", "ListenerPort", "Path", "LocalPathPort", "Protocol", "AccessLogs",
];
const PROXY_KEY_BY_FOLDED = new Map(PROXY_KEYS.map((k) => [k.toLowerCase(), k]));

function normalizeProxyValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeProxyValue);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const name = PROXY_KEY_BY_FOLDED.get(k.toLowerCase().replace(/_/g, "")) ?? k;
    out[name] = name === "Config" ? v : normalizeProxyValue(v);
  }
  return out;
}

function taggedAddresses(o: JsonObject): Record<string, ServiceAddress> {
  const raw = obj(o, "TaggedAddresses", "tagged_addresses");
  const out: Record<string, ServiceAddress> = {};
  for (const [name, v] of Object.entries(raw ?? {})) {
    if (v === null) continue;
    if (!isObject(v)) throw errors.decodeFailed("json: cannot unmarshal into Go struct field .TaggedAddresses of type structs.ServiceAddress");
    out[name] = { Address: str(v, "Address"), Port: int(v, "Port") };
  }
  return out;
}

function weights(o: JsonObject): Weights | undefined {
  const raw = obj(o, "Weights");
  if (!raw) return undefined;
  return { Passing: int(raw, "Passing"), Warning: int(raw, "Warning") };
}

function checkObjects(o: JsonObject): CheckDefinition[] {
  const out: CheckDefinition[] = [];
  const single = obj(o, "Check");
  if (single) {
    const d = decodeCheckDefinition(single);
    if (!isEmptyCheckDefinition(d)) out.push(d);
  }
  for (const item of list(o, "Checks") ?? []) {
    if (item === null) continue;
    if (!isObject(item)) throw errors.decodeFailed("json: cannot unmarshal into Go struct field .Checks of type structs.CheckType");
    out.push(decodeCheckDefinition(item));
  }
  return out;
}

/** Decodes (without validating) a service definition body. */
export function decodeServiceDefinition(o: JsonObject): ServiceDefinition {
  const connect = obj(o, "Connect");
  const proxy = obj(o, "Proxy");
  return {
    kind: str(o, "Kind"),
    id: str(o, "ID"),
    name: str(o, "Name"),
    tags: strList(o, "Tags") ?? [],
    address: str(o, "Address"),
    taggedAddresses: taggedAddresses(o),
    meta: strMap(o, "Meta") ?? {},
    port: int(o, "Port"),
    socketPath: str(o, "SocketPath", "socket_path"),
    enableTagOverride: bool(o, "EnableTagOverride", "enable_tag_override"),
    weights: weights(o),
    proxy: proxy ? (normalizeProxyValue(proxy) as Record<string, unknown>) : undefined,
    connectNative: connect ? bool(connect, "Native") : false,
    token: str(o, "Token"),
    checks: checkObjects(o),
  };
}

/** structs.ValidateMetadata's wording (the count message says "Node" for services too). */
export function metaProblem(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > 64) return "Node metadata cannot contain more than 64 key/value pairs";
  for (const [key, value] of entries) {
    let problem: string | undefined;
    if (key === "") problem = "Key cannot be blank";
    else if (!/^[a-zA-Z0-9_-]+$/.test(key)) problem = "Key contains invalid characters";
    else if (key.length > 128) problem = "Key is too long (limit: 128 characters)";
    else if (key.startsWith("consul-")) problem = "Key prefix 'consul-' is reserved for internal use";
    else if (value.length > 512) problem = "Value is too long (limit: 512 characters)";
    if (problem) return `Couldn't load metadata pair ('${key}', '${value}'): ${problem}`;
  }
  return undefined;
}

function weightsProblem(w: Weights): string | undefined {
  if (w.Passing < 1) return "Passing must be greater than 0";
  if (w.Warning < 0) return "Warning must be greater or equal than 0";
  if (w.Passing > 65535 || w.Warning > 65535) return "DNS Weight must be between 0 and 65535";
  return undefined;
}

function isAnyAddress(address: string): boolean {
  return address === "0.0.0.0" || address === "::" || address === "[::]";
}

/** go-multierror's text, which Consul's NodeService.Validate errors are wrapped in. */
function multiError(problems: string[]): string {
  const head = problems.length === 1 ? "1 error occurred:" : `${problems.length} errors occurred:`;
  return `${head}\n${problems.map((p) => `\t* ${p}`).join("\n")}\n\n`;
}

function nodeServiceProblems(d: ServiceDefinition): string[] {
  const problems: string[] = [];
  if (d.kind === "connect-proxy") {
    const dest = d.proxy?.DestinationServiceName;
    if (typeof dest !== "string" || dest === "") problems.push("Proxy.DestinationServiceName must be non-empty for Connect proxy services");
    if (d.port === 0 && d.socketPath === "") problems.push("Port or SocketPath must be set for a Connect proxy");
  }
  return problems;
}

/**
 * The HTTP handler's validation, in Consul's order and wording (agent.md §7.4). Throws a
 * ConsulError (400) naming the first problem.
 */
export function validateServiceDefinition(d: ServiceDefinition): void {
  if (d.name === "") throw errors.badRequest("Missing service name");
  if (isAnyAddress(d.address)) throw errors.badRequest("Invalid service address");
  if (d.weights) {
    const p = weightsProblem(d.weights);
    if (p) throw errors.badRequest(`Invalid Weights: ${p}`);
  }
  const meta = metaProblem(d.meta);
  if (meta) throw errors.badRequest(`Invalid Service Meta: ${meta}`);
  const problems = nodeServiceProblems(d);
  if (problems.length > 0) throw errors.badRequest(`Validation failed: ${multiError(problems)}`);
  for (const c of d.checks) {
    const p = checkDefinitionProblem(c);
    if (p) throw errors.badRequest(`Invalid check: ${p}`);
  }
  for (const c of d.checks) {
    if (c.status !== "" && !isCheckStatus(c.status)) throw errors.badRequest("Status for checks must 'passing', 'warning', 'critical'");
  }
}

function ipFamily(address: string): 4 | 6 | undefined {
  if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(address) && address.split(".").every((n) => Number(n) <= 255)) return 4;
  if (address.includes(":") && /^[0-9a-fA-F:.]+$/.test(address)) return 6;
  return undefined;
}

/**
 * The NodeService row for a definition: ID defaults to the name, weights to {1,1}, and an IP
 * service address gets the lan/wan tagged addresses of its family unless given (as Consul's
 * addServiceInternal does, so catalog answers match).
 */
export function toServiceFields(d: ServiceDefinition): ServiceFields {
  const tagged: Record<string, ServiceAddress> = { ...d.taggedAddresses };
  const family = ipFamily(d.address);
  if (family) {
    const suffix = family === 4 ? "ipv4" : "ipv6";
    for (const name of [`lan_${suffix}`, `wan_${suffix}`]) if (!tagged[name]) tagged[name] = { Address: d.address, Port: d.port };
  }
  const isProxyKind = (PROXY_KINDS as readonly string[]).includes(d.kind);
  const row: ServiceFields = {
    ID: d.id || d.name,
    Service: d.name,
    Tags: [...d.tags],
    Address: d.address,
    Meta: { ...d.meta },
    Port: d.port,
    Weights: d.weights ? { ...d.weights } : { Passing: 1, Warning: 1 },
    EnableTagOverride: d.enableTagOverride,
    Proxy: isProxyKind ? { MeshGateway: {}, Expose: {}, ...(d.proxy ?? {}) } : { MeshGateway: {}, Expose: {} },
    Connect: d.connectNative ? { Native: true } : {},
    PeerName: "",
  };
  if (d.kind !== "") row.Kind = d.kind;
  if (Object.keys(tagged).length > 0) row.TaggedAddresses = tagged;
  if (d.socketPath !== "") row.SocketPath = d.socketPath;
  return row;
}

/** Top-level check register: name is required and the status must be known. */
export function validateCheckRegistration(d: CheckDefinition): void {
  if (d.name === "") throw errors.badRequest("Missing check name");
  if (d.status !== "" && !isCheckStatus(d.status)) throw errors.badRequest("Bad check status");
  const p = checkDefinitionProblem(d);
  if (p) throw errors.badRequest(`Invalid check: ${p}`);
}

