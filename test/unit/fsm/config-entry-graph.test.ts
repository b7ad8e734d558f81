import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { StateStore } from "../../../src/state/store.ts";

// The service-graph check runs when a config entry is applied, against the entries at that
// index: two writes that each pass alone (each checked against a state without the other, as
// two concurrent requests would be) cannot both land when together they break a chain.

const set = (entry: Record<string, unknown>): Command => ({ Type: "config-entry-set", Op: "upsert", Entry: entry as { Kind: string; Name: string } });
const SPLITTER_NEEDS_HTTP = `discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior`;

test("of two writes valid alone but not together, the second to apply is refused with a typed graph error", () => {
  const fsm = new StateMachine(new StateStore());
  assert.deepEqual(fsm.apply(1, set({ Kind: "service-defaults", Name: "web", Protocol: "http" })), { ok: true, value: true });
  const splitter = set({ Kind: "service-splitter", Name: "web", Splits: [{ Weight: 100 }] });
  const downgrade = set({ Kind: "service-defaults", Name: "web", Protocol: "tcp" });

  // Each alone, on a copy of the state before either: both pass.
  for (const alone of [splitter, downgrade]) {
    const other = new StateMachine(new StateStore());
    other.apply(1, set({ Kind: "service-defaults", Name: "web", Protocol: "http" }));
    assert.deepEqual(other.apply(2, alone), { ok: true, value: true });
  }

  // Both, in either order: the first lands, the second is refused and changes nothing.
  assert.deepEqual(fsm.apply(2, splitter), { ok: true, value: true });
  assert.deepEqual(fsm.apply(3, downgrade), { ok: false, error: SPLITTER_NEEDS_HTTP, code: "config-entry-graph" });
  assert.equal(fsm.state.configEntries.get("service-defaults", "web")?.Protocol, "http");

  const reversed = new StateMachine(new StateStore());
  reversed.apply(1, set({ Kind: "service-defaults", Name: "web", Protocol: "http" }));
  assert.deepEqual(reversed.apply(2, downgrade), { ok: true, value: true });
  assert.deepEqual(reversed.apply(3, splitter), { ok: false, error: SPLITTER_NEEDS_HTTP, code: "config-entry-graph" });
  assert.equal(reversed.state.configEntries.get("service-splitter", "web"), undefined);

  // A delete that would break the chain is refused the same way.
  assert.deepEqual(fsm.apply(4, { Type: "config-entry-delete", Op: "delete", Kind: "service-defaults", Name: "web" }), {
    ok: false,
    error: SPLITTER_NEEDS_HTTP,
    code: "config-entry-graph",
  });
});
