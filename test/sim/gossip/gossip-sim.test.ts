import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LAN_CONFIG } from "../../../src/gossip/config.ts";
import { coordinateScenario, crashScenario, lossScenario, partitionScenario, slowMembersScenario, swimDetectionBoundMs } from "./scenarios.ts";
import type { ScenarioResult } from "./scenarios.ts";

// A quick slice of the gossip simulator for `npm test`: the same scenarios as
// `npm run sim -- gossip --seeds A..B`, at 200 members instead of 1,000.

function assertPassed(r: ScenarioResult): void {
  assert.deepEqual(r.failures, [], `${r.name}: ${r.failures.join("; ")}`);
}

test("gossip sim - a crashed member is declared dead everywhere within the SWIM bound", () => {
  const r = crashScenario(11, 200);
  assertPassed(r);
  assert.ok(r.metrics.crashDetectedEverywhereMaxMs <= swimDetectionBoundMs(DEFAULT_LAN_CONFIG, 200));
  assert.equal(r.metrics.falseDeaths, 0);
});

test("gossip sim - no healthy member dies at 10 % packet loss, UDP only", () => {
  const r = lossScenario(12, 200, { lossRate: 0.1, durationMs: 20_000, tcpFallbackProbe: false });
  assertPassed(r);
  assert.equal(r.metrics.falseDeaths, 0);
});

test("gossip sim - slow members do not get healthy ones declared dead", () => {
  assertPassed(slowMembersScenario(13, 100, 4));
});

test("gossip sim - a healed partition merges back", () => {
  assertPassed(partitionScenario(14, 60));
});

test("gossip sim - a seed replays exactly", () => {
  assert.deepEqual(lossScenario(15, 100, { lossRate: 0.1, durationMs: 15_000, tcpFallbackProbe: false }), lossScenario(15, 100, { lossRate: 0.1, durationMs: 15_000, tcpFallbackProbe: false }));
});

test("gossip sim - Vivaldi estimates every pair's RTT within 2x of the truth after three minutes of probing", () => {
  const r = coordinateScenario(16, 30, 180_000);
  assertPassed(r);
  assert.equal(r.metrics.pairs, 435);
});
