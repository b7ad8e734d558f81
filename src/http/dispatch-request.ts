import type { IncomingHttpHeaders } from "node:http";
import { parse as parseQueryString } from "node:querystring";
import type { Readable } from "node:stream";
import { ConsulError, errors } from "../errors/catalog.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "./context.ts";
import { encodeJson } from "./json.ts";
import type { QueryParams } from "./query.ts";
import { prepareRequestAuthorizer } from "./request-authorizer.ts";
import { DEFAULT_MAX_REQUEST_BODY_BYTES, defaultBodyTooLarge } from "./request-body-limit.ts";
import { routes, type Method, type Route } from "./routes.ts";
import { requestedDatacenter } from "../server/datacenter-router.ts";

// Runs one API request through the route table without a socket: the HTTP listener feeds it
// from node:http, and the server's HTTP.Forward RPC feeds it requests that client agents and
// followers pass on. The answer is plain data (status, headers, body), so it travels over RPC
// unchanged and the listener writes it as it would its own. The one exception is a streamed
// answer (snapshot save): the listener pipes it, and dispatch() — the RPC entry — collects it
// into bytes first, since an RPC reply is one message.

const NON_PRINTABLE = /[\x00-\x1f\x7f]/;

export interface RawApiRequest {
  method: string;
  /** The path, still percent-encoded. */
  path: string;
  /** The query string without "?". */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
  /** The unread body on a route with Route.streamedBodyLimit (listener only; never sent over RPC). */
  bodyStream?: Readable;
  remoteAddress: string;
  /**
   * The node of the agent whose HTTP or DNS interface first took the request (Consul's
   * `Agent` query source, what `near=_agent` names); set by that agent and carried when the
   * request is forwarded, so a server sorts relative to the client agent, not to itself.
   */
  agentNode?: string;
}

export interface RawApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** An answer whose body is produced while it is sent; no Content-Length is known up front. */
export interface StreamedApiResponse {
  status: number;
  headers: Record<string, string>;
  stream: Readable;
}

export type ApiResponse = RawApiResponse | StreamedApiResponse;

export function isStreamed(response: ApiResponse): response is StreamedApiResponse {
  return "stream" in response;
}

