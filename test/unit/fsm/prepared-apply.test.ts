import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { CatalogRegisterCommand, CheckFields, Command } from "../../../src/fsm/command.ts";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";

// A large command's apply is prepared ahead on some servers (in slices, Raft host) and not on
// others (replay, a prepare that was discarded), so both must leave exactly the same state.

function check(node: string, id: string, over: Partial<CheckFields> = {}): CheckFields {
  return { Node: node, CheckID: id, Name: `check ${id}`, Status: "passing", Notes: "", Output: "", ServiceID: "", ServiceName: "", ServiceTags: [], Type: "", Definition: {}, Interval: "", Timeout: "", ExposedPort: 0, ...over };
}

function register(node: string, checks: CheckFields[], service?: CatalogRegisterCommand["Service"]): CatalogRegisterCommand {
  const cmd: CatalogRegisterCommand = {
    Type: "catalog-register",
    Node: { ID: "", Node: node, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} },
    SkipNodeUpdate: false,
    Checks: checks,
    NowMs: 1,
  };
  if (service) cmd.Service = service;
  return cmd;
}

const web = { ID: "web-1", Service: "web", Tags: ["a", "b"], Address: "", Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} };

function commands(): Command[] {
  const many = (node: string, n: number, over: (i: number) => Partial<CheckFields> = () => ({})): CheckFields[] => Array.from({ length: n }, (_, i) => check(node, `c${i}`, over(i)));
  return [
    register("n1", many("n1", 600)),
    // Same checks again: nothing changes, indexes stay.
    register("N1", many("n1", 600)),
    // Half of them change; one CheckID is given twice (the later wins, compared with the earlier).
    register("n1", [...many("n1", 600, (i) => (i % 2 === 0 ? { Status: "critical" } : {})), check("n1", "c5", { Output: "second" })]),
    // Checks on the service this very command registers, and on one already stored.
    register("n2", many("n2", 400, (i) => ({ ServiceID: "web-1", Name: `w${i}` })), web),
    register("n2", many("n2", 300, (i) => ({ ServiceID: "web-1", Notes: `again ${i}` }))),
    register("n2", many("n2", 300, () => ({ ServiceID: "web-1" })), { ...web, Tags: ["c"] }),
    // Refused: a check on a service the node does not have.
    register("n3", many("n3", 300, () => ({ ServiceID: "missing" }))),
  ];
}

test("prepared apply - registrations with many checks leave the same state prepared ahead or not", () => {
  const plain = new StateMachine(new StateStore());
  const prepared = new StateMachine(new StateStore());
  let index = 10;
  for (const cmd of commands()) {
    index++;
    const a = plain.apply(index, structuredClone(cmd));
    const copy = structuredClone(cmd);
    const ahead = runWhole(prepared.prepare(index, copy));
    assert.ok(cmd.Type !== "catalog-register" || ahead !== undefined, "a registration this wide is prepared ahead");
    const b = prepared.apply(index, copy, ahead);
    assert.deepEqual(b, a);
  }
  assert.equal(Buffer.compare(Buffer.from(serializeState(prepared.state)), Buffer.from(serializeState(plain.state))), 0);
  assert.equal(plain.state.catalog.nodeChecks("n1").find((c) => c.CheckID === "c5")?.Output, "second");
});

test("prepared apply - work prepared against another state is not used", () => {
  const fsm = new StateMachine(new StateStore());
  const first = register("n1", Array.from({ length: 300 }, (_, i) => check("n1", `c${i}`)));
  const stale = runWhole(fsm.prepare(2, first));
  // Something applies in between: the prepared rows would carry index 2 and miss this change.
  fsm.apply(1, register("n1", [check("n1", "c0", { Status: "critical" })]));
  fsm.apply(2, first, stale);
  assert.equal(fsm.state.catalog.nodeChecks("n1").find((c) => c.CheckID === "c0")?.ModifyIndex, 2);
  assert.equal(fsm.state.catalog.nodeChecks("n1").find((c) => c.CheckID === "c0")?.CreateIndex, 1);
});

test("prepared apply - a prepared registration holds its rows and table, no second copy of its checks", () => {
  const fsm = new StateMachine(new StateStore());
  const cmd = register("n1", Array.from({ length: 300 }, (_, i) => check("n1", `c${i}`)));
  const ahead = runWhole(fsm.prepare(1, cmd));
  // Anything else kept here survives every scavenge until the apply (issue 12 item 6).
  assert.deepEqual(Object.keys(ahead?.catalogRegister ?? {}).sort(), ["rows", "stateIndex"]);
  assert.equal(ahead?.catalogRegister?.rows.rows.length, 300);
  assert.equal(ahead?.catalogRegister?.rows.table?.rows.size, 300);
  fsm.apply(1, cmd, ahead);
  assert.equal(fsm.state.catalog.nodeChecks("n1").length, 300);
});
