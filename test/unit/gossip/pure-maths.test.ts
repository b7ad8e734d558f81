import { test } from "node:test";
import assert from "node:assert/strict";
import { Awareness } from "../../../src/gossip/awareness.ts";
import { DEFAULT_LAN_CONFIG, DEFAULT_LOCAL_CONFIG, DEFAULT_WAN_CONFIG, GossipConfigError, gossipConfig } from "../../../src/gossip/config.ts";
import { pushPullIntervalMs, retransmitLimit, suspicionTimeoutMs } from "../../../src/gossip/scaling.ts";
import { remainingSuspicionMs, Suspicion } from "../../../src/gossip/suspicion.ts";

test("scaling - retransmit limit is retransmitMult × ceil(log10(n + 1))", () => {
  const cases: [number, number, number][] = [
    [3, 0, 0],
    [3, 1, 3],
    [3, 9, 3],
    [3, 10, 6],
    [4, 99, 8],
    [4, 1000, 16],
  ];
  for (const [mult, n, want] of cases) assert.equal(retransmitLimit(mult, n), want, `mult=${mult} n=${n}`);
});

test("scaling - suspicion timeout is mult × max(1, log10 n) × probe interval", () => {
  const cases: [number, number, number, number][] = [
    [3, 1, 1000, 3000],
    [3, 10, 1000, 3000],
    [3, 100, 1000, 6000],
    [4, 1000, 1000, 12000],
    [3, 50, 1000, 5096],
  ];
  for (const [mult, n, interval, want] of cases) assert.equal(suspicionTimeoutMs(mult, n, interval), want, `n=${n}`);
});

test("scaling - push-pull interval grows logarithmically past 32 members", () => {
  assert.equal(pushPullIntervalMs(30_000, 1), 30_000);
  assert.equal(pushPullIntervalMs(30_000, 32), 30_000);
  assert.equal(pushPullIntervalMs(30_000, 33), 60_000);
  assert.equal(pushPullIntervalMs(30_000, 64), 60_000);
  assert.equal(pushPullIntervalMs(30_000, 1000), 180_000);
});

test("lifeguard - suspicion timeout falls from max to min with log-scaled confirmations", () => {
  const bounds = { minMs: 2_000, maxMs: 30_000 };
  assert.equal(remainingSuspicionMs(0, 3, 0, bounds), 30_000);
  assert.equal(remainingSuspicionMs(1, 3, 0, bounds), 16_000);
  assert.equal(remainingSuspicionMs(2, 3, 0, bounds), 7_810);
  assert.equal(remainingSuspicionMs(3, 3, 0, bounds), 2_000);
  assert.equal(remainingSuspicionMs(3, 3, 5_000, bounds), -3_000, "elapsed time is subtracted");
  assert.equal(remainingSuspicionMs(0, 0, 0, bounds), 2_000, "no confirmations expected: the minimum");
});

test("lifeguard - only new, independent suspectors confirm, up to the expected count", () => {
  const s = new Suspicion("a", 0, { expected: 2, minMs: 1_000, maxMs: 6_000 });
  assert.equal(s.deadlineMs, 6_000, "starts at the maximum");
  assert.equal(s.confirm("a", 100), false, "the original suspector does not confirm");
  assert.equal(s.confirm("b", 100), true);
  assert.equal(s.confirm("b", 200), false, "repeats do not count");
  const afterOne = s.deadlineMs;
  assert.ok(afterOne < 6_000 && afterOne > 1_000);
  assert.equal(s.confirm("c", 300), true);
  assert.equal(s.deadlineMs, 1_000, "enough confirmations: the minimum from the start");
  assert.equal(s.confirm("d", 400), false, "past the expected count nothing changes");
});

test("lifeguard - a suspicion expecting no confirmations starts at the minimum", () => {
  const s = new Suspicion("a", 500, { expected: 0, minMs: 1_000, maxMs: 6_000 });
  assert.equal(s.deadlineMs, 1_500);
});

test("lifeguard - awareness scales timeouts by score + 1, clamped to [0, max - 1]", () => {
  const a = new Awareness(8);
  assert.equal(a.scaleTimeoutMs(500), 500);
  a.applyDelta(-1);
  assert.equal(a.score, 0);
  a.applyDelta(3);
  assert.equal(a.scaleTimeoutMs(500), 2_000);
  a.applyDelta(100);
  assert.equal(a.score, 7);
  assert.equal(a.scaleTimeoutMs(1_000), 8_000);
});

test("config - WAN and local profiles override a few LAN fields", () => {
  assert.equal(DEFAULT_LAN_CONFIG.probeIntervalMs, 1_000);
  assert.equal(DEFAULT_LAN_CONFIG.suspicionMult, 4);
  assert.equal(DEFAULT_WAN_CONFIG.probeIntervalMs, 5_000);
  assert.equal(DEFAULT_WAN_CONFIG.suspicionMult, 6);
  assert.equal(DEFAULT_WAN_CONFIG.awarenessMaxMultiplier, DEFAULT_LAN_CONFIG.awarenessMaxMultiplier);
  assert.equal(DEFAULT_LOCAL_CONFIG.indirectChecks, 1);
  assert.equal(DEFAULT_LOCAL_CONFIG.probeTimeoutMs, 200);
});

test("config - bad combinations are rejected naming the field", () => {
  assert.throws(() => gossipConfig({ probeTimeoutMs: 2_000 }), (e: unknown) => e instanceof GossipConfigError && e.field === "probeTimeoutMs");
  assert.throws(() => gossipConfig({ gossipNodes: -1 }), (e: unknown) => e instanceof GossipConfigError && e.field === "gossipNodes");
  assert.equal(gossipConfig({ gossipNodes: 5 }).gossipNodes, 5);
});
