// One catalog of every error a client can see: a stable code, the HTTP status and Consul's
// exact message text (clients match on it, so it is kept byte for byte).

export const ERROR_CODES = {
  BadRequest: 400,
  InvalidIndex: 400,
  InvalidWait: 400,
  ConflictingConsistency: 400,
  DecodeFailed: 400,
  MissingKey: 400,
  ConflictingFlags: 400,
  InvalidFilter: 400,
  EnterpriseOnly: 400,
  AclDisabled: 401,
  PermissionDenied: 403,
  AclNotFound: 403,
  EndpointBlocked: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestTimeout: 408,
  TxnRolledBack: 409,
  TooLarge: 413,
  TooManyRequests: 429,
  UnsupportedMedia: 415,
  Internal: 500,
  NoPathToDatacenter: 500,
  NoLeader: 500,
  InvalidSession: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ConsulError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: options.cause });
    this.name = "ConsulError";
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.headers = options.headers ?? {};
  }
}

/** Constructors for the messages clients depend on. */
export const errors = {
  badRequest: (msg: string) => new ConsulError("BadRequest", msg),
  invalidIndex: () => new ConsulError("InvalidIndex", "Invalid index"),
  invalidWait: () => new ConsulError("InvalidWait", "Invalid wait time"),
  staleAndConsistent: () =>
    new ConsulError("ConflictingConsistency", "Cannot specify ?stale with ?consistent, conflicting semantics."),
  cachedAndConsistent: () =>
    new ConsulError("ConflictingConsistency", "Cannot specify ?cached with ?consistent, conflicting semantics."),
  invalidMaxStale: (raw: string) => new ConsulError("BadRequest", `Invalid max_stale value "${raw}"`),
  decodeFailed: (detail: string) => new ConsulError("DecodeFailed", `Request decode failed: ${detail}`),
  missingKey: () => new ConsulError("MissingKey", "Missing key name"),
  conflictingFlags: (encodedQuery: string) => new ConsulError("ConflictingFlags", `Conflicting flags: ${encodedQuery}\n`),
  invalidFilter: (msg: string) => new ConsulError("InvalidFilter", msg),
  namespacesEnterprise: (where: "query" | "header") =>
    new ConsulError(
      "EnterpriseOnly",
      where === "query"
        ? 'Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature'
        : 'Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature',
    ),
  partitionsEnterprise: (where: "query" | "header") =>
    new ConsulError(
      "EnterpriseOnly",
      where === "query"
        ? 'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature'
        : 'Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature',
    ),
  aclDisabled: () => new ConsulError("AclDisabled", "ACL support disabled"),
  permissionDenied: (detail?: string) =>
    new ConsulError("PermissionDenied", detail ? `Permission denied: ${detail}` : "Permission denied"),
  endpointBlocked: () => new ConsulError("EndpointBlocked", "Endpoint is blocked by agent configuration"),
  notFound: (msg = "") => new ConsulError("NotFound", msg),
  unknownRoute: () => new ConsulError("NotFound", "Invalid URL path: not a recognized HTTP API endpoint\n"),
  notApiPath: () =>
    new ConsulError("NotFound", "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"),
  methodNotAllowed: (method: string, allow: readonly string[]) =>
    new ConsulError("MethodNotAllowed", `method ${method} not allowed`, { headers: { Allow: ["OPTIONS", ...allow].join(",") } }),
  valueTooLarge: (size: number, max: number) =>
    new ConsulError(
      "TooLarge",
      `Request body(${size} bytes) too large, max size: ${max} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
    ),
  /** A body over an endpoint's cap where Consul names no config key (everything but KV and txn). */
  bodyTooLarge: (size: number, max: number) => new ConsulError("TooLarge", `Request body(${size} bytes) too large, max size: ${max} bytes.`),
  /** A body that did not arrive in time (a client trickling it); the connection is closed after. */
  bodyReadTimeout: (limitMs: number) =>
    new ConsulError("RequestTimeout", `Request body not received within ${limitMs / 1000}s`, { headers: { Connection: "close" } }),
  noPathToDatacenter: () => new ConsulError("NoPathToDatacenter", "No path to datacenter"),
  /** Consul's structs.ErrDCNotAvailable: the WAN pool knows the datacenter but none of its servers is alive. */
  remoteDcUnreachable: () => new ConsulError("NoPathToDatacenter", "Remote DC has no server currently reachable"),
  noLeader: () => new ConsulError("NoLeader", "No cluster leader"),
  invalidSession: (id: string) => new ConsulError("InvalidSession", `invalid session "${id}"`),
  missingSession: () => new ConsulError("InvalidSession", "missing session"),
  internal: (msg: string) => new ConsulError("Internal", msg),
  /** Consul's ConfigEntryGraphError, refused by the state machine: a 500 with its message. */
  configEntryGraph: (msg: string) => new ConsulError("Internal", msg),
  rateLimited: (msg: string) => new ConsulError("TooManyRequests", msg),
  unknownServiceId: (id: string) =>
    new ConsulError("NotFound", `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`),
  unknownCheckId: (id: string) =>
    new ConsulError("NotFound", `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`),
} as const;

/**
 * What a client past limits.http_max_conns_per_client gets, written on the raw connection before
 * any request is read (go-connlimit's answer in Consul), then the connection is closed.
 */
export const TOO_MANY_CONNECTIONS_MESSAGE = "Your IP is issuing too many concurrent connections, please rate limit your calls\n";
