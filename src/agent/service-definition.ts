import { checkDefinitionProblem, type CheckDefinition } from "../checks/definition.ts";
import { errors } from "../errors/catalog.ts";
import type { ServiceFields } from "../fsm/command.ts";
import { bool, int, isObject, list, obj, str, strList, strMap, type JsonObject } from "../decode/json-body.ts";
import { isCheckStatus, type ServiceAddress, type Weights } from "../model/catalog.ts";
import { decodeCheckDefinition, isEmptyCheckDefinition } from "./check-definition.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

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
  /** `Connect.SidecarService` (or `sidecar_service`): a nested registration, defaulted by the agent. */
  sidecar: ServiceDefinition | undefined;
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

/** The service's checks, pausing after each (a body near the cap holds ~5,000). */
function* checkObjects(o: JsonObject): SlicedWork<CheckDefinition[]> {
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
    yield;
  }
  return out;
}

/** Decodes (without validating) a service definition body. */
export function decodeServiceDefinition(o: JsonObject): ServiceDefinition {
  return runWhole(decodeServiceDefinitionSteps(o));
}

/**
 * decodeServiceDefinition as work that pauses after each check (issue 12 item 6): reading the
 * ~40 fields of each of ~5,000 checks in a body near the 512 KiB cap took tens of ms in one
 * turn. The HTTP registration runs it in slices; config files and the sidecar run it whole.
 */
export function* decodeServiceDefinitionSteps(o: JsonObject): SlicedWork<ServiceDefinition> {
  const connect = obj(o, "Connect");
  const proxy = obj(o, "Proxy");
  const sidecar = connect ? obj(connect, "SidecarService", "sidecar_service") : undefined;
  // Fields are read in this order (checks last), so a body with several faults is refused for
  // the same one as before.
  const fields = {
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
  };
  const sidecarDefinition = sidecar ? yield* decodeServiceDefinitionSteps(sidecar) : undefined;
  const token = str(o, "Token");
  const checks = yield* checkObjects(o);
  return { ...fields, sidecar: sidecarDefinition, token, checks };
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

/**
 * NodeService.Validate's problems, in its order; `forAgent` is ValidateForAgent's subset, which
 * leaves out what the agent fills in itself (a sidecar's port).
 */
function nodeServiceProblems(d: ServiceDefinition, forAgent = false): string[] {
  const problems: string[] = [];
  if (d.kind === "connect-proxy") {
    if (!forAgent && d.port === 0 && d.socketPath === "") problems.push(`Port or SocketPath must be set for a ${d.kind}`);
    const dest = d.proxy?.DestinationServiceName;
    if (typeof dest !== "string" || dest.trim() === "") problems.push("Proxy.DestinationServiceName must be non-empty for Connect proxy services");
    if (d.connectNative) problems.push("A Proxy cannot also be Connect Native, only typical services");
  }
  if (!forAgent && d.sidecar) {
    if (d.sidecar.id !== "") problems.push("A SidecarService cannot specify an ID as this is managed by the agent");
    if (d.sidecar.sidecar) problems.push("A SidecarService cannot have a nested SidecarService");
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
  if (d.sidecar) validateSidecar(d);
}

/** The nested sidecar's checks, then the defaulted sidecar itself (AgentRegisterService's order). */
function validateSidecar(parent: ServiceDefinition): void {
  const nested = parent.sidecar;
  if (!nested) return;
  for (const c of nested.checks) {
    const p = checkDefinitionProblem(c);
    if (p) throw errors.badRequest(`Invalid check in sidecar_service: ${p}`);
  }
  for (const c of nested.checks) {
    if (c.status !== "" && !isCheckStatus(c.status)) throw errors.badRequest("Status for checks must 'passing', 'warning', 'critical'");
  }
  if (Object.keys(nested.meta).length > 0) {
    const meta = metaProblem(nested.meta);
    if (meta) throw errors.badRequest(`Invalid SidecarService: ${meta}`);
  }
  const problems = nodeServiceProblems(sidecarDefinition(parent) ?? nested, true);
  if (problems.length > 0) throw errors.badRequest(`Failed Validation: ${multiError(problems)}`);
}

/** The suffix of a sidecar's service ID and default name (structs.SidecarProxySuffix). */
export const SIDECAR_PROXY_SUFFIX = "-sidecar-proxy";

export function sidecarIdFor(serviceId: string): string {
  return serviceId + SIDECAR_PROXY_SUFFIX;
}

/**
 * The sidecar registration a service's `Connect.SidecarService` stands for, with Consul's
 * defaults (sidecarServiceFromNodeService): ID `<id>-sidecar-proxy`, kind connect-proxy, name
 * `<name>-sidecar-proxy`, the parent's address, tags and meta unless given, and a proxy
 * pointing at the parent on 127.0.0.1:<parent port> (or its socket). The port, when not given,
 * and the default checks are the agent's to fill in, since they depend on what else is
 * registered. undefined when the service has no sidecar.
 */
export function sidecarDefinition(parent: ServiceDefinition): ServiceDefinition | undefined {
  const nested = parent.sidecar;
  if (!nested) return undefined;
  const parentId = parent.id || parent.name;
  const proxy: Record<string, unknown> = { ...(nested.proxy ?? {}) };
  const text = (key: string): string => (typeof proxy[key] === "string" ? (proxy[key] as string) : "");
  const localPort = typeof proxy.LocalServicePort === "number" ? proxy.LocalServicePort : 0;
  if (text("DestinationServiceName") === "") proxy.DestinationServiceName = parent.name;
  if (text("DestinationServiceID") === "") proxy.DestinationServiceID = parentId;
  if (text("LocalServiceSocketPath") === "" && (text("LocalServiceAddress") === "" || localPort < 1)) {
    if (parent.socketPath !== "") {
      proxy.LocalServiceSocketPath = parent.socketPath;
    } else {
      if (text("LocalServiceAddress") === "") proxy.LocalServiceAddress = "127.0.0.1";
      if (localPort < 1) proxy.LocalServicePort = parent.port;
    }
  }
  return {
    ...nested,
    id: sidecarIdFor(parentId),
    kind: nested.kind || "connect-proxy",
    name: nested.name || parent.name + SIDECAR_PROXY_SUFFIX,
    address: nested.address || parent.address,
    tags: nested.tags.length > 0 ? [...nested.tags] : [...parent.tags],
    meta: Object.keys(nested.meta).length > 0 ? { ...nested.meta } : { ...parent.meta },
    proxy,
    token: nested.token || parent.token,
    sidecar: undefined,
  };
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

