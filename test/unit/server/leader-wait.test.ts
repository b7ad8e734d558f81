import { test } from "node:test";
import assert from "node:assert/strict";
import type { Command } from "../../../src/fsm/command.ts";
import type { ApiRequest } from "../../../src/http/context.ts";
import type { RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { Consensus } from "../../../src/server/consensus.ts";
import { followerRequestForwarder, LeaderForwardingConsensus, RpcMethod, type ApplyReply } from "../../../src/server/leader-forwarding.ts";
import { awaitKnownLeader, holdRetryPauseMs, holdUntilLeader, JITTER_FRACTION, type LeaderHold } from "../../../src/server/leader-wait.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";
import { RpcErrorCode, type RpcHandler } from "../../../src/transport/rpc.ts";
import { freePort } from "../../support/agent-process.ts";
import { manualClock, type ManualClock } from "../agent/fake-clock.ts";

const HOLD_MS = 7000;

/** A server's Raft view the test steers: who leads, and leadership notifications. */
class SteeredConsensus implements Consensus {
  leader = "";
  leading = false;
  proposals: Command[] = [];
  proposeResult: () => Promise<ApplyReply> = () => Promise.resolve({ index: 1, result: { ok: true, value: true } });
  readonly #listeners = new Set<(isLeader: boolean) => void>();

  propose(cmd: Command): Promise<ApplyReply> {
    this.proposals.push(cmd);
    if (!this.leading) return Promise.reject(Object.assign(new Error("not the leader"), { code: "not-leader" }));
    return this.proposeResult();
  }
  isLeader(): boolean {
    return this.leading;
  }
  leaderAddress(): string {
    return this.leader;
  }
  lastContactMs(): number {
    return 0;
  }
  peers(): string[] {
    return [];
  }
  appliedIndex(): number {
    return 0;
  }
  readBarrier(): Promise<void> {
    return Promise.resolve();
  }
  onLeadershipChange(cb: (isLeader: boolean) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }
  listeners(): number {
    return this.#listeners.size;
  }
  /** This server wins the election. */
  winElection(address: string): void {
    this.leading = true;
    this.leader = address;
    for (const cb of [...this.#listeners]) cb(true);
  }
}

function hold(clock: ManualClock, holdTimeoutMs = HOLD_MS): LeaderHold {
  return { clock, rng: seededRng(7), holdTimeoutMs };
}

/** Lets pending promise callbacks (and socket I/O) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Settles a promise into a readable state without awaiting it. */
function track<T>(p: Promise<T>): { state: "pending" | "resolved" | "rejected"; value?: T; error?: unknown } {
  const out: { state: "pending" | "resolved" | "rejected"; value?: T; error?: unknown } = { state: "pending" };
  p.then(
    (value) => Object.assign(out, { state: "resolved", value }),
    (error: unknown) => Object.assign(out, { state: "rejected", error }),
  );
  return out;
}

/** Advances the manual clock in steps, letting async work run between them. */
async function advance(clock: ManualClock, ms: number, stepMs = 50): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    clock.advance(Math.min(stepMs, ms - done));
    await settle();
  }
}

function apiRequest(method: string, path: string, query: Record<string, string> = {}): ApiRequest {
  const rawQuery = new URLSearchParams(query).toString();
  return { method, path, suffix: "", query, rawQuery, headers: {}, body: undefined, remoteAddress: "127.0.0.1", agentNode: "node1" };
}

async function rpcServer(handlers: Record<string, RpcHandler>): Promise<RunningRpcServer> {
  return startRpcServer({ host: "127.0.0.1", port: 0, handlers: new Map(Object.entries(handlers)), logger: silentLogger, maxConnections: 16, maxInFlightPerConnection: 64 });
}

const kvSet: Command = { Type: "kv-set", Op: "set", Key: "k", Value: Buffer.from("v"), Flags: 0n, NowMs: 0 };
const signal = (): AbortSignal => new AbortController().signal;

test("leader wait - retry pauses are a random part of a sixteenth of the hold", () => {
  const h = hold(manualClock());
  for (let i = 0; i < 200; i++) {
    const pause = holdRetryPauseMs(h);
    assert.ok(pause >= 1 && pause <= HOLD_MS / JITTER_FRACTION, `pause ${pause}`);
  }
});

test("leader wait - a leader elected within the hold lets the waiting request proceed", async () => {
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const waiting = track(awaitKnownLeader(consensus, hold(clock)));
  await advance(clock, 2000);
  assert.equal(waiting.state, "pending", "held while no leader is known");
  consensus.leader = "10.0.0.2:8300"; // another server won: no notification, found at the next retry
  await advance(clock, HOLD_MS / JITTER_FRACTION + 50);
  assert.equal(waiting.state, "resolved");
});

test("leader wait - without a leader the request fails with No cluster leader once the hold is over, not before", async () => {
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const waiting = track(awaitKnownLeader(consensus, hold(clock)));
  await advance(clock, HOLD_MS - 50);
  assert.equal(waiting.state, "pending");
  await advance(clock, 100);
  assert.equal(waiting.state, "rejected");
  const err = waiting.error as { statusCode?: number; message?: string };
  assert.equal(err.statusCode, 500);
  assert.equal(err.message, "No cluster leader");
  assert.equal(clock.pendingTimers(), 0, "no timer left behind");
  assert.equal(consensus.listeners(), 0, "no leadership listener left behind");
});

test("leader wait - this server winning the election wakes the held request at once", async () => {
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const waiting = track(awaitKnownLeader(consensus, hold(clock)));
  await settle();
  consensus.winElection("10.0.0.1:8300");
  await settle();
  assert.equal(waiting.state, "resolved", "no clock advance needed");
});

test("leader wait - a hold of 0 fails at once and a non-retryable failure is not retried", async () => {
  const clock = manualClock();
  await assert.rejects(awaitKnownLeader(new SteeredConsensus(), hold(clock, 0)), /No cluster leader/);
  let attempts = 0;
  const boom = new Error("boom");
  await assert.rejects(
    holdUntilLeader(hold(clock), () => {
      attempts++;
      throw boom;
    }),
    (err: unknown) => err === boom,
  );
  assert.equal(attempts, 1);
});

test("leader wait - an aborted request stops holding", async () => {
  const clock = manualClock();
  const controller = new AbortController();
  const waiting = track(awaitKnownLeader(new SteeredConsensus(), hold(clock), controller.signal));
  await settle();
  controller.abort();
  await settle();
  await settle();
  assert.equal(waiting.state, "rejected");
});

test("leader wait - a proposal on a follower without a leader is held, then forwarded to the elected leader", async (t) => {
  let applied = 0;
  const leaderSrv = await rpcServer({
    [RpcMethod.Apply]: (): ApplyReply => {
      applied++;
      return { index: 9, result: { ok: true, value: true } };
    },
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(1) });
  t.after(async () => {
    pool.close();
    await leaderSrv.close();
  });
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const forwarding = new LeaderForwardingConsensus(consensus, pool, { hold: hold(clock) });
  const proposal = track(forwarding.propose(kvSet));
  await advance(clock, 3000);
  assert.equal(proposal.state, "pending");
  consensus.leader = `127.0.0.1:${leaderSrv.address.port}`;
  await advance(clock, HOLD_MS / JITTER_FRACTION + 50);
  for (let i = 0; i < 50 && proposal.state === "pending"; i++) await settle();
  assert.equal(proposal.state, "resolved", String(proposal.error));
  assert.deepEqual(proposal.value, { index: 9, result: { ok: true, value: true } });
  assert.equal(applied, 1);
});

test("leader wait - a proposal held on a candidate that wins runs locally; without a leader it fails after the hold", async (t) => {
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(2) });
  t.after(() => pool.close());
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const forwarding = new LeaderForwardingConsensus(consensus, pool, { hold: hold(clock) });
  const won = track(forwarding.propose(kvSet));
  await settle();
  consensus.winElection("10.0.0.1:8300");
  for (let i = 0; i < 5 && won.state === "pending"; i++) await settle();
  assert.equal(won.state, "resolved");
  assert.equal(consensus.proposals.length, 1, "proposed once, here");

  const lonely = new LeaderForwardingConsensus(new SteeredConsensus(), pool, { hold: hold(clock) });
  const lost = track(lonely.propose(kvSet));
  await advance(clock, HOLD_MS + 100);
  assert.equal(lost.state, "rejected");
  assert.equal((lost.error as { code?: string }).code, RpcErrorCode.NoLeader);
  assert.equal((lost.error as Error).message, "No cluster leader");
});

