// RPC counters under Consul's names: consul.rpc.request per request a server runs,
// consul.client.rpc per call a client agent makes (each retry on another server included),
// consul.rpc.query per read a server runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ServerDelegate } from "../../../src/agent/server-delegate.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { systemClock, type Clock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import type { Metrics } from "../../../src/runtime/metrics.ts";
import { singleIntervalMetrics } from "../../support/metrics.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { RpcMethod } from "../../../src/server/leader-forwarding.ts";
import { StateStore } from "../../../src/state/store.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer } from "../../../src/transport/rpc-server.ts";
import { freePort } from "../../support/agent-process.ts";
import { startTestAgent } from "../../support/test-agent.ts";

const clock: Clock = {
  ...systemClock,
  setTimer(delayMs, fn) {
    const timer = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

const register: Command = {
  Type: "catalog-register",
  Node: { ID: "", Node: "client-1", Address: "127.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} },
  SkipNodeUpdate: false,
  Checks: [],
  NowMs: 0,
};

const counterSum = (metrics: Metrics, name: string): number => metrics.summary().Counters.find((c) => c.Name === name)?.Sum ?? 0;

test("rpc metrics - the server counts each request it runs; the client counts each call, the failed try on a dead server included", async (t) => {
  const serverMetrics = singleIntervalMetrics();
  const clientMetrics = singleIntervalMetrics();
  const srv = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map([
      [RpcMethod.CatalogRegister, () => ({ index: 7, result: { ok: true, value: null } })],
      [
        RpcMethod.Peers,
        () => {
          throw new Error("peers unavailable");
        },
      ],
    ]),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: 64,
    metrics: serverMetrics,
  });
  const pool = new RpcPool({ clock, rng: seededRng(1), reconnectBaseMs: 10, reconnectMaxMs: 20 });
  const delegate = new ServerDelegate({ pool, localFsm: new StateMachine(new StateStore()), clock, rng: seededRng(2), logger: silentLogger, holdTimeoutMs: 2000, metrics: clientMetrics });
  t.after(async () => {
    delegate.stop();
    pool.close();
    await srv.close();
  });
  const dead = `127.0.0.1:${await freePort()}`;
  // The dead server first: the delegate keeps the server it was using when the list grows.
  delegate.setServers([dead]);
  delegate.setServers([dead, `127.0.0.1:${srv.address.port}`]);
  await delegate.propose(register);
  await delegate.propose(register);
  assert.equal(counterSum(serverMetrics, "consul.rpc.request"), 2);
  assert.equal(counterSum(clientMetrics, "consul.client.rpc"), 3, "the dead server's try, then two on the live one");
  // consul.client.rpc.failed: the try on the dead server, labelled with the server (its node
  // name when gossip named it, as Consul's server label; the address otherwise).
  const failed = clientMetrics.summary().Counters.filter((c) => c.Name === "consul.client.rpc.failed");
  assert.deepEqual(
    failed.map((c) => [c.Labels, c.Sum]),
    [[{ server: dead }, 1]],
  );
  assert.equal(counterSum(serverMetrics, "consul.rpc.request_error"), 0);
  // consul.rpc.request_error: a request the server answered with an error.
  await assert.rejects(pool.call(`127.0.0.1:${srv.address.port}`, RpcMethod.Peers, {}), /peers unavailable/);
  assert.equal(counterSum(serverMetrics, "consul.rpc.request"), 3);
  assert.equal(counterSum(serverMetrics, "consul.rpc.request_error"), 1);
});

test("rpc metrics - consul.client.rpc.failed names the server by its node name once gossip gave it", async (t) => {
  const metrics = singleIntervalMetrics();
  const pool = new RpcPool({ clock, rng: seededRng(1), reconnectBaseMs: 10, reconnectMaxMs: 20 });
  const delegate = new ServerDelegate({ pool, localFsm: new StateMachine(new StateStore()), clock, rng: seededRng(2), logger: silentLogger, holdTimeoutMs: 300, metrics });
  t.after(() => {
    delegate.stop();
    pool.close();
  });
  const dead = `127.0.0.1:${await freePort()}`;
  delegate.setServers([dead], new Map([[dead, "server-1"]]));
  await assert.rejects(delegate.propose(register));
  const failed = metrics.summary().Counters.find((c) => c.Name === "consul.client.rpc.failed");
  assert.deepEqual(failed?.Labels, { server: "server-1" });
  assert.ok((failed?.Sum ?? 0) >= 1);
});

test("rpc metrics - consul.rpc.query counts every read a server runs, blocking or not", async () => {
  const agent = await startTestAgent();
  try {
    const before = (await (await fetch(`${agent.base}/v1/agent/metrics`)).json()) as { Counters: { Name: string; Sum: number }[] };
    const base = before.Counters.find((c) => c.Name === "consul.rpc.query")?.Sum ?? 0;
    assert.equal((await fetch(`${agent.base}/v1/kv/missing`)).status, 404);
    const list = await fetch(`${agent.base}/v1/catalog/nodes`);
    assert.equal(list.status, 200);
    const index = list.headers.get("x-consul-index") ?? "1";
    assert.equal((await fetch(`${agent.base}/v1/catalog/nodes?index=${index}&wait=50ms`)).status, 200);
    const after = (await (await fetch(`${agent.base}/v1/agent/metrics`)).json()) as { Counters: { Name: string; Sum: number }[] };
    assert.equal((after.Counters.find((c) => c.Name === "consul.rpc.query")?.Sum ?? 0) - base, 3);
  } finally {
    await agent.stop();
  }
});
