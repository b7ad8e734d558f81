import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { Server as NetServer, Socket } from "node:net";
import type { Readable } from "node:stream";
import { ConsulError, errors, TOO_MANY_CONNECTIONS_MESSAGE } from "../errors/catalog.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { ClientConnectionLimit } from "./client-connection-limit.ts";
import type { HttpContext } from "./context.ts";
import { ApiDispatcher, isStreamed, type ApiResponse, type CompiledRoute } from "./dispatch-request.ts";
import { tlsHandshakeReason } from "./tls-handshake-error.ts";
import type { UiSite } from "./ui-site.ts";
import { writeCoalesced } from "./scheduled-body.ts";

// The HTTP listener, straight on node:http: dispatch-request.ts maps every /v1 path to its
// handler through routes.ts, every error goes through the one catalog, bodies are raw buffers
// (Consul does not check Content-Type). DESIGN.md chose fastify; the KV GET benchmark showed
// its per-request machinery (hooks, reply pipeline, per-header validation) was most of our
// overhead over a bare server, and Consul's routing needs nothing beyond exact and prefix matches.

const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** limits.http_max_conns_per_client's default. */
export const DEFAULT_HTTP_MAX_CONNS_PER_CLIENT = 200;
/**
 * A buffered request body must arrive within this of its headers, or the client is answered
 * 408 and the connection closed (a client trickling its body would otherwise hold it forever).
 * Consul sets no read timeout; this is Vault's http_read_timeout default. Buffered bodies are
 * capped at 512 KiB by default (request-body-limit.ts), well under a second on any real link.
 */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000;
/**
 * Streamed bodies (a snapshot restore, up to its archive cap) must be in within this: Node's
 * requestTimeout, which also bounds every other request's reception.
 */
const STREAMED_BODY_TIMEOUT_MS = 10 * 60_000;
/** How long a refused connection gets to take its 429 before it is cut (go-connlimit's 10 ms deadline, with room). */
const REFUSAL_WRITE_DEADLINE_MS = 1_000;
const TOO_MANY_CONNECTIONS_RESPONSE =
  "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n" +
  `Content-Length: ${Buffer.byteLength(TOO_MANY_CONNECTIONS_MESSAGE)}\r\nConnection: close\r\n\r\n${TOO_MANY_CONNECTIONS_MESSAGE}`;

export interface HttpServerOptions {
  host: string;
  port: number;
  /** The route runner (with its forwarding policy); one is made from ctx when absent. */
  dispatcher?: ApiDispatcher;
  /** Serve HTTPS with these certificates and checks (built by launch/https-options.ts). */
  tls?: HttpsServerOptions;
  /** The web UI (ui_config.enabled); absent: `/` says the UI is disabled. */
  ui?: UiSite;
}

export interface RunningHttpServer {
  address: { host: string; port: number };
  /** Per-client connection counts (limits.http_max_conns_per_client). */
  connections: ClientConnectionLimit;
  close(): Promise<void>;
  /** HTTPS only: later handshakes use the new certificates; open connections keep theirs. */
  reloadTls?(options: HttpsServerOptions): void;
}

export async function startHttpServer(ctx: HttpContext, options: HttpServerOptions): Promise<RunningHttpServer> {
  const connections = new ClientConnectionLimit(() => ctx.settings.httpMaxConnsPerClient ?? DEFAULT_HTTP_MAX_CONNS_PER_CLIENT);
  const tls = options.tls;
  const server = buildServer(ctx, options.dispatcher ?? new ApiDispatcher(ctx), connections, tls, options.ui);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : options.port;
  return {
    address: { host: options.host, port },
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Blocking queries hold connections open for minutes: end them rather than wait.
        server.closeAllConnections();
      }),
    reloadTls: tls === undefined ? undefined : (next) => (server as HttpsServer).setSecureContext(next),
  };
}

/** ACL tokens in a query string never reach the logs (Consul writes `token=<hidden>`). */
export function redactToken(url: string): string {
  return url.includes("token=") ? url.replace(/([?&]token=)[^&]*/g, "$1<hidden>") : url;
}

export function createHttpServer(
  ctx: HttpContext,
  dispatcher: ApiDispatcher = new ApiDispatcher(ctx),
  connections: ClientConnectionLimit = new ClientConnectionLimit(() => ctx.settings.httpMaxConnsPerClient ?? DEFAULT_HTTP_MAX_CONNS_PER_CLIENT),
  ui?: UiSite,
): Server {
  return buildServer(ctx, dispatcher, connections, undefined, ui) as Server;
}