test("leader wait - a write caught by a step-down is not sent again (it may still commit)", async (t) => {
  let forwarded = 0;
  const other = await rpcServer({
    [RpcMethod.Apply]: (): ApplyReply => {
      forwarded++;
      return { index: 2, result: { ok: true, value: true } };
    },
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(3) });
  t.after(async () => {
    pool.close();
    await other.close();
  });
  const consensus = new SteeredConsensus();
  consensus.winElection("10.0.0.1:8300");
  consensus.proposeResult = () => {
    // Leadership moves on while the entry is in flight.
    consensus.leading = false;
    consensus.leader = `127.0.0.1:${other.address.port}`;
    return Promise.reject(Object.assign(new Error("not the leader"), { code: "not-leader" }));
  };
  const forwarding = new LeaderForwardingConsensus(consensus, pool, { hold: hold(manualClock()) });
  await assert.rejects(forwarding.propose(kvSet), (err: unknown) => {
    const e = err as { code?: string; message?: string };
    return e.code === RpcErrorCode.LeadershipLost && e.message === "leadership lost while committing log";
  });
  assert.equal(forwarded, 0);
});

test("leader wait - a follower answers ?stale reads itself without holding, and holds writes until the leader is known", async (t) => {
  const leaderSrv = await rpcServer({
    [RpcMethod.HttpForward]: (): RawApiResponse => ({ status: 200, headers: {}, body: "true" }),
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(4) });
  t.after(async () => {
    pool.close();
    await leaderSrv.close();
  });
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const forward = followerRequestForwarder(consensus, pool, hold(clock));

  assert.equal(await forward(apiRequest("GET", "/v1/kv/k", { stale: "" }), { signal }), undefined, "stale: answered here, no clock advance needed");

  const write = track(Promise.resolve(forward(apiRequest("PUT", "/v1/kv/k"), { signal })));
  const read = track(Promise.resolve(forward(apiRequest("GET", "/v1/kv/k"), { signal })));
  await advance(clock, 4000);
  assert.equal(write.state, "pending");
  assert.equal(read.state, "pending", "default-consistency reads are held too");
  consensus.leader = `127.0.0.1:${leaderSrv.address.port}`;
  await advance(clock, HOLD_MS / JITTER_FRACTION + 50);
  for (let i = 0; i < 50 && (write.state === "pending" || read.state === "pending"); i++) await settle();
  assert.equal(write.state, "resolved", String(write.error));
  assert.equal(write.value?.status, 200);
  assert.equal(read.state, "resolved");

  const lonely = followerRequestForwarder(new SteeredConsensus(), pool, hold(clock));
  const refused = track(Promise.resolve(lonely(apiRequest("PUT", "/v1/kv/k"), { signal })));
  await advance(clock, HOLD_MS - 100);
  assert.equal(refused.state, "pending");
  await advance(clock, 200);
  assert.equal(refused.state, "rejected");
  assert.equal((refused.error as { statusCode?: number }).statusCode, 500);
  assert.equal((refused.error as Error).message, "No cluster leader");
});

