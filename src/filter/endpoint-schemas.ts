// Filterable item shapes per endpoint (agent.md §3, §7.2, §8.6; catalog.md §6, §8, §10;
// health.md §4). They follow the Go types Consul hands to go-bexpr: raft indexes and
// enterprise meta are tagged `bexpr:"-"` upstream, so they are not selectable here either.

import { Field } from "./schema.ts";
import type { FilterSchema, StructSchema } from "./schema.ts";

const meshGatewayConfig = Field.struct({ Mode: Field.string });

const upstream = Field.struct({
  DestinationType: Field.string,
  DestinationNamespace: Field.string,
  DestinationPartition: Field.string,
  DestinationPeer: Field.string,
  DestinationName: Field.string,
  Datacenter: Field.string,
  LocalBindAddress: Field.string,
  LocalBindPort: Field.int,
  LocalBindSocketPath: Field.string,
  LocalBindSocketMode: Field.string,
  Config: Field.map(),
  MeshGateway: meshGatewayConfig,
  CentrallyConfigured: Field.bool,
});

const exposePath = Field.struct({
  ListenerPort: Field.int,
  Path: Field.string,
  LocalPathPort: Field.int,
  Protocol: Field.string,
  ParsedFromCheck: Field.bool,
});

const connectProxyConfig = Field.struct({
  DestinationServiceName: Field.string,
  DestinationServiceID: Field.string,
  LocalServiceAddress: Field.string,
  LocalServicePort: Field.int,
  LocalServiceSocketPath: Field.string,
  Mode: Field.string,
  Config: Field.map(),
  Upstreams: Field.list(upstream),
  MeshGateway: meshGatewayConfig,
  Expose: Field.struct({ Checks: Field.bool, Paths: Field.list(exposePath) }),
  TransparentProxy: Field.struct({ OutboundListenerPort: Field.int, DialedDirectly: Field.bool }),
});

const serviceAddress = Field.struct({ Address: Field.string, Port: Field.int });
const weights = Field.struct({ Passing: Field.int, Warning: Field.int });
const serviceConnect = Field.struct({ Native: Field.bool });
const locality = Field.struct({ Region: Field.string, Zone: Field.string });

/** Agent service (`/agent/services` values) and node-service (`/catalog/node/:n` `Services`). */
export const agentServiceSchema: FilterSchema = Field.struct({
  Kind: Field.string,
  ID: Field.string,
  Service: Field.string,
  Tags: Field.list(Field.string),
  Meta: Field.map(Field.string),
  Port: Field.int,
  Address: Field.string,
  SocketPath: Field.string,
  TaggedAddresses: Field.map(serviceAddress),
  Weights: weights,
  EnableTagOverride: Field.bool,
  Proxy: connectProxyConfig,
  Connect: serviceConnect,
  PeerName: Field.string,
  Datacenter: Field.string,
  Locality: locality,
});

/** Node-service as nested in catalog node and health responses; same selectors as the agent's. */
export const nodeServiceSchema: FilterSchema = agentServiceSchema;

const healthCheckDefinition = Field.struct({
  HTTP: Field.string,
  TLSServerName: Field.string,
  TLSSkipVerify: Field.bool,
  Header: Field.map(Field.list(Field.string)),
  Method: Field.string,
  Body: Field.string,
  DisableRedirects: Field.bool,
  TCP: Field.string,
  TCPUseTLS: Field.bool,
  UDP: Field.string,
  H2PING: Field.string,
  H2PingUseTLS: Field.bool,
  OSService: Field.string,
  OutputMaxSize: Field.int,
  ScriptArgs: Field.list(Field.string),
  DockerContainerID: Field.string,
  Shell: Field.string,
  GRPC: Field.string,
  GRPCUseTLS: Field.bool,
  AliasNode: Field.string,
  AliasService: Field.string,
});

/** Health check (`/agent/checks` values, `/health/node|checks|state` items, entry `Checks`). */
export const healthCheckSchema: FilterSchema = Field.struct({
  Node: Field.string,
  CheckID: Field.string,
  Name: Field.string,
  Status: Field.string,
  Notes: Field.string,
  Output: Field.string,
  ServiceID: Field.string,
  ServiceName: Field.string,
  ServiceTags: Field.list(Field.string),
  Type: Field.string,
  Interval: Field.string,
  Timeout: Field.string,
  ExposedPort: Field.int,
  PeerName: Field.string,
  Definition: healthCheckDefinition,
});