/** Plain HTTP, or HTTPS with `tls` (a failed handshake is logged as Go's net/http logs it). */
function buildServer(
  ctx: HttpContext,
  dispatcher: ApiDispatcher,
  connections: ClientConnectionLimit,
  tls: HttpsServerOptions | undefined,
  ui: UiSite | undefined,
): Server | HttpsServer {
  const bodyTimeoutMs = ctx.settings.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;
  const httpLog = ctx.logger.named("agent.http");
  const timing: BodyTiming = { clock: ctx.clock, bodyTimeoutMs };
  const failed = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    ctx.logger.error("http: request failed", { url: redactToken(req.url ?? ""), error: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) finish(res, dispatcher.errorResponse(errors.internal(err instanceof Error ? err.message : String(err))));
    else res.destroy();
  };
  // Consul's debug line for every request (its latency as a Go duration).
  const finished = (req: IncomingMessage, startedMs: number): void => {
    const from = `${req.socket.remoteAddress ?? ""}:${req.socket.remotePort ?? 0}`;
    httpLog.debug("Request finished", { method: req.method ?? "", url: redactToken(req.url ?? ""), from, latency: `${ctx.clock.now() - startedMs}ms` });
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const traced = httpLog.enabled?.("debug") ?? true;
    const startedMs = traced ? ctx.clock.now() : 0;
    let pending: Promise<void> | undefined;
    try {
      pending = handle(dispatcher, req, res, timing, ui);
    } catch (err) {
      failed(req, res, err);
      return;
    }
    // Most requests are answered before handle returns; only those that waited get callbacks.
    if (pending === undefined) {
      if (traced) finished(req, startedMs);
      return;
    }
    pending.then(
      () => {
        if (traced) finished(req, startedMs);
      },
      (err: unknown) => failed(req, res, err),
    );
  };
  const base = { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: STREAMED_BODY_TIMEOUT_MS };
  const server = tls === undefined ? createServer(base, listener) : createHttpsServer({ ...tls, ...base }, listener);
  if (tls !== undefined) {
    server.on("tlsClientError", (err: Error, socket: Socket) => {
      ctx.logger.named("agent.http").warn(`http: TLS handshake error from ${socket.remoteAddress ?? ""}:${socket.remotePort ?? ""}: ${tlsHandshakeReason(err)}`);
    });
  }
  // A blocked request can legitimately last ~10.6 minutes (http-core.md §8): no socket idle
  // timeout; requestTimeout bounds only how long the request itself takes to arrive.
  server.timeout = 0;
  server.headersTimeout = 60_000;
  limitConnectionsPerClient(server, connections, ctx.clock);
  return server;
}

/**
 * Puts the per-client limit in front of node:http's own connection handling, so a refused
 * connection is never parsed: it gets Consul's raw 429 and is closed.
 */
function limitConnectionsPerClient(server: NetServer, connections: ClientConnectionLimit, clock: Clock): void {
  const httpListeners = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    if (!connections.admit(address)) {
      socket.on("error", () => undefined);
      socket.end(TOO_MANY_CONNECTIONS_RESPONSE);
      const cut = clock.setTimer(REFUSAL_WRITE_DEADLINE_MS, () => socket.destroy());
      socket.once("close", () => cut.cancel());
      return;
    }
    socket.once("close", () => connections.release(address));
    for (const listener of httpListeners) listener.call(server, socket);
  });
}

interface BodyTiming {
  clock: Clock;
  bodyTimeoutMs: number;
}

/**
 * Answers one request; undefined once it is answered, a promise while a body is read or the
 * answer is waited for (a blocking query, a forwarded call).
 */
function handle(dispatcher: ApiDispatcher, req: IncomingMessage, res: ServerResponse, timing: BodyTiming, ui: UiSite | undefined): Promise<void> | undefined {
  const url = req.url ?? "/";
  const qAt = url.indexOf("?");
  const path = qAt < 0 ? url : url.slice(0, qAt);
  const rawQuery = qAt < 0 ? "" : url.slice(qAt + 1);
  const compiled = dispatcher.match(path);
  if (!compiled) {
    req.resume();
    const page = ui && !path.startsWith("/v1/") ? ui.answer(req.method ?? "GET", path, req.headers["accept-encoding"]) : undefined;
    finish(res, page ?? dispatcher.notFound(path), false);
    return undefined;
  }
  // Routes that stream their body (snapshot restore) get the request itself, unread.
  const streamed = compiled.route.streamedBodyLimit !== undefined;
  const declared = Number(req.headers["content-length"] ?? -1);
  if (streamed) {
    if (declared > compiled.bodyLimit) {
      req.resume();
      finish(res, dispatcher.errorResponse(compiled.tooLarge(declared, true)));
      return undefined;
    }
    return answer(dispatcher, compiled, req, res, path, rawQuery, undefined);
  }
  if (declared > compiled.bodyLimit) {
    req.resume();
    finish(res, dispatcher.errorResponse(compiled.tooLarge(declared, true)));
    return undefined;
  }
  if (declared === 0 || (declared < 0 && req.headers["transfer-encoding"] === undefined)) {
    req.resume();
    return answer(dispatcher, compiled, req, res, path, rawQuery, undefined);
  }
  return readBody(req, compiled, timing).then((body) => {
    if (body instanceof ConsulError) {
      if (!res.destroyed) finish(res, dispatcher.errorResponse(body));
      return;
    }
    return answer(dispatcher, compiled, req, res, path, rawQuery, body);
  });
}