test("leader wait - a write to a leader that refuses connections is retried; one cut off mid-call is not", async (t) => {
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(5), reconnectBaseMs: 1, reconnectMaxMs: 2 });
  const servers: RunningRpcServer[] = [];
  t.after(async () => {
    pool.close();
    for (const s of servers) await s.close();
  });
  const clock = manualClock();
  const consensus = new SteeredConsensus();
  const forward = followerRequestForwarder(consensus, pool, hold(clock));

  // The old leader is gone (nothing listens): nothing was sent, so the write waits for the new one.
  consensus.leader = `127.0.0.1:${await freePort()}`;
  const write = track(Promise.resolve(forward(apiRequest("PUT", "/v1/kv/k"), { signal })));
  for (let i = 0; i < 20; i++) await settle();
  assert.equal(write.state, "pending", "held after connection refused");
  const newLeader = await rpcServer({ [RpcMethod.HttpForward]: (): RawApiResponse => ({ status: 200, headers: {}, body: "true" }) });
  servers.push(newLeader);
  consensus.leader = `127.0.0.1:${newLeader.address.port}`;
  await advance(clock, HOLD_MS / JITTER_FRACTION + 50);
  for (let i = 0; i < 50 && write.state === "pending"; i++) await settle();
  assert.equal(write.state, "resolved", String(write.error));
  assert.equal(write.value?.status, 200);

  // A leader that dies while it holds the write: the write may have been applied.
  let received = 0;
  const dying = await rpcServer({
    [RpcMethod.HttpForward]: () => {
      received++;
      return new Promise<never>(() => {});
    },
  });
  consensus.leader = `127.0.0.1:${dying.address.port}`;
  const cut = track(Promise.resolve(forward(apiRequest("PUT", "/v1/kv/k"), { signal })));
  for (let i = 0; i < 50 && received === 0; i++) await settle();
  assert.equal(received, 1);
  await dying.close();
  for (let i = 0; i < 50 && cut.state === "pending"; i++) await settle();
  assert.equal(cut.state, "rejected", "answered at once, not held");
  assert.match((cut.error as Error).message, /^rpc error making call: /);
});
