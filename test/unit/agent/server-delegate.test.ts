import { test } from "node:test";
import assert from "node:assert/strict";
import { ServerDelegate } from "../../../src/agent/server-delegate.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import type { ApiRequest } from "../../../src/http/context.ts";
import { systemClock, type Clock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { RpcMethod, type CatalogWriteArgs, type HttpForwardArgs } from "../../../src/server/leader-forwarding.ts";
import { StateStore } from "../../../src/state/store.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import type { RpcHandler } from "../../../src/transport/rpc.ts";
import { freePort } from "../../support/agent-process.ts";

async function fakeServer(handlers: Record<string, RpcHandler>): Promise<RunningRpcServer> {
  return startRpcServer({ host: "127.0.0.1", port: 0, handlers: new Map(Object.entries(handlers)), logger: silentLogger, maxConnections: 16, maxInFlightPerConnection: 64 });
}

// systemClock's timers do not hold the process open; here nothing else does while the delegate pauses between retries.
const clock: Clock = {
  ...systemClock,
  setTimer(delayMs, fn) {
    const timer = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

function delegate(store: StateStore): { delegate: ServerDelegate; pool: RpcPool } {
  const pool = new RpcPool({ clock, rng: seededRng(1), reconnectBaseMs: 10, reconnectMaxMs: 20 });
  const d = new ServerDelegate({ pool, localFsm: new StateMachine(store), clock, rng: seededRng(2), logger: silentLogger, holdTimeoutMs: 2000 });
  return { delegate: d, pool };
}

const register: Command = {
  Type: "catalog-register",
  Node: { ID: "", Node: "client-1", Address: "127.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} },
  SkipNodeUpdate: false,
  Checks: [],
  NowMs: 0,
};

function apiRequest(method: string, path: string): ApiRequest {
  return { method, path, suffix: "", query: {}, rawQuery: "", headers: {}, body: undefined, remoteAddress: "127.0.0.1", agentNode: "node1" };
}

test("server delegate - a catalog write moves on from an unreachable server, carries its token as Catalog.Register, and is mirrored locally", async (t) => {
  const applied: CatalogWriteArgs[] = [];
  const srv = await fakeServer({
    [RpcMethod.CatalogRegister]: (args) => {
      applied.push(args as CatalogWriteArgs);
      return { index: 41, result: { ok: true, value: null } };
    },
    [RpcMethod.Ping]: () => ({ leader: "127.0.0.1:8300", server: true }),
  });
  const store = new StateStore();
  const { delegate: d, pool } = delegate(store);
  t.after(async () => {
    d.stop();
    pool.close();
    await srv.close();
  });
  const dead = `127.0.0.1:${await freePort()}`;
  d.setServers([dead, `127.0.0.1:${srv.address.port}`]);
  const reply = await d.writeCatalog(register, "agent-secret");
  assert.deepEqual(reply, { index: 41, result: { ok: true, value: null } });
  assert.equal(applied.length, 1);
  assert.equal(applied[0].token, "agent-secret", "the server decides with the agent's token");
  assert.equal(applied[0].cmd?.Type, "catalog-register");
  assert.equal(store.catalog.getNode("client-1")?.Address, "127.0.0.1", "the client's own rows are kept locally");

  await d.start();
  assert.equal(d.leaderAddress(), "127.0.0.1:8300");
  assert.equal(d.isLeader(), false);
});

test("server delegate - without any reachable server a proposal fails once the hold is over", async (t) => {
  const { delegate: d, pool } = delegate(new StateStore());
  t.after(() => {
    d.stop();
    pool.close();
  });
  d.setServers([`127.0.0.1:${await freePort()}`]);
  const started = Date.now();
  await assert.rejects(d.propose(register), (err: unknown) => (err as { code?: string }).code === "rpc-connection");
  // Within ten 2 s holds: fails only a proposal held forever, not a busy CI machine.
  assert.ok(Date.now() - started < 20_000);
});

test("server delegate - agent endpoints are answered locally, everything else by a server", async (t) => {
  const forwarded: HttpForwardArgs[] = [];
  const srv = await fakeServer({
    [RpcMethod.HttpForward]: (args) => {
      forwarded.push(args as HttpForwardArgs);
      return { status: 404, headers: { "X-Consul-Index": "3" }, body: "" };
    },
  });
  const { delegate: d, pool } = delegate(new StateStore());
  t.after(async () => {
    d.stop();
    pool.close();
    await srv.close();
  });
  d.setServers([`127.0.0.1:${srv.address.port}`]);
  const forward = d.forwarder();
  const signal = () => new AbortController().signal;
  assert.equal(await forward(apiRequest("GET", "/v1/agent/services"), { signal }), undefined);
  assert.equal(await forward(apiRequest("PUT", "/v1/agent/service/register"), { signal }), undefined);
  for (const path of ["/v1/kv/a", "/v1/catalog/services", "/v1/health/service/web", "/v1/session/list", "/v1/status/leader"]) {
    const res = await forward(apiRequest("GET", path), { signal });
    assert.deepEqual(res, { status: 404, headers: { "X-Consul-Index": "3" }, body: "" });
  }
  assert.equal(forwarded.length, 5);
  assert.ok(forwarded.every((f) => !f.forwarded));
});
