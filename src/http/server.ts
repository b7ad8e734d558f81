import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { parse as parseQueryString } from "node:querystring";
import { ConsulError, errors } from "../errors/catalog.ts";
import type { ApiRequest, HttpContext, Reply } from "./context.ts";
import { encodeJson } from "./json.ts";
import type { QueryParams } from "./query.ts";
import { routes, type Method, type Route } from "./routes.ts";

// The HTTP listener, straight on node:http: routes.ts maps every /v1 path to its handler,
// every error goes through the one catalog, bodies are raw buffers (Consul does not check
// Content-Type). DESIGN.md chose fastify; the KV GET benchmark showed its per-request
// machinery (hooks, reply pipeline, per-header validation) was most of our overhead over a
// bare server, and Consul's routing needs nothing beyond exact and prefix matches.

const NON_PRINTABLE = /[\x00-\x1f\x7f]/;
/** Bodies of endpoints other than KV (txn has its own check) are capped here. */
const OTHER_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface HttpServerOptions {
  host: string;
  port: number;
}

export interface RunningHttpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  allow: string;
  bodyLimit: number;
  timing: { done(method: string, startedMs: number): void };
}

/** Exact paths in a map; prefix routes longest first, so /v1/agent/service/register wins over /v1/agent/service/. */
class Router {
  readonly #exact = new Map<string, CompiledRoute>();
  readonly #prefixes: CompiledRoute[] = [];

  add(c: CompiledRoute): void {
    if (c.route.path.endsWith("/")) {
      this.#prefixes.push(c);
      this.#prefixes.sort((a, b) => b.route.path.length - a.route.path.length);
    } else this.#exact.set(c.route.path, c);
  }

  match(path: string): CompiledRoute | undefined {
    const exact = this.#exact.get(path);
    if (exact) return exact;
    for (const c of this.#prefixes) if (path.startsWith(c.route.path)) return c;
    return undefined;
  }
}

export async function startHttpServer(ctx: HttpContext, options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createHttpServer(ctx);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Blocking queries hold connections open for minutes: end them rather than wait.
        server.closeAllConnections();
      }),
  };
}

export function createHttpServer(ctx: HttpContext): Server {
  const router = new Router();
  for (const route of routes) {
    router.add({
      route,
      allow: ["OPTIONS", ...Object.keys(route.methods)].join(","),
      bodyLimit: route.path === "/v1/kv/" ? ctx.settings.kvMaxValueSizeBytes : OTHER_BODY_LIMIT_BYTES,
      timing: ctx.metrics.httpRoute(route.path),
    });
  }
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, (req, res) => {
    handle(ctx, router, req, res).catch((err: unknown) => {
      ctx.logger.error("http: request failed", { url: req.url ?? "", error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendError(ctx, res, errors.internal(err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });
  // A blocked request can legitimately last ~10.6 minutes (http-core.md §8).
  server.timeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

async function handle(ctx: HttpContext, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const qAt = url.indexOf("?");
  const rawPath = qAt < 0 ? url : url.slice(0, qAt);
  const rawQuery = qAt < 0 ? "" : url.slice(qAt + 1);
  const compiled = router.match(rawPath);
  if (!compiled) return notFound(ctx, rawPath, req, res);

  const started = ctx.clock.monotonicMs();
  const method = req.method ?? "GET";
  try {
    await dispatch(ctx, compiled, method, rawPath, rawQuery, req, res);
  } finally {
    compiled.timing.done(method, started);
  }
}

async function dispatch(
  ctx: HttpContext,
  compiled: CompiledRoute,
  method: string,
  rawPath: string,
  rawQuery: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { route } = compiled;
  if (method === "OPTIONS") return sendReply(ctx, res, { kind: "empty", status: 200, headers: { Allow: compiled.allow } }, false);
  const handler = route.methods[method as Method];
  if (!handler) return sendError(ctx, res, errors.methodNotAllowed(method, Object.keys(route.methods)));
  if (ctx.settings.blockEndpoints.length > 0 && ctx.settings.blockEndpoints.some((p) => rawPath.startsWith(p))) {
    return sendError(ctx, res, errors.endpointBlocked());
  }

  let suffix = "";
  if (route.path.endsWith("/")) {
    try {
      suffix = decodeURIComponent(rawPath.slice(route.path.length));
    } catch {
      return sendError(ctx, res, errors.badRequest("invalid URL escape in path"));
    }
    if (NON_PRINTABLE.test(suffix)) return sendError(ctx, res, errors.badRequest("Invalid URL path: contains non-printable characters"));
  }

  const body = await readBody(req, compiled.bodyLimit);
  if (body instanceof ConsulError) return sendError(ctx, res, body);

  const query = (rawQuery === "" ? {} : parseQueryString(rawQuery)) as QueryParams;
  const apiReq: ApiRequest = {
    method,
    path: rawPath,
    suffix,
    query,
    rawQuery,
    headers: req.headers,
    body,
    remoteAddress: req.socket.remoteAddress ?? "",
  };
  let reply: Reply;
  try {
    reply = await handler(ctx, apiReq);
  } catch (err) {
    if (err instanceof ConsulError) return sendError(ctx, res, err);
    throw err;
  }
  sendReply(ctx, res, reply, ctx.settings.devMode || query.pretty !== undefined);
}

/** Reads the body up to `limit` bytes; a larger one is refused before or while reading (413). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined | ConsulError> {
  const declared = Number(req.headers["content-length"] ?? -1);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(errors.valueTooLarge(declared, limit));
  }
  if (declared === 0 || (declared < 0 && req.headers["transfer-encoding"] === undefined)) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        resolve(errors.valueTooLarge(size, limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!refused) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on("error", reject);
  });
}

function notFound(ctx: HttpContext, rawPath: string, req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (rawPath.includes("/v1/")) return sendError(ctx, res, errors.unknownRoute());
  if (rawPath === "/") {
    return sendReply(ctx, res, { kind: "text", status: 200, body: "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart." }, false);
  }
  return sendError(ctx, res, errors.notApiPath());
}

function sendError(ctx: HttpContext, res: ServerResponse, err: ConsulError): void {
  const headers: Record<string, string> = { "X-Consul-Default-ACL-Policy": ctx.settings.aclDefaultPolicy, ...err.headers };
  if (err.message !== "") headers["Content-Type"] = "text/plain; charset=utf-8";
  finish(res, err.statusCode, headers, err.message);
}

/** Writes status, headers with an exact Content-Length (no chunking, as Consul answers) and body. */
function finish(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  headers["Content-Length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.length);
  res.writeHead(status, headers);
  res.end(body);
}

function sendReply(ctx: HttpContext, res: ServerResponse, reply: Reply, pretty: boolean): void {
  const headers: Record<string, string> = { "X-Consul-Default-ACL-Policy": ctx.settings.aclDefaultPolicy };
  if (reply.headers) Object.assign(headers, reply.headers);
  switch (reply.kind) {
    case "json":
      headers["Content-Type"] = "application/json";
      return finish(res, reply.status, headers, reply.encoded ?? encodeJson(reply.value, pretty));
    case "text":
      if (!headers["Content-Type"]) headers["Content-Type"] = reply.contentType ?? "text/plain; charset=utf-8";
      return finish(res, reply.status, headers, reply.body);
    case "empty":
      return finish(res, reply.status, headers, "");
  }
}
