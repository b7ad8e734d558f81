import type { CheckStatus } from "../model/catalog.ts";
import { formatGoDuration } from "../model/duration.ts";

// What a check *is* (Consul's structs.CheckType): the decoded definition the agent keeps and
// a runner is started from. Durations are milliseconds; 0 means unset.

export const CHECK_KINDS = ["grpc", "http", "ttl", "tcp", "udp", "alias", "docker", "script", "h2ping", "os_service"] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export interface CheckDefinition {
  /** CheckID; "" means "derive it" (name for node checks, `service:<id>[:n]` inside a service). */
  id: string;
  name: string;
  serviceId: string;
  /** Initial status; "" = critical. Validated by the caller. */
  status: string;
  notes: string;
  token: string;
  intervalMs: number;
  timeoutMs: number;
  ttlMs: number;
  deregisterCriticalServiceAfterMs: number;
  http: string;
  method: string;
  header: Record<string, string[]>;
  body: string;
  disableRedirects: boolean;
  tlsServerName: string;
  tlsSkipVerify: boolean;
  tcp: string;
  tcpUseTls: boolean;
  udp: string;
  grpc: string;
  grpcUseTls: boolean;
  h2ping: string;
  h2pingUseTls: boolean;
  scriptArgs: string[];
  dockerContainerId: string;
  shell: string;
  aliasNode: string;
  aliasService: string;
  osService: string;
  successBeforePassing: number;
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
  outputMaxSize: number;
}

export function emptyCheckDefinition(): CheckDefinition {
  return {
    id: "",
    name: "",
    serviceId: "",
    status: "",
    notes: "",
    token: "",
    intervalMs: 0,
    timeoutMs: 0,
    ttlMs: 0,
    deregisterCriticalServiceAfterMs: 0,
    http: "",
    method: "",
    header: {},
    body: "",
    disableRedirects: false,
    tlsServerName: "",
    tlsSkipVerify: false,
    tcp: "",
    tcpUseTls: false,
    udp: "",
    grpc: "",
    grpcUseTls: false,
    h2ping: "",
    // Consul defaults H2PING checks to TLS.
    h2pingUseTls: true,
    scriptArgs: [],
    dockerContainerId: "",
    shell: "",
    aliasNode: "",
    aliasService: "",
    osService: "",
    successBeforePassing: 0,
    failuresBeforeWarning: 0,
    failuresBeforeCritical: 0,
    outputMaxSize: 0,
  };
}

const isScript = (d: CheckDefinition): boolean => d.scriptArgs.length > 0;
const isAlias = (d: CheckDefinition): boolean => d.aliasNode !== "" || d.aliasService !== "";

/** The check's kind, by Consul's precedence (CheckType.Type); undefined when nothing matches. */
export function checkKind(d: CheckDefinition): CheckKind | undefined {
  if (d.grpc !== "" && d.intervalMs > 0) return "grpc";
  if (d.http !== "" && d.intervalMs > 0) return "http";
  if (d.ttlMs > 0) return "ttl";
  if (d.tcp !== "" && d.intervalMs > 0) return "tcp";
  if (d.udp !== "" && d.intervalMs > 0) return "udp";
  if (isAlias(d)) return "alias";
  if (isScript(d) && d.dockerContainerId !== "" && d.intervalMs > 0) return "docker";
  if (isScript(d) && d.intervalMs > 0) return "script";
  if (d.h2ping !== "" && d.intervalMs > 0) return "h2ping";
  if (d.osService !== "" && d.intervalMs > 0) return "os_service";
  return undefined;
}

/** Script and docker checks run commands on this host, so the agent config must allow them. */
export function runsScripts(d: CheckDefinition): boolean {
  return isScript(d);
}

/** CheckType.Validate: the reason the definition is unusable, or undefined. */
export function checkDefinitionProblem(d: CheckDefinition): string | undefined {
  const intervalCheck = isScript(d) || d.http !== "" || d.tcp !== "" || d.udp !== "" || d.grpc !== "" || d.h2ping !== "" || d.osService !== "";
  if (d.intervalMs > 0 && d.ttlMs > 0) return "Interval and TTL cannot both be specified";
  if (intervalCheck && d.intervalMs <= 0) return "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or gRPC checks";
  if (intervalCheck && isAlias(d)) return "Interval cannot be set for Alias checks";
  if (isAlias(d) && d.ttlMs > 0) return "TTL must be not be set for Alias checks";
  if (!intervalCheck && !isAlias(d) && d.ttlMs <= 0) return "TTL must be > 0 for TTL checks";
  if (d.outputMaxSize < 0) return "MaxOutputMaxSize must be positive";
  return undefined;
}

