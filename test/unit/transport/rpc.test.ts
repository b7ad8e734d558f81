import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import { RpcError, RpcErrorCode, parseHostPort, type RpcHandler } from "../../../src/transport/rpc.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function server(handlers: Record<string, RpcHandler>, options: { port?: number; maxInFlightPerConnection?: number } = {}): Promise<RunningRpcServer> {
  return startRpcServer({
    host: "127.0.0.1",
    port: options.port ?? 0,
    handlers: new Map(Object.entries(handlers)),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: options.maxInFlightPerConnection ?? 1024,
  });
}

function pool(options: Partial<ConstructorParameters<typeof RpcPool>[0]> = {}): RpcPool {
  return new RpcPool({ clock: systemClock, rng: seededRng(7), reconnectBaseMs: 20, reconnectMaxMs: 40, ...options });
}

const addr = (s: RunningRpcServer) => `127.0.0.1:${s.address.port}`;

function rejectsWith(code: string): (err: unknown) => boolean {
  return (err) => err instanceof RpcError && err.code === code;
}

test("rpc - many calls share one connection and each gets its own answer, in any order", async (t) => {
  const callers = new Set<string>();
  const srv = await server({
    "Test.Echo": async (args, call) => {
      callers.add(call.remoteAddress);
      const { n, delayMs } = args as { n: number; delayMs: number };
      await sleep(delayMs);
      return { n, at: Date.now() };
    },
  });
  const p = pool();
  t.after(async () => {
    p.close();
    await srv.close();
  });
  // Later calls finish first: answers are matched by id, not by order.
  const calls = Array.from({ length: 50 }, (_, n) => p.call(addr(srv), "Test.Echo", { n, delayMs: 100 - n * 2 }));
  const answers = (await Promise.all(calls)) as { n: number; at: number }[];
  assert.deepEqual(
    answers.map((a) => a.n),
    Array.from({ length: 50 }, (_, n) => n),
  );
  assert.ok(answers[49].at <= answers[0].at, "the shortest call answered before the longest");
  assert.equal(callers.size, 1, "one connection carried every call");
});

test("rpc - a cancelled call aborts the handler's signal and rejects at once", async (t) => {
  let aborted!: () => void;
  const handlerAborted = new Promise<void>((r) => (aborted = r));
  const srv = await server({
    "Test.Block": (_args, call) =>
      new Promise((_resolve, reject) => {
        call.signal.addEventListener("abort", () => {
          aborted();
          reject(new Error("aborted"));
        });
      }),
    "Test.Ping": () => "pong",
  });
  const p = pool();
  t.after(async () => {
    p.close();
    await srv.close();
  });
  const controller = new AbortController();
  const call = p.call(addr(srv), "Test.Block", null, { signal: controller.signal });
  await sleep(50);
  controller.abort();
  await assert.rejects(call, rejectsWith(RpcErrorCode.Cancelled));
  await handlerAborted;
  // The connection stays usable for other calls.
  assert.equal(await p.call(addr(srv), "Test.Ping", null), "pong");
  assert.equal(p.inFlight(addr(srv)), 0);
});

test("rpc - a call times out on its own without hurting the connection", async (t) => {
  const srv = await server({ "Test.Never": () => new Promise(() => {}), "Test.Ping": () => "pong" });
  const p = pool();
  t.after(async () => {
    p.close();
    await srv.close();
  });
  await assert.rejects(p.call(addr(srv), "Test.Never", null, { timeoutMs: 50 }), rejectsWith(RpcErrorCode.Timeout));
  assert.equal(await p.call(addr(srv), "Test.Ping", null), "pong");
});

