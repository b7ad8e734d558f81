import type { Membership } from "../agent/membership.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { DEFAULT_METRICS_INTERVAL_MS, METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { AutopilotDuty } from "../server/autopilot.ts";

// Consul's series for gossip and autopilot, under Consul's names: serf member events as they
// happen (consul.serf.member.join|failed|left, consul.serf.events[.<name>]) and, once per
// metrics interval, the gauges Consul emits on its own timers (memberlist health score,
// autopilot healthy and failure tolerance on servers).

export interface AgentMetricsSources {
  metrics: Metrics;
  clock: Clock;
  membership: Membership;
  wanMembership?: Membership;
  autopilot?: AutopilotDuty;
}

export function startAgentMetrics(sources: AgentMetricsSources): () => void {
  const { metrics, clock, membership, wanMembership, autopilot } = sources;
  const stopChanges = membership.onMemberChange((change) => {
    if (change.status === "alive") metrics.incrCounter(METRIC_NAMES.serfMemberJoin);
    else if (change.status === "failed") metrics.incrCounter(METRIC_NAMES.serfMemberFailed);
    else if (change.status === "left") metrics.incrCounter(METRIC_NAMES.serfMemberLeft);
  });
  const stopEvents = membership.onUserEvent((event) => {
    metrics.incrCounter(METRIC_NAMES.serfEvents);
    // Consul strips its "consul:event:" prefix from user event names in this series.
    metrics.incrCounter(`${METRIC_NAMES.serfEvents}.${event.name.replace(/^consul:event:/, "")}`);
  });
  let timer: TimerHandle | undefined;
  const sample = (): void => {
    const score = membership.healthScore?.();
    if (score !== undefined) metrics.setGauge(METRIC_NAMES.memberlistHealthScore, score);
    // serf samples its queue depths on a timer (checkQueueDepth); here once per interval.
    for (const [pool, network] of [[membership, "lan"], [wanMembership, "wan"]] as const) {
      const depths = pool?.queueDepths?.();
      if (!depths) continue;
      metrics.addSample(METRIC_NAMES.serfQueueIntent, depths.intent, { network });
      metrics.addSample(METRIC_NAMES.serfQueueEvent, depths.event, { network });
      metrics.addSample(METRIC_NAMES.serfQueueQuery, depths.query, { network });
    }
    if (autopilot) {
      const state = autopilot.current();
      metrics.setGauge(METRIC_NAMES.autopilotHealthy, state.healthy ? 1 : 0);
      metrics.setGauge(METRIC_NAMES.autopilotFailureTolerance, state.failureTolerance);
    }
    timer = clock.setTimer(DEFAULT_METRICS_INTERVAL_MS, sample);
  };
  sample();
  return () => {
    stopChanges();
    stopEvents();
    timer?.cancel();
  };
}
