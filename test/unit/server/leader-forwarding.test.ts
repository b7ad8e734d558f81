import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command, KvSetCommand } from "../../../src/fsm/command.ts";
import type { ApiRequest } from "../../../src/http/context.ts";
import type { RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { LocalLog, type Consensus } from "../../../src/server/consensus.ts";
import {
  applyCommandOf,
  followerRequestForwarder,
  LeaderForwardingConsensus,
  RpcMethod,
  type ApplyArgs,
  type HttpForwardArgs,
} from "../../../src/server/leader-forwarding.ts";
import { StateStore } from "../../../src/state/store.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import type { RpcHandler } from "../../../src/transport/rpc.ts";

/** A follower's view: not leading, knows where the leader's server port is. */
function followerConsensus(leader: string, lastContactMs = 0): Consensus {
  const reject = (): Promise<never> => Promise.reject(Object.assign(new Error("raft: not the leader"), { code: "not-leader", leaderAddress: leader }));
  return {
    propose: reject,
    isLeader: () => false,
    leaderAddress: () => leader,
    lastContactMs: () => lastContactMs,
    peers: () => [],
    appliedIndex: () => 0,
    readBarrier: () => Promise.resolve(),
    onLeadershipChange: () => () => {},
  };
}

/** performance.rpc_hold_timeout = 0: fail at once (leader-wait.test.ts covers holding). */
const noHold = { clock: systemClock, rng: seededRng(9), holdTimeoutMs: 0 };

const kvSet = (key: string): Command => ({ Type: "kv-set", Op: "set", Key: key, Value: Buffer.from("v"), Flags: 0n, NowMs: 0 });

function apiRequest(method: string, path: string, query: Record<string, string> = {}): ApiRequest {
  const rawQuery = new URLSearchParams(query).toString();
  return { method, path, suffix: "", query, rawQuery, headers: { "x-test": "1", connection: "keep-alive" }, body: undefined, remoteAddress: "127.0.0.1", agentNode: "node1" };
}

async function leaderServer(handlers: Record<string, RpcHandler>): Promise<RunningRpcServer> {
  return startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map(Object.entries(handlers)),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: 64,
  });
}

test("forwarding - a follower's proposal runs on the leader, one hop, and comes back with its index", async (t) => {
  const leaderState = new StateStore();
  const leader = new LeaderForwardingConsensus(new LocalLog(new StateMachine(leaderState), { serverAddress: "leader" }), new RpcPool({ clock: systemClock, rng: seededRng(1) }));
  const seen: ApplyArgs[] = [];
  const srv = await leaderServer({
    [RpcMethod.Apply]: async (args) => {
      seen.push(args as ApplyArgs);
      return leader.proposeHere(await applyCommandOf(args as ApplyArgs));
    },
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(2) });
  t.after(async () => {
    pool.close();
    await srv.close();
  });
  const follower = new LeaderForwardingConsensus(followerConsensus(`127.0.0.1:${srv.address.port}`), pool);
  const { index, result } = await follower.propose(kvSet("a"));
  assert.equal(index, 1);
  assert.deepEqual(result, { ok: true, value: true });
  assert.equal(leaderState.kv.get("a")?.Value.toString(), "v");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].forwarded, true, "the leader is told not to forward again");
  assert.equal((seen[0].cmd as KvSetCommand).Flags, 0n, "bigint fields survive msgpack");

  // A wide command travels as its encoded bytes (encoded and decoded in slices at either end).
  const checks = Array.from({ length: 2000 }, (_, i) => ({ Node: "wide", CheckID: `c${i}`, Name: `c${i}`, Status: "passing" as const, Notes: "", Output: "", ServiceID: "", ServiceName: "", ServiceTags: [], Type: "", Definition: {}, Interval: "", Timeout: "", ExposedPort: 0 }));
  const wide: Command = { Type: "catalog-register", Node: { ID: "", Node: "wide", Address: "10.0.0.9", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} }, SkipNodeUpdate: false, Checks: checks, NowMs: 1 };
  const second = await follower.propose(wide);
  assert.deepEqual(second.result, { ok: true, value: true });
  assert.equal(seen[1].cmd, undefined);
  assert.ok(seen[1].data instanceof Uint8Array);
  assert.equal(leaderState.catalog.nodeChecks("wide").length, 2000);
});

test("forwarding - a forwarded proposal reaching a non-leader fails as not-leader instead of hopping again", async () => {
  const follower = new LeaderForwardingConsensus(followerConsensus("10.9.9.9:8300"), new RpcPool({ clock: systemClock, rng: seededRng(3) }));
  await assert.rejects(follower.proposeHere(kvSet("b")), (err: unknown) => (err as { code?: string }).code === "not-leader");
  const noLeader = new LeaderForwardingConsensus(followerConsensus(""), new RpcPool({ clock: systemClock, rng: seededRng(4) }), { hold: noHold });
  await assert.rejects(noLeader.propose(kvSet("c")), (err: unknown) => (err as { code?: string }).code === "no-leader");
});

test("forwarding - a follower answers stale reads and agent endpoints itself and sends the rest to the leader", async (t) => {
  const forwarded: HttpForwardArgs[] = [];
  const srv = await leaderServer({
    [RpcMethod.HttpForward]: (args): RawApiResponse => {
      forwarded.push(args as HttpForwardArgs);
      return { status: 200, headers: { "X-Consul-Index": "7" }, body: Buffer.from("from-leader") };
    },
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(5) });
  t.after(async () => {
    pool.close();
    await srv.close();
  });
  const forward = followerRequestForwarder(followerConsensus(`127.0.0.1:${srv.address.port}`, 5_000), pool);
  const signal = () => new AbortController().signal;

  assert.equal(await forward(apiRequest("GET", "/v1/kv/x", { stale: "" }), { signal }), undefined);
  assert.equal(await forward(apiRequest("GET", "/v1/agent/self"), { signal }), undefined);
  assert.equal(await forward(apiRequest("GET", "/v1/status/leader"), { signal }), undefined);
  assert.equal(forwarded.length, 0);

  for (const req of [
    apiRequest("GET", "/v1/kv/x"),
    apiRequest("GET", "/v1/kv/x", { consistent: "" }),
    apiRequest("PUT", "/v1/kv/x"),
    // Too far behind for max_stale: the leader answers.
    apiRequest("GET", "/v1/kv/x", { stale: "", max_stale: "2s" }),
  ]) {
    const res = await forward(req, { signal });
    assert.ok(res, `${req.method} ${req.path}?${req.rawQuery} goes to the leader`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["X-Consul-Index"], "7");
    assert.equal(res.body.toString(), "from-leader");
  }
  assert.equal(forwarded.length, 4);
  assert.ok(forwarded.every((f) => f.forwarded));
  assert.equal(forwarded[0].req.headers["x-test"], "1");
  assert.equal(forwarded[0].req.headers.connection, undefined, "hop-by-hop headers stay behind");
  assert.equal(forwarded[1].req.rawQuery, "consistent=");
});

test("forwarding - without a known leader and no hold a follower answers 500 No cluster leader at once", async () => {
  const forward = followerRequestForwarder(followerConsensus(""), new RpcPool({ clock: systemClock, rng: seededRng(6) }), noHold);
  await assert.rejects(Promise.resolve(forward(apiRequest("GET", "/v1/kv/x"), { signal: () => new AbortController().signal })), (err: unknown) => {
    const e = err as { statusCode?: number; message?: string };
    return e.statusCode === 500 && e.message === "No cluster leader";
  });
});
