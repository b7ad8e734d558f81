// The HTTP client behind every CLI command, configured like consul's api.DefaultConfig plus
// command/flags.HTTPFlags: environment first, explicit flags over it. Built on node:http(s)
// rather than fetch because fetch can neither dial a unix socket nor take a CA bundle or
// skip verification, all of which CONSUL_HTTP_ADDR / CONSUL_CACERT / CONSUL_HTTP_SSL_VERIFY allow.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { pipeline, type Readable, type Writable } from "node:stream";
import { printLine, type CommandIO } from "./command-io.ts";
import { boolFlag, stringFlag } from "./go-flags.ts";

export const HTTP_CLIENT_FLAGS = {
  "http-addr": stringFlag(
    "The address and port of the Consul HTTP agent. The value can be an IP address or DNS address, but it must also include the port. This can also be specified via the CONSUL_HTTP_ADDR environment variable. The default value is http://127.0.0.1:8500. The scheme can also be set to HTTPS by setting the environment variable CONSUL_HTTP_SSL=true.",
    "",
    "address",
  ),
  token: stringFlag(
    "ACL token to use in the request. This can also be specified via the CONSUL_HTTP_TOKEN environment variable. If unspecified, the query will default to the token of the Consul agent at the HTTP address.",
    "",
    "value",
  ),
  "token-file": stringFlag(
    "File containing the ACL token to use in the request instead of one specified via the -token argument or CONSUL_HTTP_TOKEN environment variable. This can also be specified via the CONSUL_HTTP_TOKEN_FILE environment variable.",
    "",
    "value",
  ),
  "ca-file": stringFlag(
    "Path to a CA file to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CACERT environment variable.",
    "",
    "value",
  ),
  "ca-path": stringFlag(
    "Path to a directory of CA certificates to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CAPATH environment variable.",
    "",
    "value",
  ),
  "client-cert": stringFlag(
    "Path to a client cert file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_CERT environment variable.",
    "",
    "value",
  ),
  "client-key": stringFlag(
    "Path to a client key file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_KEY environment variable.",
    "",
    "value",
  ),
  "tls-server-name": stringFlag(
    "The server name to use as the SNI host when connecting via TLS. This can also be specified via the CONSUL_TLS_SERVER_NAME environment variable.",
    "",
    "value",
  ),
} as const;

export const HTTP_SERVER_FLAGS = {
  datacenter: stringFlag(
    "Name of the datacenter to query. If unspecified, this will default to the datacenter of the queried agent.",
    "",
    "value",
  ),
  stale: boolFlag(
    "Permit any Consul server (non-leader) to respond to this request. This allows for lower latency and higher throughput, but can result in stale data. This option has no effect on non-read operations. The default value is false.",
  ),
} as const;

export const HTTP_TENANCY_FLAGS = {
  namespace: stringFlag(
    "Specifies the namespace to query. If not provided, the namespace will be inferred from the request's ACL token, or will default to the default namespace. Namespaces are a Consul Enterprise feature.",
    "",
    "value",
  ),
  partition: stringFlag(
    "Specifies the admin partition to query. If not provided, the admin partition will be inferred from the request's ACL token, or will default to the default admin partition. Admin Partitions are a Consul Enterprise feature.",
    "",
    "value",
  ),
} as const;

/** Flags listed under "HTTP API Options" in help output. */
export const HTTP_FLAG_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(HTTP_CLIENT_FLAGS),
  ...Object.keys(HTTP_SERVER_FLAGS),
]);

/** The subset of parsed flag values the client reads; absent keys mean "flag not offered". */
export interface HttpFlagValues {
  readonly "http-addr"?: string;
  readonly token?: string;
  readonly "token-file"?: string;
  readonly "ca-file"?: string;
  readonly "ca-path"?: string;
  readonly "client-cert"?: string;
  readonly "client-key"?: string;
  readonly "tls-server-name"?: string;
  readonly datacenter?: string;
  readonly stale?: boolean;
  readonly namespace?: string;
  readonly partition?: string;
}

export interface ClientConfig {
  readonly scheme: "http" | "https";
  /** host:port, or the socket path when `socketPath` is set. */
  readonly address: string;
  readonly socketPath?: string;
  readonly token: string;
  readonly datacenter: string;
  readonly namespace: string;
  readonly partition: string;
  readonly stale: boolean;
  readonly basicAuth?: string;
  readonly tls: {
    readonly ca?: string[];
    readonly cert?: string;
    readonly key?: string;
    readonly serverName?: string;
    readonly rejectUnauthorized: boolean;
  };
}

