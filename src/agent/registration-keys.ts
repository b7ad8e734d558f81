import { errors } from "../errors/catalog.ts";
import { isObject, type JsonObject } from "../decode/json-body.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// The field names a service or check registration may carry, and the unknown-field refusal of
// the agent endpoints. Consul 1.20 decodes these bodies with encoding/json's
// DisallowUnknownFields (lib.DecodeJSON, and lib.UnmarshalJSON inside each custom
// UnmarshalJSON), matching keys case-insensitively; an unknown key is
// 400 `Request decode failed: json: unknown field "<key>"`, reported for the first one in
// document order, depth first. `Connect` is the exception: ServiceConnect.UnmarshalJSON uses
// plain json.Unmarshal, so unknown keys inside it are ignored.
//
// Known names are Consul's Go field names, the snake_case spellings its UnmarshalJSON methods
// translate (enable_tag_override, tagged_addresses, sidecar_service, destination_service_name,
// local_bind_port, tls_skip_verify, …), and the snake_case keys of service-definition files
// (success_before_passing, alias_service, …), which name the same fields: one table serves the
// HTTP API and config files alike, and a key is never refused for being spelled the file way.

/** How the keys of one JSON object are checked. */
export interface Shape {
  /** Folded (lower-case) key → the shape of its value; `null` = any value (scalars, opaque maps). */
  readonly keys: ReadonlyMap<string, ShapeOf | null>;
  /** Unknown keys are ignored instead of refused. */
  readonly lenient?: boolean;
}

/** A value's shape: an object, a list of objects, or a map of objects. */
export type ShapeOf = { object: Shape } | { list: Shape } | { map: Shape } | { lazy: () => ShapeOf };

function shape(entries: Record<string, ShapeOf | null>, lenient = false): Shape {
  return { keys: new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v])), lenient };
}

/** The same value shape under several names (Go field name and its snake_case spellings). */
function names(spellings: string[], value: ShapeOf | null): Record<string, ShapeOf | null> {
  return Object.fromEntries(spellings.map((n) => [n, value]));
}

const any = null;
const ENTERPRISE = names(["Namespace", "Partition"], any);

const MESH_GATEWAY: ShapeOf = { object: shape({ Mode: any }) };

const CHECK_SHAPE = shape({
  ...names(["CheckID", "ID", "check_id"], any),
  Name: any,
  Status: any,
  Notes: any,
  Token: any,
  ...names(["ServiceID", "service_id"], any),
  ...names(["ScriptArgs", "Args", "script_args"], any),
  HTTP: any,
  H2PING: any,
  ...names(["H2PingUseTLS", "h2ping_use_tls"], any),
  Header: any,
  Method: any,
  Body: any,
  ...names(["DisableRedirects", "disable_redirects"], any),
  TCP: any,
  ...names(["TCPUseTLS", "tcp_use_tls"], any),
  UDP: any,
  Interval: any,
  ...names(["AliasNode", "alias_node"], any),
  ...names(["AliasService", "alias_service"], any),
  ...names(["DockerContainerID", "docker_container_id"], any),
  Shell: any,
  GRPC: any,
  ...names(["GRPCUseTLS", "grpc_use_tls"], any),
  ...names(["OSService", "os_service"], any),
  ...names(["TLSServerName", "tls_server_name"], any),
  ...names(["TLSSkipVerify", "tls_skip_verify"], any),
  Timeout: any,
  TTL: any,
  ...names(["SuccessBeforePassing", "success_before_passing"], any),
  ...names(["FailuresBeforeWarning", "failures_before_warning"], any),
  ...names(["FailuresBeforeCritical", "failures_before_critical"], any),
  ProxyHTTP: any,
  ProxyGRPC: any,
  ...names(["DeregisterCriticalServiceAfter", "deregister_critical_service_after"], any),
  ...names(["OutputMaxSize", "output_max_size"], any),
  ...ENTERPRISE,
});

const UPSTREAM_SHAPE = shape({
  ...names(["DestinationType", "destination_type"], any),
  ...names(["DestinationNamespace", "destination_namespace"], any),
  ...names(["DestinationPartition", "destination_partition"], any),
  ...names(["DestinationPeer", "destination_peer"], any),
  ...names(["DestinationName", "destination_name"], any),
  Datacenter: any,
  ...names(["LocalBindAddress", "local_bind_address"], any),
  ...names(["LocalBindPort", "local_bind_port"], any),
  ...names(["LocalBindSocketPath", "local_bind_socket_path"], any),
  ...names(["LocalBindSocketMode", "local_bind_socket_mode"], any),
  Config: any,
  ...names(["MeshGateway", "mesh_gateway"], MESH_GATEWAY),
  ...names(["CentrallyConfigured", "centrally_configured"], any),
});

