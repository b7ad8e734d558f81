import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfigFields } from "../../../src/model/autopilot.ts";
import type { AutopilotNodeStatus, AutopilotServerHealth } from "../../../src/server/autopilot-health.ts";
import { deadServerRemovals, stablePromotions } from "../../../src/server/autopilot-reconcile.ts";

const config: AutopilotConfigFields = { ...DEFAULT_AUTOPILOT_CONFIG, CleanupDeadServers: true, MinQuorum: 0 };

function srv(id: string, nodeStatus: AutopilotNodeStatus, over: Partial<AutopilotServerHealth> = {}): AutopilotServerHealth {
  const healthy = nodeStatus === "alive";
  return {
    id,
    name: `s${id}`,
    address: `10.0.0.${id}:8300`,
    nodeStatus,
    version: "",
    voter: true,
    leader: id === "1",
    lastIndex: 10,
    lastContactMs: healthy ? 0 : 60_000,
    meta: {},
    healthy,
    stableSinceMs: 0,
    stable: healthy,
    lastTerm: 2,
    ...over,
  };
}

const removedIds = (servers: AutopilotServerHealth[], c = config) => deadServerRemovals(servers, c).remove.map((r) => r.id);

test("autopilot cleanup - off: nothing is removed", () => {
  assert.deepEqual(removedIds([srv("1", "alive"), srv("2", "failed"), srv("3", "alive")], { ...config, CleanupDeadServers: false }), []);
});

test("autopilot cleanup - one failed voter of three is removed; of two it is not (it would take the majority)", () => {
  assert.deepEqual(removedIds([srv("1", "alive"), srv("2", "alive"), srv("3", "failed")]), ["3"]);
  const two = deadServerRemovals([srv("1", "alive"), srv("2", "failed")], config);
  assert.deepEqual(two.remove, []);
  assert.deepEqual(two.kept, [{ id: "2", name: "s2", why: "quorum" }]);
});

test("autopilot cleanup - at most (voters - 1) / 2 voters per round", () => {
  const five = [srv("1", "alive"), srv("2", "failed"), srv("3", "failed"), srv("4", "failed"), srv("5", "alive")];
  const d = deadServerRemovals(five, config);
  assert.deepEqual(
    d.remove.map((r) => r.id),
    ["2", "3"],
  );
  assert.deepEqual(d.kept, [{ id: "4", name: "s4", why: "quorum" }]);
  const four = [srv("1", "alive"), srv("2", "failed"), srv("3", "left"), srv("4", "alive")];
  assert.deepEqual(removedIds(four), ["2"]);
});

test("autopilot cleanup - never below MinQuorum voters", () => {
  const three = [srv("1", "alive"), srv("2", "alive"), srv("3", "failed")];
  const d = deadServerRemovals(three, { ...config, MinQuorum: 3 });
  assert.deepEqual(d.remove, []);
  assert.deepEqual(d.kept, [{ id: "3", name: "s3", why: "min-quorum" }]);
  assert.deepEqual(removedIds(three, { ...config, MinQuorum: 2 }), ["3"]);
  const five = [srv("1", "alive"), srv("2", "failed"), srv("3", "failed"), srv("4", "alive"), srv("5", "alive")];
  assert.deepEqual(removedIds(five, { ...config, MinQuorum: 4 }), ["2"]);
});

test("autopilot cleanup - non-voters go regardless of the voter budget, stale before failed", () => {
  const servers = [
    srv("1", "alive"),
    srv("2", "failed"),
    srv("7", "failed", { voter: false }),
    srv("8", "none", { voter: false }),
    srv("9", "none"),
  ];
  const d = deadServerRemovals(servers, config);
  assert.deepEqual(
    d.remove.map((r) => [r.id, r.reason]),
    [
      ["8", "stale"],
      ["9", "stale"],
      ["7", "failed"],
    ],
  );
  assert.deepEqual(d.kept, [{ id: "2", name: "s2", why: "quorum" }]);
});

test("autopilot cleanup - the leader is never removed; a server gossip does not know but Raft hears from is not stale", () => {
  assert.deepEqual(removedIds([srv("1", "failed"), srv("2", "alive"), srv("3", "alive")]), []);
  assert.deepEqual(removedIds([srv("1", "alive"), srv("2", "alive"), srv("3", "none", { lastContactMs: 0 })]), []);
  assert.deepEqual(removedIds([srv("1", "alive"), srv("2", "alive"), srv("3", "none", { lastContactMs: undefined })]), ["3"]);
});

test("autopilot promotion - only stable, alive non-voters", () => {
  const servers = [srv("1", "alive"), srv("2", "alive", { voter: false }), srv("3", "alive", { voter: false, stable: false }), srv("4", "failed", { voter: false })];
  assert.deepEqual(stablePromotions(servers), ["2"]);
});