/** An error whose message is already phrased the way consul's api package phrases it. */
export class ConsulClientError extends Error {
  override readonly name = "ConsulClientError";
}

/**
 * The caller's `signal` ended the request. Long-running commands (lock, watch) park blocking
 * queries on the agent for minutes; Go exits the process under them, but Node waits for every
 * open request, so they must be cancellable. Callers treat this as "stopped", not as failure.
 */
export class RequestAbortedError extends Error {
  override readonly name = "RequestAbortedError";
  constructor() {
    super("request aborted");
  }
}

/**
 * A 200 answer whose body could not be passed to `ConsulRequest.responseSink`: the connection
 * broke mid-body or the sink failed (a full disk). The message is the underlying one.
 */
export class ResponseSinkError extends Error {
  override readonly name = "ResponseSinkError";
}

/** api.StatusError: a non-2xx answer. */
export class UnexpectedStatusError extends ConsulClientError {
  readonly statusCode: number;
  readonly body: string;
  constructor(statusCode: number, body: string) {
    super(`Unexpected response code: ${statusCode} (${body})`);
    this.statusCode = statusCode;
    this.body = body;
  }
}

function envBool(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return undefined;
}

function goOpenError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `open ${path}: no such file or directory`;
  if (code === "EACCES") return `open ${path}: permission denied`;
  return `open ${path}: ${err instanceof Error ? err.message : String(err)}`;
}

function pick(flag: string | undefined, envValue: string | undefined): string {
  if (flag !== undefined && flag !== "") return flag;
  return envValue ?? "";
}

