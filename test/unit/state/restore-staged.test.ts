import { test } from "node:test";
import assert from "node:assert/strict";
import type { AclPolicy, AclRole, AclToken } from "../../../src/model/acl.ts";
import type { NodeCoordinate } from "../../../src/model/catalog.ts";
import type { ConfigEntry } from "../../../src/model/config-entry.ts";
import type { PreparedQuery } from "../../../src/model/prepared-query.ts";
import type { Session } from "../../../src/model/session.ts";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { prepareRestore, restorePrepared, restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";

// Issue 12 item 6: a snapshot restore loads every table aside, in slices, and the live store
// adopts them in one short turn. Sessions, coordinates, ACL tokens, policies and roles, config
// entries and prepared queries were loaded in the restore's own turn (only the catalog and KV
// were staged), so that turn grew with their rows.

/** A store with `rows` rows in each of the tables other than catalog and KV, as snapshot bytes. */
function smallTablesSnapshot(rows: number): Uint8Array {
  const state = new StateStore();
  const ids = Array.from({ length: rows }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  state.sessions.load({ rows: ids.map((ID, i) => ({ ID, Node: `node-${i % 500}`, Name: `s${i}`, CreateIndex: 5, ModifyIndex: 5 }) as unknown as Session), lockDelays: [["held/key", 1e15]], tableIndex: 5 });
  state.coordinates.load({ rows: ids.map((_, i) => ({ Node: `node-${i}`, Segment: "", Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 } }) as unknown as NodeCoordinate), tableIndex: 6 });
  state.acl.load({
    Tokens: { rows: ids.map((AccessorID, i) => ({ AccessorID, SecretID: `secret-${i}`, Description: `t${i}`, Policies: [], CreateIndex: 7, ModifyIndex: 7 }) as unknown as AclToken), tableIndex: 7 },
    Policies: { rows: ids.map((ID, i) => ({ ID, Name: `policy-${i}`, Rules: "", CreateIndex: 7, ModifyIndex: 7 }) as unknown as AclPolicy), tableIndex: 7 },
    Roles: { rows: ids.map((ID, i) => ({ ID, Name: `role-${i}`, Policies: [], CreateIndex: 7, ModifyIndex: 7 }) as unknown as AclRole), tableIndex: 7 },
    Bootstrap: { allowBootstrap: false, resetIndex: 3 },
  });
  state.configEntries.load({ rows: ids.map((_, i) => ({ Kind: "service-defaults", Name: `svc-${i}`, Protocol: "http", CreateIndex: 8, ModifyIndex: 8 }) as unknown as ConfigEntry), tableIndex: 8, kindIndexes: [["service-defaults", 8]] });
  state.preparedQueries.load({ rows: ids.map((ID, i) => ({ ID, Name: `q-${i}`, Template: { Type: "" }, Service: { Service: "web" } }) as unknown as PreparedQuery), tableIndex: 9 });
  state.lastIndex = 9;
  return serializeState(state);
}

function everything(state: StateStore): unknown {
  return {
    sessions: state.sessions.dump(),
    coordinates: state.coordinates.dump(),
    acl: state.acl.dump(),
    configEntries: state.configEntries.dump(),
    preparedQueries: state.preparedQueries.dump(),
    autopilot: state.autopilot.dump(),
    connectCa: state.connectCa.dump(),
    lastIndex: state.lastIndex,
  };
}

test("restore staged - every table restored in slices equals the whole restore, and is indexed", () => {
  const data = smallTablesSnapshot(3_000);
  const whole = new StateStore();
  restoreState(whole, data);
  const sliced = new StateStore();
  sliced.sessions.load({ rows: [{ ID: "stale", Node: "gone" } as unknown as Session], lockDelays: [], tableIndex: 1 });
  restorePrepared(sliced, runWhole(prepareRestore(data)));
  assert.deepEqual(everything(sliced), everything(whole));
  assert.equal(sliced.sessions.get("stale"), undefined);
  // The secondary indexes came along with the rows.
  assert.equal(sliced.acl.tokens.getBySecret("secret-2999")?.Description, "t2999");
  assert.equal(sliced.acl.policies.getByName("policy-17")?.Name, "policy-17");
  assert.equal(sliced.sessions.listByNode("node-7").length, 6);
  assert.equal(sliced.preparedQueries.getByName("q-5")?.Name, "q-5");
  assert.equal(sliced.sessions.lockDelayUntil("held/key"), 1e15);
});

test("restore staged - the small tables load between pauses, and the swap does not grow with their rows", () => {
  const rows = 20_000;
  const work = prepareRestore(smallTablesSnapshot(rows));
  let pauses = 0;
  let step = work.next();
  while (step.done !== true) {
    pauses++;
    step = work.next();
  }
  // Sessions, coordinates, tokens, policies and roles pause every 512 rows; config entries and
  // prepared queries every 64.
  assert.ok(pauses >= (5 * rows) / 512 + (2 * rows) / 64, `${pauses} pauses`);
  // The turn that swaps the tables in: compare a store of 20,000 rows per table with one of 20.
  // Loading them there (as before) scaled with the rows, ~1,000 times; adopting them does not.
  const swapMs = (snapshot: Uint8Array): number => {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const prepared = runWhole(prepareRestore(snapshot));
      const target = new StateStore();
      const started = performance.now();
      restorePrepared(target, prepared);
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const small = swapMs(smallTablesSnapshot(20));
  const large = swapMs(smallTablesSnapshot(rows));
  assert.ok(large < Math.max(1, small * 50), `swap: ${large.toFixed(3)} ms for ${rows} rows per table vs ${small.toFixed(3)} ms for 20`);
});