function answer(
  dispatcher: ApiDispatcher,
  compiled: CompiledRoute,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  rawQuery: string,
  body: Buffer | undefined,
): Promise<void> | undefined {
  const streamed = compiled.route.streamedBodyLimit !== undefined;
  // Made only when needed (a forwarded call, a blocking query that waits): aborts when the
  // client goes away unanswered, which frees whatever the request holds.
  let controller: AbortController | undefined;
  const signal = (): AbortSignal => {
    if (!controller) {
      const c = (controller = new AbortController());
      res.once("close", () => {
        if (!res.writableFinished) c.abort();
      });
    }
    return controller.signal;
  };
  const method = req.method ?? "GET";
  const response = dispatcher.dispatchMatched(
    compiled,
    { method, path, rawQuery, headers: req.headers, body, bodyStream: streamed ? req : undefined, remoteAddress: req.socket.remoteAddress ?? "" },
    { signal },
  );
  if (response instanceof Promise) return response.then((r) => deliver(req, res, r, streamed));
  deliver(req, res, response, streamed);
  return undefined;
}

function deliver(req: IncomingMessage, res: ServerResponse, response: ApiResponse, streamed: boolean): void {
  if (!res.destroyed) finish(res, response);
  else if (isStreamed(response)) response.stream.destroy();
  // A handler that stopped reading early (a refused archive) leaves the rest on the wire: drain
  // it, so the client finishes sending and reads the answer, and the connection stays usable.
  if (streamed && !req.readableEnded) req.resume();
}

/**
 * Checks run once the socket reads of this turn are parsed: one immediate for all of them. The
 * parser reads a request's body after its listener returns and its microtasks have run (a
 * check from a microtask found every body still to come and armed a timer for each), and
 * before the event loop's check phase.
 */
const afterReadChecks: (() => void)[] = [];

function afterThisRead(check: () => void): void {
  if (afterReadChecks.push(check) === 1) setImmediate(runAfterReadChecks);
}

function runAfterReadChecks(): void {
  const checks = afterReadChecks.splice(0);
  for (const check of checks) check();
}

/**
 * Reads a body (one declared within the limit, or chunked) up to `limit` bytes; a larger one is
 * refused while reading (413), one that has not arrived within the timeout is refused (408,
 * connection closed).
 */
function readBody(req: IncomingMessage, compiled: CompiledRoute, timing: BodyTiming): Promise<Buffer | ConsulError> {
  const limit = compiled.bodyLimit;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let deadline: TimerHandle | undefined;
    const settle = (outcome: Buffer | ConsulError): void => {
      if (settled) return;
      settled = true;
      deadline?.cancel();
      chunks.length = 0;
      resolve(outcome);
    };
    // The usual small body came in the same read as its headers: once that read is parsed,
    // there is nothing to time (a timer set and cancelled per request). Otherwise the clock
    // starts then, within a turn of the headers.
    afterThisRead(() => {
      if (!settled && !req.complete) deadline = timing.clock.setTimer(timing.bodyTimeoutMs, () => settle(errors.bodyReadTimeout(timing.bodyTimeoutMs)));
    });
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settle(compiled.tooLarge(size, false));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!settled) settle(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    // The client went away mid-body: nobody is left to read the answer.
    const gone = (): void => settle(errors.bodyReadTimeout(timing.bodyTimeoutMs));
    req.on("error", gone);
    req.on("close", () => {
      if (!req.complete) gone();
    });
  });
}

/**
 * Writes status, headers and body. A whole body carries its exact Content-Length. A streamed
 * body without a known length (a cold list encoded while it is sent, a monitor) goes out
 * chunked, as Go's net/http sends any answer larger than its buffer; it is piped with
 * backpressure, and if it fails midway the connection is cut, so the client sees a truncated
 * answer rather than a complete-looking one.
 *
 * Every answer of a route says `Vary: Accept-Encoding`: Consul registers each endpoint behind
 * gziphandler, which adds it to every response whatever the request asked (the UI and the
 * not-found page are outside it, as Consul's are).
 */
function finish(res: ServerResponse, response: ApiResponse, routed = true): void {
  if (routed) response.headers.Vary = "Accept-Encoding";
  if (isStreamed(response)) {
    res.writeHead(response.status, response.headers);
    if (res.req.method === "HEAD") {
      response.stream.destroy();
      res.end();
      return;
    }
    // Headers go out now when the length is unknown: a long-lived stream (monitor) may not
    // write for a while. A body of known length is on its way; its headers go with its first
    // piece (one write and one wake-up of the client fewer per answer).
    if (response.headers["Content-Length"] === undefined) res.flushHeaders();
    sendStream(response.stream, res);
    return;
  }
  const { headers, body } = response;
  headers["Content-Length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}

/**
 * Pipes a body into the response with backpressure; a body that fails cuts the connection, a
 * client that goes away stops the body. Not stream.pipeline: it makes an AbortController per
 * call and aborts it when done, building a DOMException with a stack trace for every big answer.
 */
function sendStream(body: Readable, res: ServerResponse): void {
  body.once("error", () => res.destroy());
  writeCoalesced(body, res);
  res.once("close", () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(res);
}
