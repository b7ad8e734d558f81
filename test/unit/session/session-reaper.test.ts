import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { SessionReaper } from "../../../src/server/session-reaper.ts";
import { SessionTtlDuty } from "../../../src/server/session-ttl-duty.ts";
import { StateStore } from "../../../src/state/store.ts";
import { FakeClock, check, S1, S2 } from "./fixtures.ts";

test("reaper - a TTL session expires after TTL x 2 without renewal, not before", () => {
  const r = new SessionReaper();
  r.sync([{ ID: S1, TTL: "10s" }], 0);
  assert.deepEqual(r.tick(19_999), []);
  assert.deepEqual(r.tick(20_000), [S1]);
  assert.deepEqual(r.tick(40_000), [], "reported once");
});

test("reaper - renewal restarts the full TTL x 2", () => {
  const r = new SessionReaper();
  r.sync([{ ID: S1, TTL: "10s" }], 0);
  assert.equal(r.renew(S1, 15_000), true);
  assert.deepEqual(r.tick(34_999), []);
  assert.deepEqual(r.tick(35_000), [S1]);
  assert.equal(r.renew(S2, 0), false);
});

test("reaper - sessions without TTL get no timer; vanished sessions are dropped", () => {
  const r = new SessionReaper();
  r.sync([{ ID: S1, TTL: "" }, { ID: S2, TTL: "30s" }], 0);
  assert.equal(r.size, 1);
  assert.equal(r.nextDeadlineMs(), 60_000);
  r.sync([], 1);
  assert.equal(r.size, 0);
  assert.equal(r.nextDeadlineMs(), undefined);
});

test("reaper - a new leader restarts every timer in full", () => {
  const r = new SessionReaper();
  r.sync([{ ID: S1, TTL: "10s" }], 0);
  r.restartAll(19_000);
  assert.deepEqual(r.tick(20_000), []);
  assert.deepEqual(r.tick(39_000), [S1]);
});

async function dutySetup() {
  const clock = new FakeClock();
  const state = new StateStore();
  const consensus = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  await consensus.propose({
    Type: "catalog-register",
    Node: { ID: "", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: null },
    SkipNodeUpdate: false,
    Checks: [check("n1", {})],
  });
  const duty = new SessionTtlDuty({ clock, consensus, state, logger: silentLogger });
  duty.start();
  const create = (id: string, ttl: string, lockDelayNs = 15e9) =>
    consensus.propose({
      Type: "session-create",
      Session: { ID: id, Name: "", Node: "n1", LockDelay: lockDelayNs, Behavior: "release", TTL: ttl, NodeChecks: null, ServiceChecks: null },
    });
  return { clock, state, consensus, duty, create };
}

test("session ttl duty - expiry driven by the clock destroys the session and releases its lock with lock-delay", async () => {
  const { clock, state, consensus, duty, create } = await dutySetup();
  await create(S1, "10s");
  await create(S2, "");
  await Promise.resolve();
  await consensus.propose({ Type: "kv-set", Op: "lock", Key: "leader", Value: Buffer.from("me"), Flags: 0n, Session: S1, NowMs: clock.now() });
  await clock.advance(19_000);
  assert.ok(state.sessions.get(S1), "alive before 2 x TTL");
  await clock.advance(1_000);
  assert.equal(state.sessions.get(S1), undefined, "gone at 2 x TTL");
  assert.ok(state.sessions.get(S2), "no TTL, no expiry");
  assert.equal(state.kv.get("leader")!.Session, "");
  const { result } = await consensus.propose({ Type: "kv-set", Op: "lock", Key: "leader", Value: Buffer.from("you"), Flags: 0n, Session: S2, NowMs: clock.now() + 14_999 });
  assert.deepEqual(result, { ok: true, value: false }, "lock-delay of 15s holds");
  await clock.advance(15_000);
  const again = await consensus.propose({ Type: "kv-set", Op: "lock", Key: "leader", Value: Buffer.from("you"), Flags: 0n, Session: S2, NowMs: clock.now() });
  assert.deepEqual(again.result, { ok: true, value: true });
  duty.stop();
});

test("session ttl duty - renewals keep a session alive indefinitely", async () => {
  const { clock, state, duty, create } = await dutySetup();
  await create(S1, "10s");
  await Promise.resolve();
  for (let i = 0; i < 10; i++) {
    await clock.advance(5_000);
    assert.equal(duty.renew(S1), true);
  }
  assert.ok(state.sessions.get(S1));
  await clock.advance(20_000);
  assert.equal(state.sessions.get(S1), undefined);
  duty.stop();
  assert.equal(clock.pendingTimers, 0, "stop leaves no timer behind");
});
