import { test } from "node:test";
import assert from "node:assert/strict";
import { StateStore } from "../../../src/state/store.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { AclTokenReaper } from "../../../src/server/acl-token-reaper.ts";
import { manualClock } from "../agent/fake-clock.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";
import { silentLogger as quiet } from "../../../src/runtime/logger.ts";

function tokenFields(accessor: string, expiration?: string, local = false): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: `s-${accessor}`, Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: local, CreateTime: "2026-01-01T00:00:00Z", Hash: "", ExpirationTime: expiration,
  };
}

test("the leader deletes expired tokens (global and local), in batches, and keeps the rest", async () => {
  const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
  const state = new StateStore();
  const consensus = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  for (const t of [
    tokenFields("a", "2026-01-01T00:00:30Z"),
    tokenFields("b", "2026-01-01T00:00:40Z", true),
    tokenFields("c", "2026-01-01T00:10:00Z"),
    tokenFields("d"),
    tokenFields("e", "2026-01-01T00:00:20Z"),
  ]) await consensus.propose({ Type: "acl-token-set", Token: t });
  const reaper = new AclTokenReaper({ clock, consensus, state, logger: quiet, intervalMs: 1000, batchSize: 1 });
  assert.equal(await reaper.reapOnce(), 0);
  clock.advance(60_000);
  // batch of one per locality per pass
  assert.equal(await reaper.reapOnce(), 2);
  assert.deepEqual(state.acl.tokens.list().map((t) => t.AccessorID), ["a", "c", "d"]);
  assert.equal(await reaper.reapOnce(), 1);
  assert.deepEqual(state.acl.tokens.list().map((t) => t.AccessorID), ["c", "d"]);

  // the timer drives passes by itself
  reaper.start();
  clock.advance(600_000);
  await new Promise((r) => setImmediate(r));
  clock.advance(1_000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(state.acl.tokens.list().map((t) => t.AccessorID), ["d"]);
  reaper.stop();
  assert.equal(clock.pendingTimers(), 0);
});

test("a follower never reaps", async () => {
  const clock = manualClock(Date.parse("2026-01-01T01:00:00Z"));
  const state = new StateStore();
  const local = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  await local.propose({ Type: "acl-token-set", Token: tokenFields("a", "2026-01-01T00:00:30Z") });
  const follower = Object.assign(Object.create(local) as LocalLog, { isLeader: () => false });
  const reaper = new AclTokenReaper({ clock, consensus: follower, state, logger: quiet });
  assert.equal(await reaper.reapOnce(), 0);
  assert.equal(state.acl.tokens.size, 1);
});
