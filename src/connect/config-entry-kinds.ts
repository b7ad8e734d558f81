import { arr, b, ConfigEntryError, durMs, isObj, list, map, n, obj, s, strList, strMap, strs, sub, type Raw, type Shape } from "./config-entry-shape.ts";
import { compileFilter, FilterError } from "../filter/filter.ts";

// The fields and validation (Consul's Validate, agent/structs/config_entry_*.go) of the kinds
// that are stored as configuration for proxies and gateways: mesh, service-resolver,
// service-splitter, service-router, ingress-gateway, terminating-gateway and exported-services.
// Messages are Consul's.

export const MESH = "mesh";
export const SERVICE_RESOLVER = "service-resolver";
export const SERVICE_SPLITTER = "service-splitter";
export const SERVICE_ROUTER = "service-router";
export const INGRESS_GATEWAY = "ingress-gateway";
export const TERMINATING_GATEWAY = "terminating-gateway";
export const EXPORTED_SERVICES = "exported-services";

const ENTERPRISE = { Namespace: "string", Partition: "string" } as const;
const BASE = { Kind: "string", Name: "string", ...ENTERPRISE, Meta: strMap, CreateIndex: "int", ModifyIndex: "int" } as const;

const meshGateway = obj({ Mode: "string" });
const transparentProxy = obj({ OutboundListenerPort: "int", DialedDirectly: "bool" });
const headerMatch = obj({ Name: "string", Present: "bool", Exact: "string", Prefix: "string", Suffix: "string", Contains: "string", Regex: "string", Invert: "bool", IgnoreCase: "bool" });
const headerModifiers = { RequestHeaders: obj({ Add: strMap, Set: strMap, Remove: strList }), ResponseHeaders: obj({ Add: strMap, Set: strMap, Remove: strList }) };
const envoyExtensions = list(obj({ Name: "string", Required: "bool", Arguments: "any", ConsulVersion: "string", EnvoyVersion: "string" }));
const tlsDirectional = obj({ TLSMinVersion: "string", TLSMaxVersion: "string", CipherSuites: strList });
const failoverPolicy = obj({ Mode: "string", Regions: strList });
const rateLimits = obj({ InstanceLevel: obj({ RequestsPerSecond: "int", RequestsMaxBurst: "int", Routes: list(obj({ PathExact: "string", PathPrefix: "string", PathRegex: "string", RequestsPerSecond: "int", RequestsMaxBurst: "int" })) }) });
const exposeConfig = obj({ Checks: "bool", Paths: list(obj({ ListenerPort: "int", Path: "string", LocalPathPort: "int", Protocol: "string" })) });
const upstreamLimits = obj({ MaxConnections: "int", MaxPendingRequests: "int", MaxConcurrentRequests: "int" });
const passiveHealthCheck = obj({ Interval: "duration", MaxFailures: "int", EnforcingConsecutive5xx: "int", MaxEjectionPercent: "int", BaseEjectionTime: "duration" });
const upstreamConfigFields = {
  Name: "string", ...ENTERPRISE, Peer: "string", EnvoyListenerJSON: "string", EnvoyClusterJSON: "string", Protocol: "string", ConnectTimeoutMs: "int",
  Limits: upstreamLimits, PassiveHealthCheck: passiveHealthCheck, MeshGateway: meshGateway, BalanceOutboundConnections: "string",
} as const;

/** Fields of service-defaults and proxy-defaults: stored as configuration for proxies (issue 15). */
export const SERVICE_DEFAULTS_FIELDS: Record<string, Shape> = {
  ...BASE,
  Protocol: "string", Mode: "string", TransparentProxy: transparentProxy, MutualTLSMode: "string", MeshGateway: meshGateway, Expose: exposeConfig,
  ExternalSNI: "string", UpstreamConfig: obj({ Overrides: list(obj(upstreamConfigFields)), Defaults: obj(upstreamConfigFields) }),
  Destination: obj({ Addresses: strList, Port: "int" }), MaxInboundConnections: "int", LocalConnectTimeoutMs: "int", LocalRequestTimeoutMs: "int",
  BalanceInboundConnections: "string", RateLimits: rateLimits, EnvoyExtensions: envoyExtensions,
};

