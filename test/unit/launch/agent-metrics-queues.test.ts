// serf's queue depths reach /v1/agent/metrics as Consul's samples, per pool (network label).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Membership } from "../../../src/agent/membership.ts";
import { startAgentMetrics } from "../../../src/launch/agent-metrics.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { singleIntervalMetrics } from "../../support/metrics.ts";

function pool(depths: { intent: number; event: number; query: number }): Membership {
  const partial: Pick<Membership, "onMemberChange" | "onUserEvent" | "healthScore" | "queueDepths"> = {
    onMemberChange: () => () => {},
    onUserEvent: () => () => {},
    healthScore: () => 0,
    queueDepths: () => depths,
  };
  return partial as Membership;
}

test("agent metrics - consul.serf.queue.Intent/Event/Query sampled for the LAN and WAN pools", () => {
  const metrics = singleIntervalMetrics();
  const stop = startAgentMetrics({ metrics, clock: systemClock, membership: pool({ intent: 2, event: 5, query: 0 }), wanMembership: pool({ intent: 1, event: 0, query: 0 }) });
  stop();
  const samples = metrics.summary().Samples.map((s) => `${s.Name}{${s.Labels.network}}=${s.Sum}`).filter((s) => s.startsWith("consul.serf.queue."));
  assert.deepEqual(samples.sort(), [
    "consul.serf.queue.Event{lan}=5",
    "consul.serf.queue.Event{wan}=0",
    "consul.serf.queue.Intent{lan}=2",
    "consul.serf.queue.Intent{wan}=1",
    "consul.serf.queue.Query{lan}=0",
    "consul.serf.queue.Query{wan}=0",
  ]);
});
