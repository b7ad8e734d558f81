import { systemClock } from "../../src/runtime/clock.ts";
import { Metrics } from "../../src/runtime/metrics.ts";

/**
 * Metrics whose first interval never ends, for tests that read `summary()`. After its first
 * interval, summary() shows the last *completed* 10 s interval (as Consul's /v1/agent/metrics
 * does), so a test whose events straddle a wall-clock boundary would read partial counts, or
 * wait up to a whole interval for a count to appear. The wall clock the metrics see stands
 * still at creation; durations and timers are the system's.
 */
export function singleIntervalMetrics(): Metrics {
  const startedAtMs = systemClock.now();
  return new Metrics({ clock: { ...systemClock, now: () => startedAtMs }, prometheusRetentionMs: 0 });
}