/**
 * The `Definition` object of a health check: only non-zero fields, durations as Go strings
 * (newer Consul's omitempty encoding; clients also accept the older all-fields form).
 */
export function definitionView(d: CheckDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown, present: boolean): void => {
    if (present) out[key] = value;
  };
  put("HTTP", d.http, d.http !== "");
  put("TLSServerName", d.tlsServerName, d.tlsServerName !== "");
  put("TLSSkipVerify", true, d.tlsSkipVerify);
  put("Header", d.header, Object.keys(d.header).length > 0);
  put("Method", d.method, d.method !== "");
  put("Body", d.body, d.body !== "");
  put("DisableRedirects", true, d.disableRedirects);
  put("TCP", d.tcp, d.tcp !== "");
  put("TCPUseTLS", true, d.tcpUseTls);
  put("UDP", d.udp, d.udp !== "");
  put("H2PING", d.h2ping, d.h2ping !== "");
  put("H2PingUseTLS", true, d.h2ping !== "" && d.h2pingUseTls);
  put("OSService", d.osService, d.osService !== "");
  put("Interval", formatGoDuration(d.intervalMs), d.intervalMs > 0);
  put("OutputMaxSize", d.outputMaxSize, d.outputMaxSize > 0);
  put("Timeout", formatGoDuration(d.timeoutMs), d.timeoutMs > 0);
  put("DeregisterCriticalServiceAfter", formatGoDuration(d.deregisterCriticalServiceAfterMs), d.deregisterCriticalServiceAfterMs > 0);
  put("ScriptArgs", d.scriptArgs, d.scriptArgs.length > 0);
  put("DockerContainerID", d.dockerContainerId, d.dockerContainerId !== "");
  put("Shell", d.shell, d.shell !== "");
  put("GRPC", d.grpc, d.grpc !== "");
  put("GRPCUseTLS", true, d.grpcUseTls);
  put("AliasNode", d.aliasNode, d.aliasNode !== "");
  put("AliasService", d.aliasService, d.aliasService !== "");
  put("TTL", formatGoDuration(d.ttlMs), d.ttlMs > 0);
  return out;
}

/** Initial status of a freshly registered check. */
export function initialStatus(d: CheckDefinition): CheckStatus {
  return d.status === "passing" || d.status === "warning" ? d.status : "critical";
}

/**
 * The definition as Consul's structs.CheckType encodes to JSON (durations as integer
 * nanoseconds), the `ChkType` of a persisted check file; decodeCheckDefinition reads it back.
 */
export function checkTypeJson(d: CheckDefinition): Record<string, unknown> {
  const ns = (ms: number): number => Math.round(ms * 1e6);
  return {
    CheckID: d.id,
    Name: d.name,
    Status: d.status,
    Notes: d.notes,
    ScriptArgs: d.scriptArgs.length > 0 ? [...d.scriptArgs] : null,
    HTTP: d.http,
    H2PING: d.h2ping,
    H2PingUseTLS: d.h2pingUseTls,
    Header: Object.keys(d.header).length > 0 ? d.header : null,
    Method: d.method,
    Body: d.body,
    DisableRedirects: d.disableRedirects,
    TCP: d.tcp,
    TCPUseTLS: d.tcpUseTls,
    UDP: d.udp,
    OSService: d.osService,
    Interval: ns(d.intervalMs),
    AliasNode: d.aliasNode,
    AliasService: d.aliasService,
    DockerContainerID: d.dockerContainerId,
    Shell: d.shell,
    GRPC: d.grpc,
    GRPCUseTLS: d.grpcUseTls,
    TLSServerName: d.tlsServerName,
    TLSSkipVerify: d.tlsSkipVerify,
    Timeout: ns(d.timeoutMs),
    TTL: ns(d.ttlMs),
    SuccessBeforePassing: d.successBeforePassing,
    FailuresBeforeWarning: d.failuresBeforeWarning,
    FailuresBeforeCritical: d.failuresBeforeCritical,
    DeregisterCriticalServiceAfter: ns(d.deregisterCriticalServiceAfterMs),
    OutputMaxSize: d.outputMaxSize,
  };
}