/** Agent check: the same object as the health check. */
export const agentCheckSchema: FilterSchema = healthCheckSchema;

/** Catalog node (`/catalog/nodes` items, `Node` of health service entries). */
export const catalogNodeSchema: FilterSchema = Field.struct({
  ID: Field.string,
  Node: Field.string,
  Address: Field.string,
  Datacenter: Field.string,
  TaggedAddresses: Field.map(Field.string),
  Meta: Field.map(Field.string),
  PeerName: Field.string,
  Locality: locality,
});

/** Catalog service-node (`/catalog/service/:s`, `/catalog/connect/:s`, `/catalog/services`). */
export const catalogServiceNodeSchema: FilterSchema = Field.struct({
  ID: Field.string,
  Node: Field.string,
  Address: Field.string,
  Datacenter: Field.string,
  TaggedAddresses: Field.map(Field.string),
  NodeMeta: Field.map(Field.string),
  ServiceKind: Field.string,
  ServiceID: Field.string,
  ServiceName: Field.string,
  ServiceTags: Field.list(Field.string),
  ServiceAddress: Field.string,
  ServiceTaggedAddresses: Field.map(serviceAddress),
  ServiceWeights: weights,
  ServiceMeta: Field.map(Field.string),
  ServicePort: Field.int,
  ServiceSocketPath: Field.string,
  ServiceEnableTagOverride: Field.bool,
  ServiceProxy: connectProxyConfig,
  ServiceConnect: serviceConnect,
  ServiceLocality: locality,
  PeerName: Field.string,
});

/** Health service entry `{Node, Service, Checks}` (`/health/service|connect|ingress/:s`). */
export const healthServiceEntrySchema: FilterSchema = Field.struct({
  Node: catalogNodeSchema,
  Service: nodeServiceSchema,
  Checks: Field.list(healthCheckSchema),
});

/** Gossip member (`/agent/members` items, newer servers). */
export const memberSchema: FilterSchema = Field.struct({
  Name: Field.string,
  Addr: Field.string,
  Port: Field.uint,
  Tags: Field.map(Field.string),
  Status: Field.int,
  ProtocolMin: Field.uint,
  ProtocolMax: Field.uint,
  ProtocolCur: Field.uint,
  DelegateMin: Field.uint,
  DelegateMax: Field.uint,
  DelegateCur: Field.uint,
});

/** Intention (`/v1/connect/intentions?filter=`; spec/connect.md §6.5). */
export const intentionSchema: FilterSchema = Field.struct({
  ID: Field.string,
  Description: Field.string,
  SourcePeer: Field.string,
  SourceSamenessGroup: Field.string,
  SourceNS: Field.string,
  SourceName: Field.string,
  SourcePartition: Field.string,
  DestinationNS: Field.string,
  DestinationName: Field.string,
  DestinationPartition: Field.string,
  SourceType: Field.string,
  Action: Field.string,
  Meta: Field.map(Field.string),
  Precedence: Field.int,
});

/** Every ready-made schema by the endpoint item it describes. */
export const endpointSchemas = {
  agentService: agentServiceSchema,
  agentCheck: agentCheckSchema,
  member: memberSchema,
  catalogNode: catalogNodeSchema,
  catalogServiceNode: catalogServiceNodeSchema,
  nodeService: nodeServiceSchema,
  healthCheck: healthCheckSchema,
  healthServiceEntry: healthServiceEntrySchema,
} as const satisfies Record<string, StructSchema>;

/** Node dump entry (`/v1/internal/ui/nodes`): the node with its services and all its checks. */
export const nodeInfoSchema: FilterSchema = Field.struct({
  ID: Field.string,
  Node: Field.string,
  Address: Field.string,
  TaggedAddresses: Field.map(Field.string),
  Meta: Field.map(Field.string),
  Services: Field.list(nodeServiceSchema),
  Checks: Field.list(healthCheckSchema),
});