test("rpc - errors travel with their code, message and leader hint; unknown methods are refused", async (t) => {
  const srv = await server({
    "Test.NotLeader": () => {
      throw Object.assign(new Error("raft: not the leader"), { code: "not-leader", leaderAddress: "10.0.0.2:8300" });
    },
    "Test.Fail": () => {
      throw new Error("boom");
    },
  });
  const p = pool();
  t.after(async () => {
    p.close();
    await srv.close();
  });
  await assert.rejects(p.call(addr(srv), "Test.NotLeader", null), (err: unknown) => {
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, RpcErrorCode.NotLeader);
    assert.equal(err.leader, "10.0.0.2:8300");
    assert.equal(err.safeToRetry, true);
    return true;
  });
  await assert.rejects(p.call(addr(srv), "Test.Fail", null), (err: unknown) => err instanceof RpcError && err.code === RpcErrorCode.Failed && err.message === "boom");
  await assert.rejects(p.call(addr(srv), "No.Such", null), rejectsWith(RpcErrorCode.UnknownMethod));
});

test("rpc - calls in flight fail when the server goes away; after a backoff the pool redials", async (t) => {
  let srv = await server({ "Test.Never": () => new Promise(() => {}), "Test.Ping": () => "pong" });
  const port = srv.address.port;
  const p = pool();
  t.after(async () => {
    p.close();
    await srv.close();
  });
  const address = addr(srv);
  assert.equal(await p.call(address, "Test.Ping", null), "pong");
  const pending = p.call(address, "Test.Never", null);
  await sleep(20);
  await srv.close();
  await assert.rejects(pending, rejectsWith(RpcErrorCode.Connection));
  // Nobody listens: the dial fails and the address backs off (calls fail fast meanwhile).
  await assert.rejects(p.call(address, "Test.Ping", null), rejectsWith(RpcErrorCode.Connection));
  await assert.rejects(p.call(address, "Test.Ping", null), rejectsWith(RpcErrorCode.Connection));
  assert.equal(p.available(address), false);
  srv = await server({ "Test.Ping": () => "pong again" }, { port });
  const deadline = Date.now() + 10_000;
  let answer: unknown;
  while (Date.now() < deadline) {
    try {
      answer = await p.call(address, "Test.Ping", null);
      break;
    } catch {
      await sleep(10);
    }
  }
  assert.equal(answer, "pong again");
});

test("rpc - in-flight calls are bounded: the client queues then refuses, the server refuses beyond its limit", async (t) => {
  const release: (() => void)[] = [];
  const handlers: Record<string, RpcHandler> = {
    "Test.Hold": () => new Promise<string>((r) => release.push(() => r("done"))),
  };
  const srv = await server(handlers);
  const tight = await server(handlers, { maxInFlightPerConnection: 1 });
  const p = pool({ maxInFlightPerConnection: 2, maxQueuedCalls: 1 });
  const q = pool();
  t.after(async () => {
    p.close();
    q.close();
    await srv.close();
    await tight.close();
  });
  const first = p.call(addr(srv), "Test.Hold", null);
  const second = p.call(addr(srv), "Test.Hold", null);
  const queued = p.call(addr(srv), "Test.Hold", null);
  await assert.rejects(p.call(addr(srv), "Test.Hold", null), rejectsWith(RpcErrorCode.Busy));
  await sleep(50);
  assert.equal(release.length, 2, "only two calls reached the server");
  release.shift()?.();
  await sleep(50);
  assert.equal(release.length, 2, "the queued call started when a slot freed");
  while (release.length > 0) release.shift()?.();
  assert.deepEqual(await Promise.all([first, second, queued]), ["done", "done", "done"]);

  const held = q.call(addr(tight), "Test.Hold", null);
  await sleep(30);
  await assert.rejects(q.call(addr(tight), "Test.Hold", null), rejectsWith(RpcErrorCode.Busy));
  while (release.length > 0) release.shift()?.();
  assert.equal(await held, "done");
});

test("rpc - addresses parse with and without a port", () => {
  assert.deepEqual(parseHostPort("10.0.0.1", 8300), { host: "10.0.0.1", port: 8300 });
  assert.deepEqual(parseHostPort("10.0.0.1:9300", 8300), { host: "10.0.0.1", port: 9300 });
  assert.deepEqual(parseHostPort("[::1]:9300", 8300), { host: "::1", port: 9300 });
  assert.deepEqual(parseHostPort("::1", 8300), { host: "::1", port: 8300 });
});
