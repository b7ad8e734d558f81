// Long-running CLI commands (lock, watch) park blocking queries on the agent for minutes.
// Go exits the process under them; Node waits for every open request, so those requests must
// be cancellable. ConsulHttpClient.send takes no signal, hence this twin of it that does.
// (If ConsulRequest ever grows a `signal`, this file can go.)
import http from "node:http";
import https from "node:https";
import type { ConsulHttpClient, ConsulRequest, ConsulResponse, QueryValue } from "./http-client.ts";
import { ConsulClientError, UnexpectedStatusError } from "./http-client.ts";

/** Raised when the caller's signal ends a request; callers treat it as "stopped", not as failure. */
export class RequestAbortedError extends Error {
  override readonly name = "RequestAbortedError";
  constructor() {
    super("request aborted");
  }
}

function encodeQuery(query: Readonly<Record<string, QueryValue>>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === undefined) continue;
    for (const item of typeof value === "string" ? [value] : value) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
    }
  }
  return parts.join("&");
}

function transportMessage(method: string, url: string, target: string, err: unknown): string {
  const op = method[0] + method.slice(1).toLowerCase();
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === "ECONNREFUSED"
      ? `dial ${target}: connect: connection refused`
      : code === "ECONNRESET"
        ? `read ${target}: connection reset by peer`
        : err instanceof Error
          ? err.message
          : String(err);
  return `${op} "${url}": ${reason}`;
}

/** ConsulHttpClient.send with cancellation: an aborted signal rejects with RequestAbortedError. */
export function sendAbortable(client: ConsulHttpClient, request: ConsulRequest, signal?: AbortSignal): Promise<ConsulResponse> {
  const config = client.config;
  if (signal?.aborted === true) return Promise.reject(new RequestAbortedError());
  const query: Record<string, QueryValue> = { ...request.query };
  if (config.datacenter !== "") query.dc = config.datacenter;
  if (config.namespace !== "") query.ns = config.namespace;
  if (config.partition !== "") query.partition = config.partition;
  if (request.read === true && config.stale) query.stale = "";
  const search = encodeQuery(query);
  const pathWithQuery = search === "" ? request.path : `${request.path}?${search}`;
  const displayUrl = `${config.scheme}://${config.socketPath !== undefined ? "unix" : config.address}${pathWithQuery}`;
  const target = config.socketPath !== undefined ? `unix ${config.socketPath}` : `tcp ${config.address}`;

  const headers: Record<string, string> = {};
  if (config.token !== "") headers["X-Consul-Token"] = config.token;
  if (config.basicAuth !== undefined) headers.Authorization = `Basic ${config.basicAuth}`;
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  if (body !== undefined) headers["Content-Length"] = String(body.length);

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
    const req = transport.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        finish(() => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })),
      );
      res.on("error", (err) => finish(() => reject(failure(err))));
    });
    const failure = (err: unknown): Error =>
      signal?.aborted === true ? new RequestAbortedError() : new ConsulClientError(transportMessage(request.method, displayUrl, target, err));
    const onAbort = (): void => {
      req.destroy();
      finish(() => reject(new RequestAbortedError()));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => finish(() => reject(failure(err))));
    req.end(body);
  });
}

/** Like ConsulHttpClient.sendOK: anything but 200 becomes UnexpectedStatusError. */
export async function sendAbortableOK(client: ConsulHttpClient, request: ConsulRequest, signal?: AbortSignal): Promise<ConsulResponse> {
  const response = await sendAbortable(client, request, signal);
  if (response.statusCode !== 200) {
    throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
  }
  return response;
}

/** The X-Consul-Index header as an exact uint64 (event indexes exceed 2^53); 0 when absent. */
export function consulIndexOf(response: ConsulResponse): bigint {
  const raw = response.headers["x-consul-index"];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || !/^\d+$/.test(text)) return 0n;
  return BigInt(text);
}

/** Sleeps, ending early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
