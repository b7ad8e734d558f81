import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRng, type Rng } from "../../../src/runtime/rng.ts";
import { SessionReaper } from "../../../src/server/session-reaper.ts";
import { FsmHarness } from "./fixtures.ts";

// Random sessions (TTL, lock-delay, behavior, bound check) acquire, release, renew, expire and
// get invalidated by a flapping check, all through fsm apply with time inside the commands.
// After every step: at most one client believes it holds each key, the store agrees with it,
// no key is locked by a session that no longer exists, and no acquire succeeds in lock-delay.

const KEYS = ["service/leader", "locks/a", "locks/b"];
const STEPS = 1500;
const SEEDS = 25;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.float() * xs.length)];
}

interface Tally {
  acquired: number;
  expired: number;
  refusedInDelay: number;
}

function runSeed(seed: number, tally: Tally): void {
  const rng = seededRng(seed);
  const h = new FsmHarness();
  const reaper = new SessionReaper();
  let now = 1_000_000;
  let checkStatus: "passing" | "critical" = "passing";
  h.registerNode("n1", [{ CheckID: "serfHealth" }, { CheckID: "flappy", Status: checkStatus }], now);
  /** What clients believe: key → sessions whose acquire said true and who have not let go. */
  const believers = new Map<string, Set<string>>(KEYS.map((k) => [k, new Set()]));
  /** key → time before which a successful acquire would break lock-delay. */
  const delayUntil = new Map<string, number>();
  let live: string[] = [];

  const forget = (gone: string[]): void => {
    for (const id of gone) {
      const s = h.state.sessions.get(id);
      if (s) continue;
      live = live.filter((x) => x !== id);
      for (const set of believers.values()) set.delete(id);
    }
  };
  const noteInvalidation = (ids: string[], at: number): void => {
    for (const id of ids) {
      const s = h.state.sessions.get(id);
      if (!s) continue;
      for (const k of KEYS) if (h.state.kv.get(k)?.Session === id && s.LockDelay > 0) delayUntil.set(k, at + Math.min(s.LockDelay / 1e6, 60_000));
    }
  };

  for (let step = 0; step < STEPS; step++) {
    const roll = rng.float();
    if (roll < 0.12 && live.length < 6) {
      const id = rng.uuid();
      const ttl = pick(rng, ["", "10s", "15s", "30s"]);
      const r = h.createSession(id, {
        TTL: ttl,
        LockDelay: pick(rng, [0, 1e9, 15e9, 120e9]),
        Behavior: pick(rng, ["release", "delete"] as const),
        NodeChecks: rng.float() < 0.5 ? ["serfHealth", "flappy"] : ["serfHealth"],
      });
      if (r.ok) {
        live.push(id);
        reaper.sync(h.state.sessions.list(), now);
      }
    } else if (roll < 0.45 && live.length > 0) {
      const id = pick(rng, live);
      const key = pick(rng, KEYS);
      const r = h.kv("lock", key, `v${step}`, id, now);
      assert.ok(r.ok);
      if (r.value === true) {
        assert.ok(now >= (delayUntil.get(key) ?? 0), `acquire of ${key} inside its lock-delay`);
        believers.get(key)!.add(id);
        tally.acquired++;
      } else if (now < (delayUntil.get(key) ?? 0) && !h.state.kv.get(key)?.Session) {
        tally.refusedInDelay++;
      }
    } else if (roll < 0.6 && live.length > 0) {
      const id = pick(rng, live);
      const key = pick(rng, KEYS);
      const r = h.kv("unlock", key, "", id, now);
      if (r.ok && r.value === true) believers.get(key)!.delete(id);
    } else if (roll < 0.72 && live.length > 0) {
      reaper.renew(pick(rng, live), now);
    } else if (roll < 0.8 && live.length > 0) {
      const id = pick(rng, live);
      noteInvalidation([id], now);
      h.apply({ Type: "session-destroy", ID: id, NowMs: now });
      forget([id]);
    } else if (roll < 0.86) {
      checkStatus = checkStatus === "passing" ? "critical" : "passing";
      const bound = live.filter((id) => h.state.sessions.get(id)?.NodeChecks?.includes("flappy"));
      if (checkStatus === "critical") noteInvalidation(bound, now);
      h.registerNode("n1", [{ CheckID: "serfHealth" }, { CheckID: "flappy", Status: checkStatus }], now);
      forget(bound);
    } else {
      now += Math.floor(rng.float() * 12_000);
      const expired = reaper.tick(now);
      tally.expired += expired.length;
      for (const id of expired) {
        noteInvalidation([id], now);
        h.apply({ Type: "session-destroy", ID: id, NowMs: now });
      }
      forget(expired);
      reaper.sync(h.state.sessions.list(), now);
    }

    for (const key of KEYS) {
      const holders = believers.get(key)!;
      const entry = h.state.kv.get(key);
      assert.ok(holders.size <= 1, `SEED=${seed} step ${step}: ${holders.size} holders of ${key}`);
      const [holder] = holders;
      assert.equal(entry?.Session || undefined, holder, `SEED=${seed} step ${step}: store and holder disagree on ${key}`);
      if (entry?.Session) assert.ok(h.state.sessions.get(entry.Session), `SEED=${seed} step ${step}: ${key} locked by a dead session`);
    }
  }
}

test("lock invariant - at most one holder per lock key under random expiry, renewal, acquire and release", () => {
  const tally: Tally = { acquired: 0, expired: 0, refusedInDelay: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) runSeed(seed, tally);
  // The run must actually have exercised each path it claims to check.
  assert.ok(tally.acquired > 100, `acquired ${tally.acquired}`);
  assert.ok(tally.expired > 10, `expired ${tally.expired}`);
  assert.ok(tally.refusedInDelay > 10, `refused in delay ${tally.refusedInDelay}`);
});
