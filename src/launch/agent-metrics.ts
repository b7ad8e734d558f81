import type { Membership } from "../agent/membership.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { DEFAULT_METRICS_INTERVAL_MS, gossipPoolLabels, METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
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
  // serf labels its own series with the pool's labels (network, segment), as memberlist's.
  const lan = gossipPoolLabels("lan");
  const stopChanges = membership.onMemberChange((change) => {
    if (change.status === "alive") metrics.incrCounter(METRIC_NAMES.serfMemberJoin, 1, lan);
    else if (change.status === "failed") metrics.incrCounter(METRIC_NAMES.serfMemberFailed, 1, lan);
    else if (change.status === "left") metrics.incrCounter(METRIC_NAMES.serfMemberLeft, 1, lan);
  });
  const stopEvents = membership.onUserEvent((event) => {
    metrics.incrCounter(METRIC_NAMES.serfEvents, 1, lan);
    // Consul strips its "consul:event:" prefix from user event names in this series.
    metrics.incrCounter(`${METRIC_NAMES.serfEvents}.${event.name.replace(/^consul:event:/, "")}`, 1, lan);
  });
  let timer: TimerHandle | undefined;
  const sample = (): void => {
    const score = membership.healthScore?.();
    if (score !== undefined) metrics.setGauge(METRIC_NAMES.memberlistHealthScore, score, lan);
    // serf samples its queue depths on a timer (checkQueueDepth); here once per interval.
    for (const [pool, network] of [[membership, "lan"], [wanMembership, "wan"]] as const) {
      const depths = pool?.queueDepths?.();
      if (!depths) continue;
      const labels = gossipPoolLabels(network);
      metrics.addSample(METRIC_NAMES.serfQueueIntent, depths.intent, labels);
      metrics.addSample(METRIC_NAMES.serfQueueEvent, depths.event, labels);
      metrics.addSample(METRIC_NAMES.serfQueueQuery, depths.query, labels);
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
