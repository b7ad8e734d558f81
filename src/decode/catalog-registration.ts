import { errors } from "../errors/catalog.ts";
import type { CatalogDeregisterCommand, CatalogRegisterCommand, CheckFields, NodeFields, ServiceFields } from "../fsm/command.ts";
import { isCheckStatus, type ServiceAddress, type Weights } from "../model/catalog.ts";
import { formatGoDuration, parseDurationField } from "../model/duration.ts";
import { runSliced, type SlicedWork } from "../runtime/sliced-work.ts";
import { bool, field, int, isLargeJsonBody, isObject, obj, parseJsonBodyInTurns, parseJsonBodyWhole, str, strList, strMap, type JsonObject } from "./json-body.ts";

// Bodies of PUT /v1/catalog/register and /deregister (catalog.md §3, §4). Undecodable bodies
// are 400 `Request decode failed: …`; rule violations are reported the way the server RPC
// reports them upstream: 500 with Consul's message.

const METADATA_MAX_PAIRS = 64;
const METADATA_KEY_MAX_LENGTH = 128;
const METADATA_VALUE_MAX_LENGTH = 512;
const METADATA_KEY_FORMAT = /^[a-zA-Z0-9_-]+$/;

const rejected = (msg: string): Error => errors.internal(msg);
/** Registrations with more checks than this decode them in steps: a registration may carry thousands. */
const CHECKS_IN_ONE_GO = 256;
/** Checks decoded per step (~0.1 ms). */
export const CHECKS_PER_STEP = 32;

/** A small body's root object, parsed in this turn (see decodeCatalogRegistration). */
function rootObject(body: Buffer | undefined, goType: string): JsonObject {
  return asRootObject(parseJsonBodyWhole(body), goType);
}

function asRootObject(root: unknown, goType: string): JsonObject {
  if (!isObject(root)) {
    const kind = root === null ? "null" : Array.isArray(root) ? "array" : typeof root;
    throw errors.decodeFailed(`json: cannot unmarshal ${kind} into Go value of type ${goType}`);
  }
  return root;
}

function checkDatacenter(o: JsonObject, agentDc: string): void {
  const dc = str(o, "Datacenter");
  if (dc !== "" && dc.toLowerCase() !== agentDc.toLowerCase()) throw errors.noPathToDatacenter();
}

/** go-uuid ParseUUID's checks, with its messages. */
function uuidError(id: string): string | undefined {
  if (id.length !== 36) return "uuid string is wrong length";
  if (id[8] !== "-" || id[13] !== "-" || id[18] !== "-" || id[23] !== "-") return "uuid is improperly formatted";
  const hex = id.replace(/-/g, "");
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad) return `encoding/hex: invalid byte: U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} '${bad[0]}'`;
  return undefined;
}

function validateNodeMeta(meta: Record<string, string>): void {
  const entries = Object.entries(meta);
  if (entries.length > METADATA_MAX_PAIRS) throw rejected(`Node metadata cannot contain more than ${METADATA_MAX_PAIRS} key/value pairs`);
  for (const [key, value] of entries) {
    let problem: string | undefined;
    if (key === "") problem = "Key cannot be blank";
    else if (!METADATA_KEY_FORMAT.test(key)) problem = "Key contains invalid characters";
    else if (key.length > METADATA_KEY_MAX_LENGTH) problem = `Key is too long (limit: ${METADATA_KEY_MAX_LENGTH} characters)`;
    else if (value.length > METADATA_VALUE_MAX_LENGTH) problem = `Value is too long (limit: ${METADATA_VALUE_MAX_LENGTH} characters)`;
    if (problem) throw rejected(`Couldn't load metadata pair ('${key}', '${value}'): ${problem}`);
  }
}

function isAnyAddress(addr: string): boolean {
  return addr === "0.0.0.0" || addr === "::" || addr === "[::]";
}

