import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiDispatcher, RawApiRequest, RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { Consensus } from "../../../src/server/consensus.ts";
import { LeaderForwardingConsensus, RpcMethod } from "../../../src/server/leader-forwarding.ts";
import { serverRpcHandlers } from "../../../src/server/rpc-endpoints.ts";
import { StateStore } from "../../../src/state/store.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { RpcError, RpcErrorCode } from "../../../src/transport/rpc.ts";

// A read forwarded to "the leader" that lands on a server no longer leading (a step-down, or
// a lease that ran out while it was paused) must not be answered from its state: issue 12
// item 7's default reads stay fresh only if such a read goes back to find the leader.

function notLeading(leader: string): Consensus {
  return {
    propose: () => Promise.reject(new Error("not leader")),
    isLeader: () => false,
    leaderAddress: () => leader,
    lastContactMs: () => 0,
    peers: () => [],
    appliedIndex: () => 0,
    readBarrier: () => Promise.resolve(),
    onLeadershipChange: () => () => {},
  };
}

function request(method: string, path: string, rawQuery = ""): RawApiRequest {
  return { method, path, rawQuery, headers: {}, body: undefined, remoteAddress: "127.0.0.1" };
}

test("HTTP.Forward: a forwarded non-stale read on a server that does not lead is refused as NotLeader (retryable); other requests run", async () => {
  const dispatched: string[] = [];
  const answer: RawApiResponse = { status: 200, headers: {}, body: "ok" };
  const dispatcher = {
    dispatch: (req: RawApiRequest) => {
      dispatched.push(`${req.method} ${req.path}?${req.rawQuery}`);
      return Promise.resolve(answer);
    },
    errorResponse: () => answer,
  } as unknown as ApiDispatcher;
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(1) });
  const consensus = new LeaderForwardingConsensus(notLeading("10.0.0.9:8300"), pool);
  const forward = serverRpcHandlers({ consensus, dispatcher, logger: silentLogger, catalog: new StateStore().catalog }).get(RpcMethod.HttpForward);
  assert.ok(forward);
  const call = { signal: new AbortController().signal, remoteAddress: "127.0.0.1" };

  await assert.rejects(
    Promise.resolve().then(() => forward({ req: request("GET", "/v1/kv/x"), forwarded: true }, call)),
    (err: unknown) => err instanceof RpcError && err.code === RpcErrorCode.NotLeader && err.safeToRetry && err.leader === "10.0.0.9:8300",
  );
  await assert.rejects(
    Promise.resolve().then(() => forward({ req: request("GET", "/v1/catalog/services", "consistent="), forwarded: true }, call)),
    (err: unknown) => err instanceof RpcError && err.code === RpcErrorCode.NotLeader,
  );
  assert.deepEqual(dispatched, [], "nothing ran");

  await forward({ req: request("GET", "/v1/kv/x", "stale="), forwarded: true }, call);
  await forward({ req: request("GET", "/v1/status/leader"), forwarded: true }, call);
  await forward({ req: request("PUT", "/v1/kv/x"), forwarded: true }, call);
  await forward({ req: request("GET", "/v1/kv/x"), forwarded: false }, call);
  assert.deepEqual(dispatched, ["GET /v1/kv/x?stale=", "GET /v1/status/leader?", "PUT /v1/kv/x?", "GET /v1/kv/x?"]);
  pool.close();
});
