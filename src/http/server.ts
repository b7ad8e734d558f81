import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import { ConsulError, errors } from "../errors/catalog.ts";
import type { HttpContext } from "./context.ts";
import { ApiDispatcher, isStreamed, type ApiResponse } from "./dispatch-request.ts";

// The HTTP listener, straight on node:http: dispatch-request.ts maps every /v1 path to its
// handler through routes.ts, every error goes through the one catalog, bodies are raw buffers
// (Consul does not check Content-Type). DESIGN.md chose fastify; the KV GET benchmark showed
// its per-request machinery (hooks, reply pipeline, per-header validation) was most of our
// overhead over a bare server, and Consul's routing needs nothing beyond exact and prefix matches.

const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface HttpServerOptions {
  host: string;
  port: number;
  /** The route runner (with its forwarding policy); one is made from ctx when absent. */
  dispatcher?: ApiDispatcher;
}

export interface RunningHttpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startHttpServer(ctx: HttpContext, options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createHttpServer(ctx, options.dispatcher);
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

export function createHttpServer(ctx: HttpContext, dispatcher: ApiDispatcher = new ApiDispatcher(ctx)): Server {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, (req, res) => {
    handle(dispatcher, req, res).catch((err: unknown) => {
      ctx.logger.error("http: request failed", { url: req.url ?? "", error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) finish(res, dispatcher.errorResponse(errors.internal(err instanceof Error ? err.message : String(err))));
      else res.destroy();
    });
  });
  // A blocked request can legitimately last ~10.6 minutes (http-core.md §8).
  server.timeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

async function handle(dispatcher: ApiDispatcher, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const qAt = url.indexOf("?");
  const path = qAt < 0 ? url : url.slice(0, qAt);
  const rawQuery = qAt < 0 ? "" : url.slice(qAt + 1);
  const compiled = dispatcher.match(path);
  if (!compiled) {
    req.resume();
    return finish(res, dispatcher.notFound(path));
  }
  // Routes that stream their body (snapshot restore) get the request itself, unread.
  const streamed = compiled.route.streamedBodyLimit !== undefined;
  const declared = Number(req.headers["content-length"] ?? -1);
  if (streamed && declared > compiled.bodyLimit) {
    req.resume();
    return finish(res, dispatcher.errorResponse(errors.valueTooLarge(declared, compiled.bodyLimit)));
  }
  const body = streamed ? undefined : await readBody(req, compiled.bodyLimit);
  if (body instanceof ConsulError) return finish(res, dispatcher.errorResponse(body));
  // Made only when a forwarded call needs it: aborts when the client goes away unanswered.
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
  const response = await dispatcher.dispatchMatched(
    compiled,
    { method, path, rawQuery, headers: req.headers, body, bodyStream: streamed ? req : undefined, remoteAddress: req.socket.remoteAddress ?? "" },
    { signal },
  );
  if (!res.destroyed) finish(res, response);
  else if (isStreamed(response)) response.stream.destroy();
  // A handler that stopped reading early (a refused archive) leaves the rest on the wire: drain
  // it, so the client finishes sending and reads the answer, and the connection stays usable.
  if (streamed && !req.readableEnded) req.resume();
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

/**
 * Writes status, headers with an exact Content-Length (no chunking, as Consul answers) and body.
 * A streamed body goes out chunked, piped with backpressure; if it fails midway the connection
 * is cut, so the client sees a truncated answer rather than a complete-looking one.
 */
function finish(res: ServerResponse, response: ApiResponse): void {
  if (isStreamed(response)) {
    res.writeHead(response.status, response.headers);
    if (res.req.method === "HEAD") {
      response.stream.destroy();
      res.end();
      return;
    }
    pipeline(response.stream, res, () => undefined);
    return;
  }
  const { headers, body } = response;
  headers["Content-Length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}
