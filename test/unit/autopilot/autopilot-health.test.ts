import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_AUTOPILOT_CONFIG, type AutopilotConfigFields } from "../../../src/model/autopilot.ts";
import { computeAutopilotState, type AutopilotServerInput, type AutopilotState } from "../../../src/server/autopilot-health.ts";

const config: AutopilotConfigFields = { ...DEFAULT_AUTOPILOT_CONFIG, LastContactThresholdMs: 200, MaxTrailingLogs: 10, ServerStabilizationTimeMs: 10_000 };

function server(id: string, over: Partial<AutopilotServerInput> = {}): AutopilotServerInput {
  return { id, name: id, address: `10.0.0.${id}:8300`, nodeStatus: "alive", version: "1.20.0", voter: true, leader: false, lastIndex: 100, lastContactMs: 0, meta: {}, ...over };
}

function judge(servers: AutopilotServerInput[], nowMs: number, previous?: AutopilotState, c = config): AutopilotState {
  return computeAutopilotState({ nowMs, config: c, servers, leaderLastIndex: 100, term: 7, previous });
}

test("autopilot health - alive, recently contacted and caught up is healthy; each rule alone makes a server unhealthy", () => {
  const s = judge(
    [
      server("1", { leader: true }),
      server("2"),
      server("3", { nodeStatus: "failed" }),
      server("4", { lastContactMs: 201 }),
      server("5", { lastIndex: 89 }),
      server("6", { lastIndex: 90, lastContactMs: 200 }),
    ],
    1_000,
  );
  assert.deepEqual(
    s.servers.map((x) => [x.id, x.healthy]),
    [["1", true], ["2", true], ["3", false], ["4", false], ["5", false], ["6", true]],
  );
  assert.equal(s.healthy, false);
  assert.equal(s.leader, "1");
  assert.ok(s.servers.every((x) => x.lastTerm === 7));
});

test("autopilot health - unknown contact and index (a follower's view) are judged on gossip alone", () => {
  const s = computeAutopilotState({ nowMs: 1, config, servers: [server("1", { lastIndex: undefined, lastContactMs: undefined })], leaderLastIndex: undefined, term: 1, previous: undefined });
  assert.equal(s.servers[0].healthy, true);
});

test("autopilot health - failure tolerance is healthy voters minus quorum; non-voters never count", () => {
  const five = ["1", "2", "3", "4", "5"].map((id) => server(id, { leader: id === "1" }));
  assert.equal(judge(five, 0).failureTolerance, 2);
  five[4] = server("5", { nodeStatus: "failed" });
  assert.equal(judge(five, 0).failureTolerance, 1);
  const withLearner = [...five.slice(0, 3), server("9", { voter: false })];
  const s = judge(withLearner, 0);
  assert.equal(s.failureTolerance, 1);
  assert.deepEqual(s.voters, ["1", "2", "3"]);
  assert.equal(s.servers.at(-1)?.id, "9");
});

test("autopilot health - StableSince moves only when health flips", () => {
  const first = judge([server("1", { leader: true }), server("2")], 1_000);
  const second = judge([server("1", { leader: true }), server("2")], 3_000, first);
  assert.equal(second.servers[1].stableSinceMs, 1_000);
  const flipped = judge([server("1", { leader: true }), server("2", { nodeStatus: "failed" })], 5_000, second);
  assert.equal(flipped.servers[1].stableSinceMs, 5_000);
  assert.equal(flipped.servers[0].stableSinceMs, 1_000);
  assert.equal(flipped.firstStateMs, 1_000);
});

test("autopilot health - a recovered voter counts for failure tolerance only after the stabilization time", () => {
  const ids = ["1", "2", "3"];
  const all = (failed?: string) => ids.map((id) => server(id, { leader: id === "1", nodeStatus: id === failed ? "failed" : "alive" }));
  let s = judge(all(), 0);
  s = judge(all(), 20_000, s);
  assert.equal(s.failureTolerance, 1);
  s = judge(all("3"), 21_000, s);
  assert.equal(s.failureTolerance, 0);
  s = judge(all(), 22_000, s); // 3 is back: healthy, but not yet stable
  assert.equal(s.servers[2].healthy, true);
  assert.equal(s.servers[2].stable, false);
  assert.equal(s.failureTolerance, 0);
  assert.equal(s.optimisticFailureTolerance, 1);
  s = judge(all(), 31_999, s);
  assert.equal(s.failureTolerance, 0);
  s = judge(all(), 32_000, s);
  assert.equal(s.failureTolerance, 1);
});

test("autopilot health - stabilization is waived while autopilot has judged for less than that long", () => {
  const s = judge(["1", "2", "3"].map((id) => server(id, { leader: id === "1" })), 0);
  assert.ok(s.servers.every((x) => x.stable));
  assert.equal(s.failureTolerance, 1);
  const later = judge(["1", "2", "3", "4", "5"].map((id) => server(id, { leader: id === "1" })), 10_001, s);
  // 4 and 5 are new once the grace is over: they do not count yet.
  assert.deepEqual(
    later.servers.map((x) => x.stable),
    [true, true, true, false, false],
  );
  assert.equal(later.failureTolerance, 0);
  assert.equal(later.optimisticFailureTolerance, 2);
});
