import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ConsulError, errors } from "../errors/catalog.ts";
import type { ApiRequest, HttpContext, Reply } from "./context.ts";
import { encodeJson } from "./json.ts";
import type { QueryParams } from "./query.ts";
import { routes, type Method, type Route } from "./routes.ts";

// The HTTP listener: fastify routes every /v1 path of routes.ts to its handler and maps every
// error through the one catalog. Bodies are raw buffers (Consul does not check Content-Type).

const ALL_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"] as const;
const NON_PRINTABLE = /[\x00-\x1f\x7f]/;
const OTHER_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

export interface HttpServerOptions {
  host: string;
  port: number;
}

export interface RunningHttpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startHttpServer(ctx: HttpContext, options: HttpServerOptions): Promise<RunningHttpServer> {
  const app = buildHttpApp(ctx);
  await app.listen({ host: options.host, port: options.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : options.port;
  return {
    address: { host: options.host, port },
    close: () => app.close(),
  };
}

export function buildHttpApp(ctx: HttpContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Blocking queries may legitimately last ~10.6 minutes: no timeout on the request path.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    exposeHeadRoutes: false,
    bodyLimit: OTHER_BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 8192 },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const defaultPolicy = ctx.settings.aclDefaultPolicy;
  const blocked = ctx.settings.blockEndpoints;

  for (const route of routes) {
    const url = route.path.endsWith("/") ? `${route.path}*` : route.path;
    const bodyLimit = route.path === "/v1/kv/" ? ctx.settings.kvMaxValueSizeBytes : OTHER_BODY_LIMIT_BYTES;
    const timing = ctx.metrics.httpRoute(route.path);
    app.route({
      method: [...ALL_METHODS],
      url,
      bodyLimit,
      handler: async (req, res) => {
        const started = ctx.clock.monotonicMs();
        try {
          return await dispatch(ctx, route, req, res, defaultPolicy, blocked);
        } finally {
          timing.done(req.method, started);
        }
      },
    });
  }

  app.setNotFoundHandler((req, res) => {
    const reply = req.url.includes("/v1/") ? errors.unknownRoute() : req.url === "/" || req.url.startsWith("/?") ? undefined : errors.notApiPath();
    if (!reply) return sendReply(res, { kind: "text", status: 200, body: "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart." }, false, defaultPolicy);
    return sendError(res, reply, defaultPolicy);
  });

  app.setErrorHandler((err: unknown, req, res) => {
    const code = typeof err === "object" && err !== null && "code" in err ? (err as { code: unknown }).code : undefined;
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      const len = Number(req.headers["content-length"] ?? 0);
      return sendError(res, errors.valueTooLarge(len, ctx.settings.kvMaxValueSizeBytes), defaultPolicy);
    }
    if (err instanceof ConsulError) return sendError(res, err, defaultPolicy);
    const status = typeof err === "object" && err !== null && "statusCode" in err ? Number((err as { statusCode: unknown }).statusCode) : 500;
    const message = err instanceof Error ? err.message : String(err);
    if (status >= 500) ctx.logger.error("http: request failed", { url: req.url, error: message });
    return sendError(res, new ConsulError(status >= 400 && status < 500 ? "BadRequest" : "Internal", message), defaultPolicy);
  });

  return app;
}

async function dispatch(
  ctx: HttpContext,
  route: Route,
  req: FastifyRequest,
  res: FastifyReply,
  defaultPolicy: string,
  blocked: string[],
): Promise<FastifyReply> {
  const method = req.method as Method;
  const allow = Object.keys(route.methods);
  if (method === ("OPTIONS" as Method)) return sendReply(res, { kind: "empty", status: 200, headers: { Allow: ["OPTIONS", ...allow].join(",") } }, false, defaultPolicy);
  const handler = route.methods[method];
  if (!handler) return sendError(res, errors.methodNotAllowed(method, allow), defaultPolicy);

  const url = req.url;
  const qAt = url.indexOf("?");
  const rawPath = qAt < 0 ? url : url.slice(0, qAt);
  const rawQuery = qAt < 0 ? "" : url.slice(qAt + 1);
  if (blocked.some((p) => rawPath.startsWith(p))) return sendError(res, errors.endpointBlocked(), defaultPolicy);
  let suffix = "";
  try {
    suffix = route.path.endsWith("/") ? decodeURIComponent(rawPath.slice(route.path.length)) : "";
  } catch {
    return sendError(res, errors.badRequest(`invalid URL escape in path`), defaultPolicy);
  }
  if (NON_PRINTABLE.test(suffix)) return sendError(res, errors.badRequest(`Invalid URL path: contains non-printable characters`), defaultPolicy);

  const query = req.query as QueryParams;
  const apiReq: ApiRequest = {
    method,
    path: rawPath,
    suffix,
    query,
    rawQuery,
    headers: req.headers,
    body: Buffer.isBuffer(req.body) ? req.body : undefined,
    remoteAddress: req.socket.remoteAddress ?? "",
  };
  try {
    const reply = await handler(ctx, apiReq);
    const pretty = ctx.settings.devMode || query.pretty !== undefined;
    return sendReply(res, reply, pretty, defaultPolicy);
  } catch (err) {
    if (err instanceof ConsulError) return sendError(res, err, defaultPolicy);
    throw err;
  }
}

function sendError(res: FastifyReply, err: ConsulError, defaultPolicy: string): FastifyReply {
  res.code(err.statusCode);
  res.header("X-Consul-Default-ACL-Policy", defaultPolicy);
  for (const [k, v] of Object.entries(err.headers)) res.header(k, v);
  if (err.message === "") return res.send();
  res.header("Content-Type", "text/plain; charset=utf-8");
  return res.send(err.message);
}

function sendReply(res: FastifyReply, reply: Reply, pretty: boolean, defaultPolicy: string): FastifyReply {
  res.code(reply.status);
  res.header("X-Consul-Default-ACL-Policy", defaultPolicy);
  if (reply.headers) for (const [k, v] of Object.entries(reply.headers)) res.header(k, v);
  switch (reply.kind) {
    case "json": {
      res.header("Content-Type", "application/json");
      // A Buffer keeps fastify from appending "; charset=utf-8": Consul sends the bare type.
      const body = reply.encoded ?? encodeJson(reply.value, pretty);
      return res.send(typeof body === "string" ? Buffer.from(body) : body);
    }
    case "text":
      if (!reply.headers?.["Content-Type"]) res.header("Content-Type", reply.contentType ?? "text/plain; charset=utf-8");
      return res.send(reply.body);
    case "empty":
      return res.send();
  }
}
