import { emptyCheckDefinition, type CheckDefinition } from "../checks/definition.ts";
import { errors } from "../errors/catalog.ts";
import { bool, durationMs, field, int, isObject, list, str, type JsonObject } from "../decode/json-body.ts";

// Decodes a check definition as /v1/agent/check/register, the `Check`/`Checks` of a service
// registration and config files (`check`/`checks`) send it: keys case-insensitive, with the
// snake_case aliases Consul's decoder translates (agent.md §8.3, agent-config.md §5).

function header(o: JsonObject): Record<string, string[]> {
  const raw = field(o, "Header");
  if (raw === undefined) return {};
  if (!isObject(raw)) throw errors.decodeFailed("json: cannot unmarshal into Go struct field .Header of type map[string][]string");
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "string") out[k] = [v];
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) out[k] = v as string[];
    else if (v !== null) throw errors.decodeFailed(`json: cannot unmarshal into Go struct field .Header of type []string`);
  }
  return out;
}

function scriptArgs(o: JsonObject): string[] {
  const raw = list(o, "ScriptArgs", "Args", "script_args");
  if (raw === undefined) return [];
  if (raw.some((x) => typeof x !== "string")) throw errors.decodeFailed("json: cannot unmarshal into Go struct field .ScriptArgs of type []string");
  return raw as string[];
}

export function decodeCheckDefinition(o: JsonObject): CheckDefinition {
  const d = emptyCheckDefinition();
  d.id = str(o, "ID", "CheckID", "check_id");
  d.name = str(o, "Name");
  d.serviceId = str(o, "ServiceID", "service_id");
  d.status = str(o, "Status");
  d.notes = str(o, "Notes");
  d.token = str(o, "Token");
  d.intervalMs = durationMs(o, "Interval");
  d.timeoutMs = durationMs(o, "Timeout");
  d.ttlMs = durationMs(o, "TTL");
  d.deregisterCriticalServiceAfterMs = durationMs(o, "DeregisterCriticalServiceAfter", "deregister_critical_service_after");
  d.http = str(o, "HTTP");
  d.method = str(o, "Method");
  d.header = header(o);
  d.body = str(o, "Body");
  d.disableRedirects = bool(o, "DisableRedirects", "disable_redirects");
  d.tlsServerName = str(o, "TLSServerName", "tls_server_name");
  d.tlsSkipVerify = bool(o, "TLSSkipVerify", "tls_skip_verify");
  d.tcp = str(o, "TCP");
  d.tcpUseTls = bool(o, "TCPUseTLS", "tcp_use_tls");
  d.udp = str(o, "UDP");
  d.grpc = str(o, "GRPC");
  d.grpcUseTls = bool(o, "GRPCUseTLS", "grpc_use_tls");
  d.h2ping = str(o, "H2PING", "h2ping");
  if (field(o, "H2PingUseTLS", "h2ping_use_tls") !== undefined) d.h2pingUseTls = bool(o, "H2PingUseTLS", "h2ping_use_tls");
  d.scriptArgs = scriptArgs(o);
  d.dockerContainerId = str(o, "DockerContainerID", "docker_container_id");
  d.shell = str(o, "Shell");
  d.aliasNode = str(o, "AliasNode", "alias_node");
  d.aliasService = str(o, "AliasService", "alias_service");
  d.osService = str(o, "OSService", "os_service");
  d.successBeforePassing = int(o, "SuccessBeforePassing", "success_before_passing");
  d.failuresBeforeWarning = int(o, "FailuresBeforeWarning", "failures_before_warning");
  d.failuresBeforeCritical = int(o, "FailuresBeforeCritical", "failures_before_critical");
  d.outputMaxSize = int(o, "OutputMaxSize", "output_max_size");
  return d;
}

/** An all-zero `Check` object inside a service registration is ignored (CheckType.Empty). */
export function isEmptyCheckDefinition(d: CheckDefinition): boolean {
  return JSON.stringify(d) === JSON.stringify(emptyCheckDefinition());
}
