import { Readable } from "node:stream";
import type { TimerHandle } from "../../runtime/clock.ts";
import type { Handler } from "../context.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// GET /v1/agent/metrics/stream: as go-metrics' InmemSink.Stream, one JSON summary (the shape of
// /v1/agent/metrics) each time a metrics interval ends, newline-delimited, until the client
// goes away.

/** Past the boundary, so the interval that just ended is the one summarised. */
const BOUNDARY_SLACK_MS = 5;

const metricsStream: Handler = (ctx, req) => {
  // As /v1/agent/metrics: agent:read on this agent.
  requestAuthorizer(ctx, req).require("agent:read", ctx.agent.identity.nodeName);
  const intervalMs = ctx.metrics.intervalMs;
  let timer: TimerHandle | undefined;
  const body = new Readable({
    read() {},
    destroy(err, callback) {
      timer?.cancel();
      callback(err);
    },
  });
  const arm = (): void => {
    const now = ctx.clock.now();
    const nextBoundary = now - (now % intervalMs) + intervalMs;
    timer = ctx.clock.setTimer(nextBoundary - now + BOUNDARY_SLACK_MS, () => {
      body.push(JSON.stringify(ctx.metrics.summary()) + "\n");
      arm();
    });
  };
  arm();
  return { kind: "stream", status: 200, body, contentType: "application/json" };
};

export const agentMetricsStreamHandlers = { metricsStream } satisfies Record<string, Handler>;