export const PROXY_DEFAULTS_FIELDS: Record<string, Shape> = {
  ...BASE,
  Config: map("any"), Mode: "string", TransparentProxy: transparentProxy, MutualTLSMode: "string", MeshGateway: meshGateway, Expose: exposeConfig,
  AccessLogs: obj({ Enabled: "bool", DisableListenerLogs: "bool", Type: "string", Path: "string", JSONFormat: "string", TextFormat: "string" }),
  EnvoyExtensions: envoyExtensions, FailoverPolicy: failoverPolicy, PrioritizeByLocality: obj({ Mode: "string" }),
};

export const KIND_FIELDS: Record<string, Record<string, Shape>> = {
  [MESH]: {
    ...BASE,
    TransparentProxy: obj({ MeshDestinationsOnly: "bool" }), AllowEnablingPermissiveMutualTLS: "bool", ValidateClusters: "bool",
    TLS: obj({ Incoming: tlsDirectional, Outgoing: tlsDirectional }),
    HTTP: obj({ SanitizeXForwardedClientCert: "bool", Incoming: obj({ RequestNormalization: obj({ InsecureDisablePathNormalization: "bool", MergeSlashes: "bool", PathWithEscapedSlashesAction: "string", HeadersWithUnderscoresAction: "string" }) }) }),
    Peering: obj({ PeerThroughMeshGateways: "bool" }),
  },
  [SERVICE_RESOLVER]: {
    ...BASE,
    DefaultSubset: "string", Subsets: map(obj({ Filter: "string", OnlyPassing: "bool" })),
    Redirect: obj({ Service: "string", ServiceSubset: "string", ...ENTERPRISE, Datacenter: "string", Peer: "string", SamenessGroup: "string" }),
    Failover: map(obj({
      Service: "string", ServiceSubset: "string", Namespace: "string", Datacenters: strList, SamenessGroup: "string", Policy: failoverPolicy,
      Targets: list(obj({ Service: "string", ServiceSubset: "string", ...ENTERPRISE, Datacenter: "string", Peer: "string" })),
    })),
    ConnectTimeout: "duration", RequestTimeout: "duration", PrioritizeByLocality: obj({ Mode: "string" }),
    LoadBalancer: obj({
      Policy: "string", RingHashConfig: obj({ MinimumRingSize: "int", MaximumRingSize: "int" }), LeastRequestConfig: obj({ ChoiceCount: "int" }),
      HashPolicies: list(obj({ Field: "string", FieldValue: "string", CookieConfig: obj({ Session: "bool", TTL: "duration", Path: "string" }), SourceIP: "bool", Terminal: "bool" })),
    }),
  },
  [SERVICE_SPLITTER]: {
    ...BASE,
    Splits: list(obj({ Weight: "number", Service: "string", ServiceSubset: "string", ...ENTERPRISE, ...headerModifiers })),
  },
  [SERVICE_ROUTER]: {
    ...BASE,
    Routes: list(obj({
      Match: obj({ HTTP: obj({ PathExact: "string", PathPrefix: "string", PathRegex: "string", Header: list(headerMatch), QueryParam: list(obj({ Name: "string", Present: "bool", Exact: "string", Regex: "string" })), Methods: strList }) }),
      Destination: obj({
        Service: "string", ServiceSubset: "string", ...ENTERPRISE, PrefixRewrite: "string", RequestTimeout: "duration", IdleTimeout: "duration",
        NumRetries: "int", RetryOnConnectFailure: "bool", RetryOn: strList, RetryOnStatusCodes: list("int"), ...headerModifiers,
      }),
    })),
  },
  [INGRESS_GATEWAY]: {
    ...BASE,
    TLS: obj({ Enabled: "bool", TLSMinVersion: "string", TLSMaxVersion: "string", CipherSuites: strList, SDS: obj({ ClusterName: "string", CertResource: "string" }) }),
    Listeners: list(obj({
      Port: "int", Protocol: "string",
      TLS: obj({ Enabled: "bool", TLSMinVersion: "string", TLSMaxVersion: "string", CipherSuites: strList, SDS: obj({ ClusterName: "string", CertResource: "string" }) }),
      Services: list(obj({
        Name: "string", ...ENTERPRISE, Hosts: strList, TLS: obj({ SDS: obj({ ClusterName: "string", CertResource: "string" }) }), ...headerModifiers,
        MaxConnections: "int", MaxPendingRequests: "int", MaxConcurrentRequests: "int", PassiveHealthCheck: passiveHealthCheck,
      })),
    })),
    Defaults: obj({ MaxConnections: "int", MaxPendingRequests: "int", MaxConcurrentRequests: "int", PassiveHealthCheck: passiveHealthCheck }),
  },
  [TERMINATING_GATEWAY]: {
    ...BASE,
    Services: list(obj({ Name: "string", ...ENTERPRISE, CAFile: "string", CertFile: "string", KeyFile: "string", SNI: "string", DisableAutoHostRewrite: "bool" })),
  },
  [EXPORTED_SERVICES]: {
    ...BASE,
    Services: list(obj({ Name: "string", Namespace: "string", Consumers: list(obj({ Partition: "string", Peer: "string", SamenessGroup: "string" })) })),
  },
};

