import { Readable } from "node:stream";
import { errors } from "../../errors/catalog.ts";
import { parseLogLevel } from "../../runtime/logger.ts";
import type { Handler } from "../context.ts";
import { first } from "../query.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// GET /v1/agent/monitor: the agent's log lines as they are written, at the requested level
// (?loglevel, default INFO, independent of the agent's own) and format (?logjson), until the
// client goes away. A client that does not keep up loses lines rather than growing our memory,
// as Consul's monitor drops them.

/** Bytes buffered for a slow client before lines are dropped. */
const MAX_BUFFERED_BYTES = 512 * 1024;

const monitor: Handler = (ctx, req) => {
  // Consul checks agent:read before it looks at the request (AgentMonitor).
  requestAuthorizer(ctx, req).require("agent:read", ctx.agent.identity.nodeName);
  const raw = first(req.query, "loglevel") ?? "INFO";
  const level = parseLogLevel(raw);
  if (level === undefined) throw errors.badRequest(`Unknown log level: ${raw}`);
  const hub = ctx.logHub;
  if (!hub) throw errors.internal("log streaming is not available on this agent");
  const json = req.query.logjson !== undefined;
  let dropped = 0;
  let unsubscribe: () => void = () => {};
  const body = new Readable({
    read() {},
    destroy(err, callback) {
      unsubscribe();
      callback(err);
    },
  });
  unsubscribe = hub.subscribe(level, json, (line) => {
    if (body.readableLength > MAX_BUFFERED_BYTES) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      body.push(`Monitor dropped ${dropped} logs during monitor request\n`);
      dropped = 0;
    }
    body.push(line);
  });
  return { kind: "stream", status: 200, body, contentType: "text/plain; charset=utf-8" };
};

export const agentMonitorHandlers = { monitor } satisfies Record<string, Handler>;