function decodeServiceAddresses(o: JsonObject): Record<string, ServiceAddress> | undefined {
  const raw = obj(o, "TaggedAddresses", "tagged_addresses");
  if (!raw) return undefined;
  const out: Record<string, ServiceAddress> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (v === null) continue;
    if (!isObject(v)) throw errors.decodeFailed(`json: cannot unmarshal ${typeof v} into Go struct field .TaggedAddresses of type structs.ServiceAddress`);
    out[name] = { Address: str(v, "Address"), Port: int(v, "Port") };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function decodeWeights(o: JsonObject): Weights {
  const w = obj(o, "Weights");
  return w ? { Passing: int(w, "Passing"), Warning: int(w, "Warning") } : { Passing: 1, Warning: 1 };
}

function decodeService(o: JsonObject): ServiceFields {
  const kind = str(o, "Kind");
  const name = str(o, "Service");
  let id = str(o, "ID");
  const proxy = obj(o, "Proxy") ?? {};
  if (kind === "connect-proxy" && !(typeof proxy.DestinationServiceName === "string" && proxy.DestinationServiceName !== "")) {
    throw rejected("Proxy.DestinationServiceName must be non-empty for Connect proxy services");
  }
  if (id === "" && name !== "") id = name;
  if (id !== "" && name === "") throw rejected("Must provide service name with ID");
  const address = str(o, "Address");
  if (isAnyAddress(address)) throw rejected("Invalid service address");
  const service: ServiceFields = {
    ID: id,
    Service: name,
    Tags: strList(o, "Tags") ?? [],
    Address: address,
    Meta: strMap(o, "Meta") ?? null,
    Port: int(o, "Port"),
    Weights: decodeWeights(o),
    EnableTagOverride: bool(o, "EnableTagOverride", "enable_tag_override"),
    Proxy: { ...proxy, MeshGateway: isObject(proxy.MeshGateway) ? proxy.MeshGateway : {}, Expose: isObject(proxy.Expose) ? proxy.Expose : {} },
    Connect: obj(o, "Connect") ?? {},
    PeerName: "",
  };
  if (kind !== "") service.Kind = kind;
  const tagged = decodeServiceAddresses(o);
  if (tagged) service.TaggedAddresses = tagged;
  const socketPath = str(o, "SocketPath", "socket_path");
  if (socketPath !== "") service.SocketPath = socketPath;
  return service;
}

// Check definition fields Consul keeps (HealthCheckDefinition), in its order; durations are
// re-rendered as Go duration text and zero values are dropped, as Consul renders them.
const DEFINITION_FIELDS = [
  "HTTP", "TLSServerName", "TLSSkipVerify", "Header", "Method", "Body", "DisableRedirects", "TCP", "TCPUseTLS", "UDP",
  "H2PING", "H2PingUseTLS", "GRPC", "GRPCUseTLS", "OSService", "OutputMaxSize", "ScriptArgs", "DockerContainerID", "Shell",
  "AliasNode", "AliasService", "Interval", "Timeout", "DeregisterCriticalServiceAfter",
] as const;
const DURATION_FIELDS = new Set<string>(["Interval", "Timeout", "DeregisterCriticalServiceAfter"]);

function isZero(v: unknown): boolean {
  if (v === "" || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

function decodeDefinition(o: JsonObject): { definition: Record<string, unknown>; durationsMs: Record<string, number> } {
  const raw = obj(o, "Definition");
  const definition: Record<string, unknown> = {};
  const durationsMs: Record<string, number> = {};
  if (!raw) return { definition, durationsMs };
  for (const name of DEFINITION_FIELDS) {
    const v = field(raw, name);
    if (v === undefined) continue;
    if (DURATION_FIELDS.has(name)) {
      let ms: number;
      try {
        ms = parseDurationField(v);
      } catch (e) {
        throw errors.decodeFailed(e instanceof Error ? e.message : String(e));
      }
      if (ms !== 0) {
        durationsMs[name] = ms;
        definition[name] = formatGoDuration(ms);
      }
    } else if (!isZero(v)) {
      definition[name] = v;
    }
  }
  return { definition, durationsMs };
}

/** The check kind a definition describes (Consul's CheckType.Type()); "" when it names none. */
function checkTypeOf(def: Record<string, unknown>, intervalMs: number): string {
  if (def.AliasNode || def.AliasService) return "alias";
  if (intervalMs <= 0) return "";
  if (def.HTTP) return "http";
  if (def.TCP) return "tcp";
  if (def.UDP) return "udp";
  if (def.GRPC) return "grpc";
  if (def.H2PING) return "h2ping";
  if (def.OSService) return "os_service";
  if (def.DockerContainerID) return "docker";
  if (def.ScriptArgs) return "script";
  return "";
}

function decodeCheck(o: JsonObject, nodeName: string): CheckFields {
  const node = str(o, "Node");
  const name = str(o, "Name");
  const checkId = str(o, "CheckID", "ID") || name;
  if (node !== "" && node.toLowerCase() !== nodeName.toLowerCase()) throw rejected("Missing node registration");
  const status = str(o, "Status") || "critical";
  if (!isCheckStatus(status)) throw rejected(`Invalid check status: "${status}"`);
  const { definition, durationsMs } = decodeDefinition(o);
  const interval = str(o, "Interval") || definition.Interval;
  const timeout = str(o, "Timeout") || definition.Timeout;
  return {
    Node: nodeName,
    CheckID: checkId,
    Name: name,
    Status: status,
    Notes: str(o, "Notes"),
    Output: str(o, "Output"),
    ServiceID: str(o, "ServiceID", "service_id"),
    // Filled from the service by apply.
    ServiceName: "",
    ServiceTags: [],
    Type: str(o, "Type") || checkTypeOf(definition, durationsMs.Interval ?? 0),
    Interval: typeof interval === "string" ? interval : "",
    Timeout: typeof timeout === "string" ? timeout : "",
    ExposedPort: int(o, "ExposedPort"),
    Definition: definition,
  };
}

function checkList(o: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  const checks = field(o, "Checks");
  if (checks !== undefined) {
    if (!Array.isArray(checks)) throw errors.decodeFailed("json: cannot unmarshal object into Go struct field RegisterRequest.Checks of type structs.HealthChecks");
    for (const c of checks) {
      if (c === null) continue;
      if (!isObject(c)) throw errors.decodeFailed(`json: cannot unmarshal ${typeof c} into Go struct field RegisterRequest.Checks of type structs.HealthCheck`);
      out.push(c);
    }
  }
  // The single `Check` form is appended after `Checks`, as Consul does.
  const single = obj(o, "Check");
  if (single) out.push(single);
  return out;
}

/**
 * A registration body as a command: decoded in this turn when it is small (the usual one — no
 * promise, no turn of the microtask queue), over several turns when the body is large or
 * carries many checks.
 */
export function decodeCatalogRegistration(body: Buffer | undefined, agentDc: string): CatalogRegisterCommand | Promise<CatalogRegisterCommand> {
  // A registration may be large (thousands of checks): parsed over several turns.
  if (isLargeJsonBody(body)) return parseJsonBodyInTurns(body).then((root) => registrationOf(asRootObject(root, "structs.RegisterRequest"), agentDc));
  return registrationOf(rootObject(body, "structs.RegisterRequest"), agentDc);
}

function registrationOf(o: JsonObject, agentDc: string): CatalogRegisterCommand | Promise<CatalogRegisterCommand> {
  checkDatacenter(o, agentDc);
  const nodeName = str(o, "Node");
  const id = str(o, "ID");
  const address = str(o, "Address");
  const skipNodeUpdate = bool(o, "SkipNodeUpdate", "skip_node_update");
  const meta = strMap(o, "NodeMeta", "node_meta");
  const tagged = strMap(o, "TaggedAddresses", "tagged_addresses");
  const serviceBody = obj(o, "Service");
  const checkBodies = checkList(o);

  if (nodeName === "") throw rejected("Must provide node");
  if (id !== "") {
    const problem = uuidError(id);
    if (problem) throw rejected(`Bad node ID: ${problem}`);
  }
  if (address === "" && !skipNodeUpdate) throw rejected("Must provide address if SkipNodeUpdate is not set");
  if (meta) validateNodeMeta(meta);

  const node: NodeFields = {
    ID: id,
    Node: nodeName,
    Address: address,
    Datacenter: agentDc,
    TaggedAddresses: tagged ?? null,
    Meta: meta ?? null,
  };
  const withChecks = (checks: CheckFields[]): CatalogRegisterCommand => {
    const cmd: CatalogRegisterCommand = { Type: "catalog-register", Node: node, SkipNodeUpdate: skipNodeUpdate, Checks: checks };
    if (serviceBody) {
      const service = decodeService(serviceBody);
      // A service object without a name or ID registers nothing, as upstream.
      if (service.ID !== "") cmd.Service = service;
    }
    return cmd;
  };
  if (checkBodies.length > CHECKS_IN_ONE_GO) return runSliced(decodeChecksInSteps(checkBodies, nodeName)).then(withChecks);
  return withChecks(checkBodies.map((c) => decodeCheck(c, nodeName)));
}

/** Stands in the list for a check body already decoded. */
const DECODED: JsonObject = Object.freeze({});

/**
 * Decodes `bodies` (a list of our own, filled by checkList), taking each body out of the list
 * as it is decoded: the parsed check is garbage in the turn it is read instead of surviving
 * every scavenge until the last of thousands is decoded (issue 12 item 6). Pauses every
 * CHECKS_PER_STEP checks; runSliced decides whether the turn's budget allows another step.
 */
export function* decodeChecksInSteps(bodies: JsonObject[], nodeName: string): SlicedWork<CheckFields[]> {
  const out: CheckFields[] = [];
  for (let i = 0; i < bodies.length; i++) {
    if (i > 0 && i % CHECKS_PER_STEP === 0) yield;
    const body = bodies[i];
    bodies[i] = DECODED;
    out.push(decodeCheck(body, nodeName));
  }
  return out;
}

export async function decodeCatalogDeregistration(body: Buffer | undefined, agentDc: string): Promise<CatalogDeregisterCommand> {
  const o = asRootObject(await parseJsonBodyInTurns(body), "structs.DeregisterRequest");
  checkDatacenter(o, agentDc);
  const node = str(o, "Node");
  if (node === "") throw rejected("Must provide node");
  const cmd: CatalogDeregisterCommand = { Type: "catalog-deregister", Node: node };
  const serviceId = str(o, "ServiceID");
  const checkId = str(o, "CheckID");
  if (serviceId !== "") cmd.ServiceID = serviceId;
  else if (checkId !== "") cmd.CheckID = checkId;
  return cmd;
}