const fail = (msg: string): never => {
  throw new ConfigEntryError(msg);
};

const TLS_VERSIONS = ["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"];

function validateTls(t: Raw | undefined, where: string): void {
  if (!t) return;
  const min = s(t, "TLSMinVersion");
  const max = s(t, "TLSMaxVersion");
  if (min !== "" && !TLS_VERSIONS.includes(min)) fail(`${where}no matching TLS version found for ${min}`);
  if (max !== "" && !TLS_VERSIONS.includes(max)) fail(`${where}no matching TLS version found for ${max}`);
  if (min !== "" && max !== "" && min !== "TLS_AUTO" && max !== "TLS_AUTO" && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    fail(`${where}configuring max version ${max} less than the configured min version ${min} is invalid`);
  }
  if (strs(t, "CipherSuites").length > 0 && min === "TLSv1_3") {
    fail(`${where}configuring CipherSuites is only applicable to connections negotiated with TLS 1.2 or earlier, TLSMinVersion is set to ${min}`);
  }
}

const SUBSET_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LB_POLICIES = new Set(["", "random", "round_robin", "least_request", "ring_hash", "maglev"]);
const HASH_FIELDS = new Set(["header", "cookie", "query_parameter"]);

function validateResolver(e: Raw): void {
  const subsets = sub(e, "Subsets") ?? {};
  for (const [name, subset] of Object.entries(subsets)) {
    if (name === "") fail("Subset defined with empty name");
    if (!SUBSET_NAME.test(name)) fail(`Subset ${JSON.stringify(name)} is invalid: must be non-empty and contain only lowercase alphanumeric characters or '-'`);
    const filter = s(subset, "Filter");
    if (filter !== "") {
      try {
        compileFilter(filter, {});
      } catch (err) {
        if (err instanceof FilterError) fail(`Filter for subset ${JSON.stringify(name)} is not a valid expression: ${err.message}`);
        throw err;
      }
    }
  }
  const isSubset = (x: string): boolean => Object.hasOwn(subsets, x);
  const def = s(e, "DefaultSubset");
  if (def !== "" && !isSubset(def)) fail(`DefaultSubset ${JSON.stringify(def)} is not a valid subset`);
  const failover = sub(e, "Failover") ?? {};
  const r = sub(e, "Redirect");
  if (r) {
    if (Object.keys(failover).length > 0) fail("Redirect and Failover cannot both be set");
    if (Object.keys(r).length === 0) fail("Redirect is empty");
    const svc = s(r, "Service");
    if (s(r, "Peer") !== "" && s(r, "ServiceSubset") !== "") fail("Redirect.Peer cannot be set with Redirect.ServiceSubset");
    if (s(r, "Peer") !== "" && s(r, "Partition") !== "") fail("Redirect.Partition cannot be set with Redirect.Peer");
    if (s(r, "Peer") !== "" && s(r, "Datacenter") !== "") fail("Redirect.Peer cannot be set with Redirect.Datacenter");
    if (svc === "") {
      for (const k of ["ServiceSubset", "Namespace", "Partition", "Peer"]) if (s(r, k) !== "") fail(`Redirect.${k} defined without Redirect.Service`);
    } else if (s(r, "ServiceSubset") !== "" && svc === s(e, "Name") && !isSubset(s(r, "ServiceSubset"))) {
      fail(`Redirect.ServiceSubset ${JSON.stringify(s(r, "ServiceSubset"))} is not a valid subset of ${JSON.stringify(s(e, "Name"))}`);
    }
    if (s(r, "Peer") !== "" || s(r, "SamenessGroup") !== "") fail("Redirect: peers and sameness groups are not supported by this agent yet");
  }
  for (const [subset, f] of Object.entries(failover)) {
    const prefix = `Bad Failover[${JSON.stringify(subset)}]: `;
    if (subset !== "*" && !isSubset(subset)) fail(`${prefix}not a valid subset subset`);
    const targets = arr(f, "Targets");
    if (s(f, "Service") === "" && s(f, "ServiceSubset") === "" && s(f, "Namespace") === "" && strs(f, "Datacenters").length === 0 && targets.length === 0 && s(f, "SamenessGroup") === "") {
      fail(`${prefix}one of Service, ServiceSubset, Namespace, Targets, SamenessGroup, or Datacenters is required`);
    }
    if (s(f, "SamenessGroup") !== "") fail(`${prefix}sameness groups are not supported by this agent yet`);
    const fs = s(f, "ServiceSubset");
    if (fs !== "" && (s(f, "Service") === "" || s(f, "Service") === s(e, "Name")) && !isSubset(fs)) fail(`${prefix}ServiceSubset ${JSON.stringify(fs)} is not a valid subset of ${JSON.stringify(s(f, "Service"))}`);
    if (strs(f, "Datacenters").length > 0 && targets.length > 0) fail(`Bad Failover[${JSON.stringify(subset)}]: Targets cannot be set with Datacenters`);
    if (fs !== "" && targets.length > 0) fail(`Bad Failover[${JSON.stringify(subset)}]: Targets cannot be set with ServiceSubset`);
    if (s(f, "Service") !== "" && targets.length > 0) fail(`Bad Failover[${JSON.stringify(subset)}]: Targets cannot be set with Service`);
    targets.forEach((t, i) => {
      const tp = `Bad Failover[${JSON.stringify(subset)}].Targets[${i}]: `;
      if (s(t, "Peer") !== "" && s(t, "ServiceSubset") !== "") fail(`${tp}Peer cannot be set with ServiceSubset`);
      if (s(t, "Peer") !== "" && s(t, "Partition") !== "") fail(`${tp}Partition cannot be set with Peer`);
      if (s(t, "Peer") !== "" && s(t, "Datacenter") !== "") fail(`${tp}Peer cannot be set with Datacenter`);
      if (s(t, "Partition") !== "" && s(t, "Datacenter") !== "") fail(`${tp}Partition cannot be set with Datacenter`);
      if (s(t, "ServiceSubset") !== "" && (s(t, "Service") === "" || s(t, "Service") === s(e, "Name")) && !isSubset(s(t, "ServiceSubset"))) {
        fail(`${tp}ServiceSubset ${JSON.stringify(s(t, "ServiceSubset"))} is not a valid subset of ${JSON.stringify(s(e, "Name"))}`);
      }
      if (s(t, "Peer") !== "") fail(`${tp}peers are not supported by this agent yet`);
    });
    for (const dc of strs(f, "Datacenters")) if (dc === "") fail(`Bad Failover[${JSON.stringify(subset)}].Datacenters: found empty datacenter`);
  }
  if (durMs(e, "ConnectTimeout") < 0) fail(`Bad ConnectTimeout '${s(e, "ConnectTimeout")}', must be >= 0`);
  if (durMs(e, "RequestTimeout") < 0) fail(`Bad RequestTimeout '${s(e, "RequestTimeout")}', must be >= 0`);
  const lb = sub(e, "LoadBalancer");
  if (lb) {
    const policy = s(lb, "Policy");
    if (!LB_POLICIES.has(policy)) fail(`Bad LoadBalancer policy: ${JSON.stringify(policy)} is not supported`);
    if (policy !== "ring_hash" && sub(lb, "RingHashConfig")) fail(`Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
    if (policy !== "least_request" && sub(lb, "LeastRequestConfig")) fail(`Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
    const hashBased = policy === "ring_hash" || policy === "maglev";
    if (!hashBased && arr(lb, "HashPolicies").length > 0) fail(`Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: ${JSON.stringify(policy)}`);
    arr(lb, "HashPolicies").forEach((hp, i) => {
      const field = s(hp, "Field");
      const p = `Bad LoadBalancer HashPolicy[${i}]: `;
      if (field !== "" && !HASH_FIELDS.has(field)) fail(`${p}${JSON.stringify(field)} is not a supported field`);
      if (b(hp, "SourceIP") && field !== "") fail(`${p}A single hash policy cannot hash both a source address and a ${JSON.stringify(field)}`);
      if (b(hp, "SourceIP") && s(hp, "FieldValue") !== "") fail(`${p}A FieldValue cannot be specified when hashing SourceIP`);
      if (field !== "" && s(hp, "FieldValue") === "") fail(`${p}Field ${JSON.stringify(field)} was specified without a FieldValue`);
      if (s(hp, "FieldValue") !== "" && field === "") fail(`${p}FieldValue requires a Field to apply to`);
      const cookie = sub(hp, "CookieConfig");
      if (cookie && field !== "cookie") fail(`${p}cookie_config provided for ${JSON.stringify(field)}`);
      if (cookie && b(cookie, "Session") && s(cookie, "TTL") !== "") fail(`${p}a session cookie cannot have an associated TTL`);
    });
  }
}

function validateSplitter(e: Raw): void {
  const splits = arr(e, "Splits");
  if (splits.length === 0) fail("no splits configured");
  const seen = new Set<string>();
  let sumScaled = 0;
  for (const split of splits) {
    const svc = s(split, "Service") || s(e, "Name");
    const key = `${svc}\u0000${s(split, "ServiceSubset")}`;
    if (seen.has(key)) fail(`split destination occurs more than once: service=${JSON.stringify(svc)}, subset=${JSON.stringify(s(split, "ServiceSubset"))}, namespace="", partition=""`);
    seen.add(key);
    // Consul's Normalize: weights are kept to 0.01 and always present.
    const scaled = Math.round(n(split, "Weight") * 100);
    sumScaled += scaled;
    const { Weight: _weight, ...rest } = split;
    for (const k of Object.keys(split)) delete split[k];
    Object.assign(split, { Weight: scaled / 100 }, rest);
  }
  if (sumScaled !== 10000) fail(`the sum of all split weights must be 100, not ${(sumScaled / 100).toFixed(6)}`);
}

const RETRY_ON = new Set(["5xx", "gateway-error", "reset", "connect-failure", "envoy-ratelimited", "retriable-4xx", "refused-stream", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"]);
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

function validateRouter(e: Raw): void {
  arr(e, "Routes").forEach((route, i) => {
    const http = sub(sub(route, "Match"), "HTTP");
    const p = `Route[${i}]`;
    if (http) {
      const paths = ["PathExact", "PathPrefix", "PathRegex"].filter((k) => s(http, k) !== "");
      if (paths.length > 1) fail(`${p} should only contain at most one of PathExact, PathPrefix, or PathRegex`);
      if (s(http, "PathExact") !== "" && !s(http, "PathExact").startsWith("/")) fail(`${p} PathExact doesn't start with '/': ${JSON.stringify(s(http, "PathExact"))}`);
      if (s(http, "PathPrefix") !== "" && !s(http, "PathPrefix").startsWith("/")) fail(`${p} PathPrefix doesn't start with '/': ${JSON.stringify(s(http, "PathPrefix"))}`);
      arr(http, "Header").forEach((h, j) => {
        if (s(h, "Name") === "") fail(`${p} Header[${j}] missing required Name field`);
        const set = ["Present", "Exact", "Prefix", "Suffix", "Contains", "Regex"].filter((k) => (k === "Present" ? b(h, k) : s(h, k) !== ""));
        if (set.length !== 1) fail(`${p} Header[${j}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`);
      });
      arr(http, "QueryParam").forEach((q, j) => {
        if (s(q, "Name") === "") fail(`${p} QueryParam[${j}] missing required Name field`);
        const set = ["Present", "Exact", "Regex"].filter((k) => (k === "Present" ? b(q, k) : s(q, k) !== ""));
        if (set.length !== 1) fail(`${p} QueryParam[${j}] should only contain one of Present, Exact, or Regex`);
      });
      const seen = new Set<string>();
      for (const m of strs(http, "Methods")) {
        if (!METHODS.has(m)) fail(`${p} Methods contains an invalid method ${JSON.stringify(m)}`);
        if (seen.has(m)) fail(`${p} Methods contains ${JSON.stringify(m)} more than once`);
        seen.add(m);
      }
    }
    const dest = sub(route, "Destination");
    if (dest && s(dest, "PrefixRewrite") !== "" && s(http, "PathPrefix") === "" && s(http, "PathExact") === "") {
      fail(`${p} cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix`);
    }
    for (const r of strs(dest, "RetryOn")) if (!RETRY_ON.has(r)) fail(`${p} contains an invalid retry condition: ${JSON.stringify(r)}`);
  });
}

const GATEWAY_PROTOCOLS = ["tcp", "http", "http2", "grpc"];

function validateIngress(e: Raw): void {
  validateTls(sub(e, "TLS"), "TLS.");
  const ports = new Set<number>();
  const tlsEnabled = b(sub(e, "TLS"), "Enabled");
  for (const listener of arr(e, "Listeners")) {
    const port = n(listener, "Port");
    // Consul's Normalize: an empty protocol is tcp, protocols are lower case.
    const protocol = (s(listener, "Protocol") || "tcp").toLowerCase();
    listener.Protocol = protocol;
    if (ports.has(port)) fail(`port ${port} declared on two listeners`);
    ports.add(port);
    if (!GATEWAY_PROTOCOLS.includes(protocol)) fail(`protocol must be 'tcp', 'http', 'http2', or 'grpc'. '${protocol}' is an unsupported protocol`);
    const services = arr(listener, "Services");
    if (services.length === 0) fail(`No service declared for listener with port ${port}`);
    if (!["http", "http2", "grpc"].includes(protocol) && services.length > 1) {
      fail(`Multiple services per listener are only supported for L7 protocols, 'http', 'grpc' and 'http2' (listener on port ${port})`);
    }
    validateTls(sub(listener, "TLS"), "");
    const names = new Set<string>();
    const hosts = new Set<string>();
    for (const svc of services) {
      const name = s(svc, "Name");
      if (protocol === "tcp") {
        if (name === "*") fail(`Wildcard service name is only valid for protocol = 'http' (listener on port ${port})`);
        if (strs(svc, "Hosts").length > 0) fail(`Associating hosts to a service is not supported for the ${protocol} protocol (listener on port ${port})`);
      }
      if (name === "") fail(`Service name cannot be blank (listener on port ${port})`);
      if (name === "*" && strs(svc, "Hosts").length > 0) fail(`Associating hosts to a wildcard service is not supported (listener on port ${port})`);
      if (s(svc, "Namespace") === "*") fail(`Wildcard namespace is not supported for ingress services (listener on port ${port})`);
      if (names.has(name)) fail(`Service ${name} cannot be added multiple times (listener on port ${port})`);
      names.add(name);
      for (const host of strs(svc, "Hosts")) {
        if (hosts.has(host)) fail(`Hosts must be unique within a specific listener (listener on port ${port})`);
        hosts.add(host);
        if (host === "*") {
          if (tlsEnabled) fail("Host '*' is not allowed when TLS is enabled, all hosts must be valid DNS records to add as a DNSSAN");
          continue;
        }
        if (!/^[A-Za-z0-9*_-]+(\.[A-Za-z0-9*_-]+)*\.?$/.test(host) || host.length > 255) fail(`Host ${JSON.stringify(host)} must be a valid DNS hostname`);
        if (host.replace(/^\*\./, "").includes("*")) fail(`Host ${JSON.stringify(host)} is not valid, a wildcard specifier is only allowed as the leftmost label`);
      }
    }
  }
}

function validateTerminating(e: Raw): void {
  const seen = new Set<string>();
  for (const svc of arr(e, "Services")) {
    const name = s(svc, "Name");
    if (name === "") fail("Service name cannot be blank.");
    if (s(svc, "Namespace") === "*") fail("Wildcard namespace is not supported for terminating gateway services");
    if (seen.has(name)) fail(`Service ${JSON.stringify(name)} was specified more than once within a namespace`);
    seen.add(name);
    const ca = s(svc, "CAFile");
    const cert = s(svc, "CertFile");
    const key = s(svc, "KeyFile");
    // Only a CAFile is one-way TLS; a client certificate needs all three.
    if ((cert !== "" || key !== "") && !(ca !== "" && cert !== "" && key !== "")) fail(`Service ${JSON.stringify(name)} must have a CertFile, CAFile, and KeyFile specified for TLS origination`);
  }
}

function validateExported(e: Raw): void {
  if (s(e, "Name") !== "default") fail(`exported-services Name must be "default"`);
  arr(e, "Services").forEach((svc, i) => {
    if (s(svc, "Name") === "") fail("service name cannot be empty");
    const consumers = arr(svc, "Consumers");
    if (consumers.length === 0) fail(`service ${JSON.stringify(s(svc, "Name"))} must have at least one consumer`);
    consumers.forEach((c, j) => {
      const set = ["Partition", "Peer", "SamenessGroup"].filter((k) => s(c, k) !== "");
      if (set.length > 1) fail(`Services[${i}].Consumers[${j}]: must define at most one of Peer, Partition, or SamenessGroup`);
      if (set.length === 0) fail(`Services[${i}].Consumers[${j}]: must define one of Peer, Partition, or SamenessGroup`);
      if (s(c, "Partition") === "*") fail("exporting to all partitions (wildcard) is not yet supported");
      if (s(c, "Partition") !== "" && s(c, "Partition") !== "default") fail(`Services[${i}].Consumers[${j}]: Partitions are a Consul Enterprise feature`);
    });
  });
}

function validateMesh(e: Raw): void {
  if (s(e, "Name") !== "mesh") fail(`invalid name (${JSON.stringify(s(e, "Name"))}), only "mesh" is supported`);
  const tls = sub(e, "TLS");
  validateTls(sub(tls, "Incoming"), "error in incoming TLS configuration: ");
  validateTls(sub(tls, "Outgoing"), "error in outgoing TLS configuration: ");
  const norm = sub(sub(sub(e, "HTTP"), "Incoming"), "RequestNormalization");
  const escaped = s(norm, "PathWithEscapedSlashesAction");
  const prefix = "error in HTTP incoming request normalization configuration: ";
  const actions = ["IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT", "UNESCAPE_AND_FORWARD"];
  if (escaped !== "" && !actions.includes(escaped)) fail(`${prefix}no matching PathWithEscapedSlashesAction value found for ${escaped}, please specify one of [${actions.join(", ")}]`);
  const underscores = s(norm, "HeadersWithUnderscoresAction");
  const underscoreActions = ["ALLOW", "REJECT_REQUEST", "DROP_HEADER"];
  if (underscores !== "" && !underscoreActions.includes(underscores)) fail(`${prefix}no matching HeadersWithUnderscoresAction value found for ${underscores}, please specify one of [${underscoreActions.join(", ")}]`);
}

/** Validates a decoded entry of one of this module's kinds (Name is set). */
export function validateKind(kind: string, e: Raw): void {
  if (kind !== MESH && kind !== EXPORTED_SERVICES && s(e, "Name") === "") fail("Name is required");
  if (kind !== MESH && kind !== EXPORTED_SERVICES && s(e, "Name") === "*") fail(`${kind} name must not be a wildcard`);
  switch (kind) {
    case MESH:
      return validateMesh(e);
    case SERVICE_RESOLVER:
      return validateResolver(e);
    case SERVICE_SPLITTER:
      return validateSplitter(e);
    case SERVICE_ROUTER:
      return validateRouter(e);
    case INGRESS_GATEWAY:
      return validateIngress(e);
    case TERMINATING_GATEWAY:
      return validateTerminating(e);
    case EXPORTED_SERVICES:
      return validateExported(e);
  }
}

export { isObj };
