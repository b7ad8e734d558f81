import type { Handler } from "../context.ts";
import { queryOptions } from "../read.ts";
import { json } from "../reply.ts";

// /v1/status/*: spec/status-event-coordinate.md §1. Answers from the local Raft view.

const leader: Handler = (ctx, req) => {
  queryOptions(ctx, req);
  return json(ctx.consensus.leaderAddress());
};

const peers: Handler = (ctx, req) => {
  queryOptions(ctx, req);
  return json(ctx.consensus.peers());
};

export const statusHandlers = { leader, peers } satisfies Record<string, Handler>;