async function readTokenFile(path: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (err) {
    throw new ConsulClientError(`Error loading token file: ${goOpenError(path, err)}`);
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

async function readCaBundle(caFile: string, caPath: string): Promise<string[] | undefined> {
  const bundle: string[] = [];
  try {
    if (caFile !== "") bundle.push(await readFile(caFile, "utf8"));
    // Consul walks ca_path recursively and reads every file that is not a directory.
    if (caPath !== "") for (const file of (await filesUnder(caPath)).sort()) bundle.push(await readFile(file, "utf8"));
  } catch (err) {
    throw new ConsulClientError(`Error loading CA certificates: ${err instanceof Error ? err.message : String(err)}`);
  }
  return bundle.length > 0 ? bundle : undefined;
}

/**
 * Builds the client configuration: explicit flag > environment variable > default. For the
 * token, `-token`/CONSUL_HTTP_TOKEN win over `-token-file`/CONSUL_HTTP_TOKEN_FILE.
 */
export async function resolveClientConfig(
  flags: HttpFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ClientConfig> {
  let scheme: "http" | "https" = envBool(env.CONSUL_HTTP_SSL) === true ? "https" : "http";
  let address = pick(flags["http-addr"], env.CONSUL_HTTP_ADDR) || "127.0.0.1:8500";
  let socketPath: string | undefined;
  const separator = address.indexOf("://");
  if (separator !== -1) {
    const protocol = address.slice(0, separator);
    const rest = address.slice(separator + 3);
    if (protocol === "https") scheme = "https";
    else if (protocol === "unix") socketPath = rest;
    else if (protocol !== "http") throw new ConsulClientError(`Unknown protocol scheme: ${protocol}`);
    address = rest;
  }

  let token = pick(flags.token, env.CONSUL_HTTP_TOKEN);
  if (token === "") {
    const tokenFile = pick(flags["token-file"], env.CONSUL_HTTP_TOKEN_FILE);
    if (tokenFile !== "") token = await readTokenFile(tokenFile);
  }

  const ca = await readCaBundle(pick(flags["ca-file"], env.CONSUL_CACERT), pick(flags["ca-path"], env.CONSUL_CAPATH));
  const certPath = pick(flags["client-cert"], env.CONSUL_CLIENT_CERT);
  const keyPath = pick(flags["client-key"], env.CONSUL_CLIENT_KEY);
  let cert: string | undefined;
  let key: string | undefined;
  try {
    if (certPath !== "") cert = await readFile(certPath, "utf8");
    if (keyPath !== "") key = await readFile(keyPath, "utf8");
  } catch (err) {
    throw new ConsulClientError(`Error loading client certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const serverName = pick(flags["tls-server-name"], env.CONSUL_TLS_SERVER_NAME);

  const auth = env.CONSUL_HTTP_AUTH;
  return {
    scheme,
    address,
    socketPath,
    token,
    datacenter: flags.datacenter ?? "",
    namespace: pick(flags.namespace, env.CONSUL_NAMESPACE),
    partition: pick(flags.partition, env.CONSUL_PARTITION),
    stale: flags.stale ?? false,
    basicAuth: auth !== undefined && auth !== "" ? Buffer.from(auth).toString("base64") : undefined,
    tls: {
      ca,
      cert,
      key,
      serverName: serverName === "" ? undefined : serverName,
      rejectUnauthorized: envBool(env.CONSUL_HTTP_SSL_VERIFY) !== false,
    },
  };
}

export type QueryValue = string | readonly string[] | undefined;

export interface ConsulRequest {
  readonly method: "GET" | "PUT" | "POST" | "DELETE";
  /** Already-escaped path, e.g. `/v1/kv/${escapePath(key)}`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: string | Buffer;
  /** A body sent as it is read (snapshot restore from a file), with its length known up front. */
  readonly bodyStream?: { readonly source: Readable; readonly length: number };
  /**
   * A 200 answer's body is piped here with backpressure instead of collected (snapshot save);
   * the response's `body` is then empty. Failures reject with ResponseSinkError.
   */
  readonly responseSink?: Writable;
  /** Reads that honour `-stale` add `?stale`. */
  readonly read?: boolean;
  /** Aborting destroys the request and rejects it with RequestAbortedError. */
  readonly signal?: AbortSignal;
}

export interface ConsulResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Escapes each segment of a key or name while keeping its slashes, like Go's url.URL.Path. */
export function escapePath(value: string): string {
  return value.split("/").map(encodeURIComponent).join("/");
}

function encodeQuery(query: Readonly<Record<string, QueryValue>>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === undefined) continue;
    const list = typeof value === "string" ? [value] : value;
    for (const item of list) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
  }
  return parts.join("&");
}

const UNKNOWN_AUTHORITY = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
]);

/** Go's crypto/tls wording for a failed handshake, or undefined when `err` is not one. */
function describeTlsError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { host?: string; cert?: { subjectaltname?: string } };
  const code = e.code ?? "";
  if (UNKNOWN_AUTHORITY.has(code)) return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  if (code === "CERT_HAS_EXPIRED") return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const names = (e.cert?.subjectaltname ?? "")
      .split(", ")
      .map((n) => n.replace(/^(DNS|IP Address):/, ""))
      .filter((n) => n !== "");
    return `tls: failed to verify certificate: x509: certificate is valid for ${names.join(", ")}, not ${e.host ?? ""}`;
  }
  if (code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") return "remote error: tls: certificate required";
  if (code === "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE") return "remote error: tls: bad certificate";
  if (code === "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA") return "remote error: tls: unknown certificate authority";
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || (code === "EPROTO" && /wrong version number/.test(e.message))) return "http: server gave HTTP response to HTTPS client";
  return undefined;
}

/** Go's net/http wording for dial failures, so messages read like consul's. */
function describeTransportError(method: string, url: string, config: ClientConfig, err: unknown): string {
  const op = method[0] + method.slice(1).toLowerCase();
  const tlsReason = config.scheme === "https" ? describeTlsError(err) : undefined;
  if (tlsReason !== undefined) return `${op} "${url}": ${tlsReason}`;
  const code = (err as NodeJS.ErrnoException).code;
  const target = config.socketPath !== undefined ? `unix ${config.socketPath}` : `tcp ${config.address}`;
  let reason: string;
  if (code === "ECONNREFUSED") reason = `dial ${target}: connect: connection refused`;
  else if (code === "ECONNRESET") reason = `read ${target}: connection reset by peer`;
  else if (code === "ENOENT") reason = `dial ${target}: connect: no such file or directory`;
  else if (code === "ENOTFOUND") reason = `dial ${target}: lookup ${config.address.replace(/:\d+$/, "")}: no such host`;
  else reason = err instanceof Error ? err.message : String(err);
  return `${op} "${url}": ${reason}`;
}

export class ConsulHttpClient {
  readonly config: ClientConfig;

  constructor(config: ClientConfig) {
    this.config = config;
  }

  /**
   * Sends one request and returns whatever status came back; throws only on transport errors,
   * or RequestAbortedError once `request.signal` aborts.
   */
  async send(request: ConsulRequest): Promise<ConsulResponse> {
    const config = this.config;
    const signal = request.signal;
    if (signal?.aborted === true) throw new RequestAbortedError();
    const query: Record<string, QueryValue> = { ...request.query };
    if (config.datacenter !== "") query.dc = config.datacenter;
    if (config.namespace !== "") query.ns = config.namespace;
    if (config.partition !== "") query.partition = config.partition;
    if (request.read === true && config.stale) query.stale = "";
    const search = encodeQuery(query);
    const pathWithQuery = search === "" ? request.path : `${request.path}?${search}`;
    const displayUrl = `${config.scheme}://${config.socketPath !== undefined ? "unix" : config.address}${pathWithQuery}`;

    const headers: Record<string, string> = {};
    if (config.token !== "") headers["X-Consul-Token"] = config.token;
    if (config.basicAuth !== undefined) headers.Authorization = `Basic ${config.basicAuth}`;
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    if (body !== undefined) headers["Content-Length"] = String(body.length);
    else if (request.bodyStream !== undefined) headers["Content-Length"] = String(request.bodyStream.length);

    const hostPort = /^(.*):(\d+)$/.exec(config.address);
    const host = (hostPort ? hostPort[1] : config.address).replace(/^\[(.*)\]$/, "$1");
    const port = hostPort ? Number(hostPort[2]) : config.scheme === "https" ? 443 : 80;
    const options: https.RequestOptions = {
      method: request.method,
      path: pathWithQuery,
      headers,
      ...(config.socketPath !== undefined ? { socketPath: config.socketPath } : { host, port }),
      ...(config.scheme === "https"
        ? {
            ca: config.tls.ca,
            cert: config.tls.cert,
            key: config.tls.key,
            servername: config.tls.serverName,
            rejectUnauthorized: config.tls.rejectUnauthorized,
          }
        : {}),
    };
    const transport = config.scheme === "https" ? https : http;

    return new Promise<ConsulResponse>((resolve, reject) => {
      let settled = false;
      const finish = (action: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        action();
      };
      // Destroying the request on abort surfaces as a socket error; report the abort instead.
      const fail = (err: unknown): void =>
        finish(() =>
          reject(
            signal?.aborted === true
              ? new RequestAbortedError()
              : new ConsulClientError(describeTransportError(request.method, displayUrl, config, err)),
          ),
        );
      const req = transport.request(options, (res) => {
        const sink = request.responseSink;
        if (sink !== undefined && res.statusCode === 200) {
          pipeline(res, sink, (err) => {
            if (err) finish(() => reject(signal?.aborted === true ? new RequestAbortedError() : new ResponseSinkError(err.message)));
            else finish(() => resolve({ statusCode: 200, headers: res.headers, body: Buffer.alloc(0) }));
          });
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          finish(() => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })),
        );
        res.on("error", fail);
      });
      const onAbort = (): void => {
        req.destroy();
        finish(() => reject(new RequestAbortedError()));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", fail);
      if (request.bodyStream === undefined) req.end(body);
      else
        pipeline(request.bodyStream.source, req, (err) => {
          if (err) fail(err);
        });
    });
  }

  /** Like the api package's requireOK: any status other than 200 becomes UnexpectedStatusError. */
  async sendOK(request: ConsulRequest): Promise<ConsulResponse> {
    const response = await this.send(request);
    if (response.statusCode !== 200) {
      throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
    }
    return response;
  }

  /** GET returning parsed JSON; `undefined` on 404 when `notFoundIsEmpty` (as the api package does for KV). */
  async getJSON(path: string, query?: Record<string, QueryValue>, notFoundIsEmpty = false): Promise<unknown> {
    const response = await this.send({ method: "GET", path, query, read: true });
    if (notFoundIsEmpty && response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) {
      throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
    }
    return parseJSONBody(response.body);
  }
}

export function parseJSONBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConsulClientError(`Failed to decode response: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves the configuration, turning failures into consul's "Error connecting" line. */
export async function connect(
  flags: HttpFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ ok: true; client: ConsulHttpClient } | { ok: false; error: string }> {
  try {
    return { ok: true, client: new ConsulHttpClient(await resolveClientConfig(flags, env)) };
  } catch (err) {
    return { ok: false, error: `Error connecting to Consul agent: ${errorMessage(err)}` };
  }
}

/** `connect` for commands: prints the error to stderr and yields undefined (the command exits 1). */
export async function connectOrReport(flags: HttpFlagValues, io: Pick<CommandIO, "stderr" | "env">): Promise<ConsulHttpClient | undefined> {
  const connection = await connect(flags, io.env);
  if (connection.ok) return connection.client;
  printLine(io.stderr, connection.error);
  return undefined;
}

/** `lock` and `watch` fail fast, as consul's do, when the agent does not answer /v1/agent/self. */
export async function agentReachable(client: ConsulHttpClient, io: Pick<CommandIO, "stderr">, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.sendOK({ method: "GET", path: "/v1/agent/self", signal });
    return true;
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return false;
  }
}