/** The whole body of a streamed answer, for callers that need one message (HTTP.Forward). */
async function collectResponse(response: ApiResponse): Promise<RawApiResponse> {
  if (!isStreamed(response)) return response;
  const chunks: Buffer[] = [];
  for await (const chunk of response.stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return { status: response.status, headers: response.headers, body: Buffer.concat(chunks) };
}

export interface DispatchOptions {
  /** Aborted when whoever asked went away (HTTP client closed, RPC call cancelled). */
  signal?: () => AbortSignal;
  /** The request was already passed on by another agent: answer here, never pass it on again. */
  forwarded?: boolean;
  /** The request came from a server of another datacenter: it may not be sent on to a third one. */
  fromOtherDatacenter?: boolean;
}

/**
 * Decides whether a request is answered by another agent (client agent → server, follower →
 * leader) and does so; undefined (or a promise of it) means "answer here". Deciding "here" at once,
 * without a promise, keeps the common request free of an extra turn. Set by the wiring.
 */
export type RequestForwarder = (
  req: ApiRequest,
  options: { signal: () => AbortSignal; fromOtherDatacenter?: boolean },
) => Promise<RawApiResponse | undefined> | undefined;

export interface CompiledRoute {
  route: Route;
  allow: string;
  bodyLimit: number;
  /** The 413 for a body over bodyLimit (`declared`: judged by Content-Length). */
  tooLarge: (size: number, declared: boolean) => ConsulError;
  timing: { done(method: string, startedMs: number): void };
}

/**
 * Exact paths in a map; prefix routes longest first, so /v1/agent/service/register wins over
 * /v1/agent/service/. Prefix routes are bucketed by their first segment after /v1/ ("/v1/kv/"),
 * so a request compares against its own family only, not every prefix route.
 */
class Router {
  readonly #exact = new Map<string, CompiledRoute>();
  readonly #families = new Map<string, CompiledRoute[]>();
  /** Prefix routes without a whole first segment (none today), checked after the family. */
  readonly #unfamilied: CompiledRoute[] = [];

  add(c: CompiledRoute): void {
    const path = c.route.path;
    if (!path.endsWith("/")) {
      this.#exact.set(path, c);
      return;
    }
    const family = familyOf(path);
    let list = family === undefined ? this.#unfamilied : this.#families.get(family);
    if (!list) this.#families.set(family as string, (list = []));
    list.push(c);
    list.sort((a, b) => b.route.path.length - a.route.path.length);
  }

  match(path: string): CompiledRoute | undefined {
    const exact = this.#exact.get(path);
    if (exact) return exact;
    const family = familyOf(path);
    const list = family === undefined ? undefined : this.#families.get(family);
    if (list) for (const c of list) if (path.startsWith(c.route.path)) return c;
    for (const c of this.#unfamilied) if (path.startsWith(c.route.path)) return c;
    return undefined;
  }
}

/** "/v1/kv/" of "/v1/kv/a/b": the path up to the end of its first segment after /v1/. */
function familyOf(path: string): string | undefined {
  if (!path.startsWith("/v1/")) return undefined;
  const end = path.indexOf("/", 4);
  return end < 0 ? undefined : path.slice(0, end + 1);
}

const NO_SIGNAL = (): AbortSignal => new AbortController().signal;

export class ApiDispatcher {
  readonly #ctx: HttpContext;
  readonly #router = new Router();
  /** Mutable: the wiring sets it once the RPC pool exists. */
  forwarder: RequestForwarder | undefined;

  constructor(ctx: HttpContext, forwarder?: RequestForwarder) {
    this.#ctx = ctx;
    this.forwarder = forwarder;
    for (const route of routes) {
      const bodyLimit = route.streamedBodyLimit ?? route.bodyLimit?.(ctx.settings) ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
      const tooLarge = route.bodyTooLarge ?? (route.path === "/v1/kv/" || route.streamedBodyLimit !== undefined ? errors.valueTooLarge : defaultBodyTooLarge);
      this.#router.add({
        route,
        allow: ["OPTIONS", ...Object.keys(route.methods)].join(","),
        bodyLimit,
        tooLarge: (size, declared) => tooLarge(size, bodyLimit, declared),
        timing: ctx.metrics.httpRoute(route.path),
      });
    }
  }

  match(rawPath: string): CompiledRoute | undefined {
    return this.#router.match(rawPath);
  }

  /** Runs a request whose body is already read (and within the route's limit); a streamed answer comes back collected. */
  async dispatch(req: RawApiRequest, options: DispatchOptions = {}): Promise<RawApiResponse> {
    const compiled = this.#router.match(req.path);
    if (!compiled) return this.notFound(req.path);
    if (req.body && req.body.length > compiled.bodyLimit) return this.errorResponse(compiled.tooLarge(req.body.length, false));
    return collectResponse(await this.dispatchMatched(compiled, req, options));
  }

  /**
   * Runs a matched request. The answer comes back directly when nothing on the way had to wait
   * (a read answered from memory), else as a promise: every await costs a turn of the
   * microtask queue and a promise, which a small read would otherwise pay several times.
   */
  dispatchMatched(compiled: CompiledRoute, req: RawApiRequest, options: DispatchOptions = {}): ApiResponse | Promise<ApiResponse> {
    const started = this.#ctx.clock.monotonicMs();
    let outcome: ApiResponse | Promise<ApiResponse>;
    try {
      outcome = this.#run(compiled, req, options);
    } catch (err) {
      compiled.timing.done(req.method, started);
      throw err;
    }
    if (!(outcome instanceof Promise)) {
      compiled.timing.done(req.method, started);
      return outcome;
    }
    // then(ok, failed) rather than finally: finally adds two promises per answer.
    return outcome.then(
      (response) => {
        compiled.timing.done(req.method, started);
        return response;
      },
      (err: unknown) => {
        compiled.timing.done(req.method, started);
        throw err;
      },
    );
  }

  notFound(rawPath: string): RawApiResponse {
    if (rawPath.includes("/v1/")) return this.errorResponse(errors.unknownRoute());
    if (rawPath === "/") {
      return this.#plainResponse(
        { kind: "text", status: 200, body: "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart." },
        false,
      );
    }
    return this.errorResponse(errors.notApiPath());
  }

  errorResponse(err: ConsulError): RawApiResponse {
    const headers: Record<string, string> = { "X-Consul-Default-ACL-Policy": this.#ctx.settings.aclDefaultPolicy, ...err.headers };
    if (err.message !== "") headers["Content-Type"] = "text/plain; charset=utf-8";
    return { status: err.statusCode, headers, body: err.message };
  }

  replyResponse(reply: Reply, pretty: boolean): ApiResponse {
    if (reply.kind !== "stream") return this.#plainResponse(reply, pretty);
    const headers = this.#headersOf(reply);
    headers["Content-Type"] = reply.contentType;
    return { status: reply.status, headers, stream: reply.body };
  }

  #headersOf(reply: Reply): Record<string, string> {
    const headers: Record<string, string> = { "X-Consul-Default-ACL-Policy": this.#ctx.settings.aclDefaultPolicy };
    if (reply.headers) Object.assign(headers, reply.headers);
    return headers;
  }

  #plainResponse(reply: Exclude<Reply, { kind: "stream" }>, pretty: boolean): RawApiResponse {
    const headers = this.#headersOf(reply);
    switch (reply.kind) {
      case "json":
        headers["Content-Type"] = "application/json";
        return { status: reply.status, headers, body: reply.encoded ?? encodeJson(reply.value, pretty) };
      case "text":
        if (!headers["Content-Type"]) headers["Content-Type"] = reply.contentType ?? "text/plain; charset=utf-8";
        return { status: reply.status, headers, body: reply.body };
      case "empty":
        return { status: reply.status, headers, body: "" };
    }
  }

  #run(compiled: CompiledRoute, raw: RawApiRequest, options: DispatchOptions): ApiResponse | Promise<ApiResponse> {
    const ctx = this.#ctx;
    const { route } = compiled;
    const method = raw.method;
    if (method === "OPTIONS") return this.#plainResponse({ kind: "empty", status: 200, headers: { Allow: compiled.allow } }, false);
    const handler = route.methods[method as Method];
    if (!handler) return this.errorResponse(errors.methodNotAllowed(method, Object.keys(route.methods)));
    if (ctx.settings.blockEndpoints.length > 0 && ctx.settings.blockEndpoints.some((p) => raw.path.startsWith(p))) {
      return this.errorResponse(errors.endpointBlocked());
    }

    let suffix = "";
    if (route.path.endsWith("/")) {
      try {
        suffix = decodeURIComponent(raw.path.slice(route.path.length));
      } catch {
        return this.errorResponse(errors.badRequest("invalid URL escape in path"));
      }
      if (NON_PRINTABLE.test(suffix)) return this.errorResponse(errors.badRequest("Invalid URL path: contains non-printable characters"));
    }

    const query = (raw.rawQuery === "" ? {} : parseQueryString(raw.rawQuery)) as QueryParams;
    const apiReq: ApiRequest = {
      method,
      path: raw.path,
      suffix,
      query,
      rawQuery: raw.rawQuery,
      headers: raw.headers,
      body: raw.body,
      bodyStream: raw.bodyStream,
      remoteAddress: raw.remoteAddress,
      agentNode: raw.agentNode ?? ctx.settings.nodeName,
      signal: options.signal,
      authorization: undefined,
    };
    const pretty = ctx.settings.devMode || query.pretty !== undefined;
    try {
      if (ctx.acl) {
        const dc = requestedDatacenter(apiReq);
        // A large catalog body is read for its Datacenter in slices: decide once it is read.
        if (typeof dc !== "string") {
          return dc.then(
            (named) => {
              refuseOtherDatacenterUnderAcl(ctx.settings.datacenter, named);
              return this.#forwardOrAnswer(apiReq, compiled, handler, pretty, options);
            },
            (err: unknown) => this.#failed(err),
          );
        }
        refuseOtherDatacenterUnderAcl(ctx.settings.datacenter, dc);
      }
    } catch (err) {
      return this.#failed(err);
    }
    return this.#forwardOrAnswer(apiReq, compiled, handler, pretty, options);
  }

  #forwardOrAnswer(apiReq: ApiRequest, compiled: CompiledRoute, handler: Handler, pretty: boolean, options: DispatchOptions): ApiResponse | Promise<ApiResponse> {
    const ctx = this.#ctx;
    const query = apiReq.query;
    try {
      const forwarder = this.forwarder;
      if (forwarder && !options.forwarded) {
        // A forwarded request travels as one RPC message, so a body the forwarder would pass on
        // (everything off the leader; rawRequestOf copies only `body`) is read whole here first.
        if (apiReq.bodyStream && (!ctx.consensus.isLeader() || (typeof query.dc === "string" && query.dc !== ""))) {
          return this.#readThenForward(forwarder, compiled, apiReq, handler, pretty, options);
        }
        const passedOn = forwarder(apiReq, { signal: options.signal ?? NO_SIGNAL, fromOtherDatacenter: options.fromOtherDatacenter });
        if (passedOn) return passedOn.then((answer) => answer ?? this.#answer(apiReq, handler, pretty), (err: unknown) => this.#failed(err));
      }
    } catch (err) {
      return this.#failed(err);
    }
    return this.#answer(apiReq, handler, pretty);
  }

  async #readThenForward(forwarder: RequestForwarder, compiled: CompiledRoute, apiReq: ApiRequest, handler: Handler, pretty: boolean, options: DispatchOptions): Promise<ApiResponse> {
    try {
      apiReq.body = await readWhole(apiReq.bodyStream as Readable, compiled);
      apiReq.bodyStream = undefined;
      const passedOn = await forwarder(apiReq, { signal: options.signal ?? NO_SIGNAL, fromOtherDatacenter: options.fromOtherDatacenter });
      if (passedOn) return passedOn;
    } catch (err) {
      return this.#failed(err);
    }
    return this.#answer(apiReq, handler, pretty);
  }

  /** Resolves the request's token (when that needs a server) and runs the handler. */
  #answer(apiReq: ApiRequest, handler: Handler, pretty: boolean): ApiResponse | Promise<ApiResponse> {
    const tokenResolution = prepareRequestAuthorizer(this.#ctx, apiReq);
    if (tokenResolution) return tokenResolution.then(() => this.#handle(apiReq, handler, pretty));
    return this.#handle(apiReq, handler, pretty);
  }

  #handle(apiReq: ApiRequest, handler: Handler, pretty: boolean): ApiResponse | Promise<ApiResponse> {
    let reply: Reply | Promise<Reply>;
    try {
      reply = handler(this.#ctx, apiReq);
    } catch (err) {
      return this.#failed(err);
    }
    if (reply instanceof Promise) return reply.then((r) => this.replyResponse(r, pretty), (err: unknown) => this.#failed(err));
    return this.replyResponse(reply, pretty);
  }

  /** A ConsulError becomes its answer; anything else is the listener's 500. */
  #failed(err: unknown): RawApiResponse {
    if (err instanceof ConsulError) return this.errorResponse(err);
    throw err;
  }
}

/** Reads a streamed body to its end, refusing it (413) past `limit`; the stream is left open for the listener. */
async function readWhole(stream: Readable, compiled: CompiledRoute): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > compiled.bodyLimit) throw compiled.tooLarge(size, false);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * ACLs run only in the primary datacenter (a secondary cannot enable them), so another
 * datacenter would answer without checking the token: refuse rather than proxy past the gate.
 */
function refuseOtherDatacenterUnderAcl(own: string, requested: string): void {
  if (requested !== "" && requested.toLowerCase() !== own.toLowerCase()) {
    throw errors.permissionDenied(`ACLs are enforced only in datacenter ${JSON.stringify(own)}; requests for datacenter ${JSON.stringify(requested)} are not forwarded while ACLs are enabled`);
  }
}