const EXPOSE_PATH_SHAPE = shape({
  ...names(["ListenerPort", "listener_port"], any),
  Path: any,
  ...names(["LocalPathPort", "local_path_port"], any),
  Protocol: any,
  ...names(["ParsedFromCheck", "parsed_from_check"], any),
});

const PROXY_SHAPE = shape({
  ...names(["EnvoyExtensions", "envoy_extensions"], any),
  ...names(["DestinationServiceName", "destination_service_name"], any),
  ...names(["DestinationServiceID", "destination_service_id"], any),
  ...names(["LocalServiceAddress", "local_service_address"], any),
  ...names(["LocalServicePort", "local_service_port"], any),
  ...names(["LocalServiceSocketPath", "local_service_socket_path"], any),
  Mode: any,
  Config: any,
  Upstreams: { list: UPSTREAM_SHAPE },
  ...names(["MeshGateway", "mesh_gateway"], MESH_GATEWAY),
  Expose: { object: shape({ Checks: any, Paths: { list: EXPOSE_PATH_SHAPE } }) },
  ...names(["TransparentProxy", "transparent_proxy"], {
    object: shape({
      ...names(["OutboundListenerPort", "outbound_listener_port"], any),
      ...names(["DialedDirectly", "dialed_directly"], any),
    }),
  }),
  ...names(["AccessLogs", "access_logs"], {
    object: shape({
      Enabled: any,
      ...names(["DisableListenerLogs", "disable_listener_logs"], any),
      Type: any,
      Path: any,
      ...names(["JSONFormat", "json_format"], any),
      ...names(["TextFormat", "text_format"], any),
    }),
  }),
});

const SERVICE_SHAPE: Shape = shape({
  Kind: any,
  ID: any,
  Name: any,
  Tags: any,
  Address: any,
  ...names(["TaggedAddresses", "tagged_addresses"], { map: shape({ Address: any, Port: any }) }),
  Meta: any,
  Port: any,
  ...names(["SocketPath", "socket_path"], any),
  Check: { object: CHECK_SHAPE },
  Checks: { list: CHECK_SHAPE },
  Weights: { object: shape({ Passing: any, Warning: any }) },
  Token: any,
  ...names(["EnableTagOverride", "enable_tag_override"], any),
  Locality: { object: shape({ Region: any, Zone: any }) },
  Proxy: { object: PROXY_SHAPE },
  Connect: {
    object: shape(
      {
        Native: any,
        ...names(["SidecarService", "sidecar_service"], { lazy: () => ({ object: SERVICE_SHAPE }) }),
        PeerMeta: any,
      },
      true,
    ),
  },
  ...ENTERPRISE,
});

/** A service registration (structs.ServiceDefinition). */
export const SERVICE_REGISTRATION_SHAPE: Shape = SERVICE_SHAPE;
/** A check registration (structs.CheckDefinition / CheckType). */
export const CHECK_REGISTRATION_SHAPE: Shape = CHECK_SHAPE;
/** The body of PUT /v1/agent/check/update/:id (agent.checkUpdate, strictly decoded upstream too). */
export const CHECK_UPDATE_SHAPE: Shape = shape({ Status: any, Output: any });

function resolve(of: ShapeOf): Exclude<ShapeOf, { lazy: () => ShapeOf }> {
  return "lazy" in of ? resolve(of.lazy()) : of;
}

function* walk(value: unknown, of: ShapeOf): SlicedWork<void> {
  const s = resolve(of);
  if ("object" in s) {
    if (isObject(value)) yield* refuseUnknownKeysSteps(value, s.object);
  } else if ("list" in s) {
    // A pause after each element: a registration at the body cap lists ~5,000 checks.
    if (Array.isArray(value)) {
      for (const item of value) {
        if (isObject(item)) yield* refuseUnknownKeysSteps(item, s.list);
        yield;
      }
    }
  } else if (isObject(value)) {
    for (const item of Object.values(value)) if (isObject(item)) yield* refuseUnknownKeysSteps(item, s.map);
  }
}

/**
 * Throws Consul's decode error for the first key (document order, depth first) that the shape
 * does not know. Type errors are left to the decoder.
 */
export function refuseUnknownKeys(o: JsonObject, s: Shape): void {
  runWhole(refuseUnknownKeysSteps(o, s));
}

/** refuseUnknownKeys as SlicedWork, pausing between the elements of lists (runtime/sliced-work.ts). */
export function* refuseUnknownKeysSteps(o: JsonObject, s: Shape): SlicedWork<void> {
  for (const [key, value] of Object.entries(o)) {
    const folded = key.toLowerCase();
    if (!s.keys.has(folded)) {
      if (s.lenient) continue;
      throw errors.decodeFailed(`json: unknown field ${JSON.stringify(key)}`);
    }
    const child = s.keys.get(folded);
    if (child && value !== null) yield* walk(value, child);
  }
}
