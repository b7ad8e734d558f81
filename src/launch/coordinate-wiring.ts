import { CoordinateSync } from "../agent/coordinate-sync.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";
// Without a runtime configuration (agents built in-process by tests) the -dev timing applies.
import { DEV_INTERNAL_TIMINGS } from "../config/defaults.ts";
import type { HttpContext } from "../http/context.ts";
import type { ApiDispatcher } from "../http/dispatch-request.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import { CoordinateBatcher } from "../server/coordinate-batcher.ts";

// Network coordinates on an agent: servers batch the updates they are sent (ctx.coordinateUpdates);
// every agent sends its own LAN coordinate through its own dispatcher, which takes it to the
// leader the way any write goes (client → server → leader). Off with disable_coordinates.

const DEFAULT_SYNC_INTERVAL_MIN_MS = 15_000;
const DEFAULT_SYNC_RATE_TARGET = 64;

export function startCoordinates(
  ctx: HttpContext,
  dispatcher: ApiDispatcher,
  rc: RuntimeConfig | undefined,
  deps: { clock: Clock; rng: Rng; logger: Logger; nodeName: string; server: boolean },
): () => void {
  if (rc?.disableCoordinates === true) return () => {};
  const batcher = deps.server
    ? new CoordinateBatcher(ctx.consensus, deps.clock, deps.logger.named("agent.server.coordinate"), rc?.coordinateUpdatePeriodMs ?? DEV_INTERNAL_TIMINGS.coordinateUpdatePeriodMs)
    : undefined;
  ctx.coordinateUpdates = batcher;
  const membership = ctx.membership;
  const sync = new CoordinateSync(
    {
      nodeName: deps.nodeName,
      intervalMinMs: rc?.syncCoordinateIntervalMinMs || DEFAULT_SYNC_INTERVAL_MIN_MS,
      rateTarget: rc?.syncCoordinateRateTarget ?? DEFAULT_SYNC_RATE_TARGET,
    },
    {
      clock: deps.clock,
      rng: deps.rng,
      logger: deps.logger.named("agent"),
      coordinate: () => membership.coordinate?.(),
      memberCount: () => membership.members().length,
      send: async (body) => {
        const token = ctx.acl?.agentSecret() ?? "";
        const answer = await dispatcher.dispatch({
          method: "PUT",
          path: "/v1/coordinate/update",
          rawQuery: "",
          // Like Consul's sendCoordinate: the agent token (else default); without ACLs none is needed.
          headers: { "content-type": "application/json", ...(token !== "" ? { "x-consul-token": token } : {}) },
          body,
          remoteAddress: "127.0.0.1",
        });
        const text = Buffer.isBuffer(answer.body) ? answer.body.toString() : answer.body;
        if (answer.status !== 403 || !ctx.acl) return { status: answer.status, body: text };
        return { status: answer.status, body: text, accessorID: await ctx.acl.accessorIdOf(token) };
      },
    },
  );
  sync.start();
  return () => {
    sync.stop();
    batcher?.stop();
  };
}
