import { test } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../../src/runtime/clock.ts";
import { goTimestamp, httpPatternParts, Metrics, prometheusName } from "../../../src/runtime/metrics.ts";

function fakeClock(startMs: number): Clock & { advance(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    monotonicMs: () => now,
    setTimer: () => ({ cancel: () => {} }),
    advance(ms: number) {
      now += ms;
    },
  };
}

const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);

test("metrics - JSON summary has Timestamp, Gauges, Points, Counters, Samples with Consul's field order", () => {
  const clock = fakeClock(T0 + 1_000);
  const m = new Metrics({ clock, prometheusRetentionMs: 0 });
  m.incrCounter("consul.raft.apply");
  const s = m.summary();
  assert.deepEqual(Object.keys(s), ["Timestamp", "Gauges", "Points", "Counters", "Samples"]);
  assert.equal(s.Timestamp, "2024-01-01 10:00:00 +0000 UTC");
  assert.deepEqual(s.Points, []);
  assert.deepEqual(Object.keys(s.Counters[0]), ["Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"]);
  assert.deepEqual(s.Counters[0], { Name: "consul.raft.apply", Count: 1, Rate: 0.1, Sum: 1, Min: 1, Max: 1, Mean: 1, Stddev: 0, Labels: {} });
  const gauge = s.Gauges.find((g) => g.Name === "consul.runtime.alloc_bytes");
  assert.ok(gauge && gauge.Value > 0, "runtime alloc_bytes gauge is reported");
  assert.deepEqual(Object.keys(gauge), ["Name", "Value", "Labels"]);
});

test("metrics - summary shows the last completed 10s interval once one exists", () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 0 });
  const apply = m.sample("consul.kvs.apply");
  apply.observe(2);
  apply.observe(4);
  clock.advance(10_000);
  apply.observe(100);
  const s = m.summary();
  assert.equal(s.Timestamp, "2024-01-01 10:00:00 +0000 UTC");
  const sample = s.Samples.find((x) => x.Name === "consul.kvs.apply");
  assert.ok(sample);
  assert.equal(sample.Count, 2);
  assert.equal(sample.Sum, 6);
  assert.equal(sample.Min, 2);
  assert.equal(sample.Max, 4);
  assert.equal(sample.Mean, 3);
  assert.equal(sample.Rate, 0.6);
  assert.ok(Math.abs(sample.Stddev - Math.SQRT2) < 1e-9);
});

test("metrics - an idle interval shows no counters or samples, only gauges", () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 0 });
  m.incrCounter("consul.raft.apply");
  clock.advance(35_000);
  const s = m.summary();
  assert.equal(s.Timestamp, "2024-01-01 10:00:20 +0000 UTC");
  assert.deepEqual(s.Counters, []);
  assert.deepEqual(s.Samples, []);
  assert.ok(s.Gauges.length > 0);
});

test("metrics - labels appear in the JSON Labels map", () => {
  const m = new Metrics({ clock: fakeClock(T0), prometheusRetentionMs: 0 });
  m.incrCounter("consul.fsm.kvs", 1, { op: "set" });
  m.setGauge("consul.consul.state.nodes", 3, { datacenter: "dc1" });
  const s = m.summary();
  assert.deepEqual(s.Counters[0].Labels, { op: "set" });
  assert.deepEqual(s.Gauges.find((g) => g.Name === "consul.consul.state.nodes"), { Name: "consul.consul.state.nodes", Value: 3, Labels: { datacenter: "dc1" } });
});

test("metrics - HTTP route timing emits consul.http.<METHOD>.<path> and consul.api.http{method,path}", () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 0 });
  const route = m.httpRoute("/v1/agent/metrics");
  const started = clock.monotonicMs();
  clock.advance(3);
  route.done("GET", started);
  m.httpRoute("/v1/kv/").done("PUT", clock.monotonicMs());
  const names = m.summary().Samples.map((x) => `${x.Name} ${JSON.stringify(x.Labels)}`);
  assert.ok(names.includes("consul.http.GET.v1.agent.metrics {}"));
  assert.ok(names.includes('consul.api.http {"method":"GET","path":"v1_agent_metrics"}'));
  assert.ok(names.includes("consul.http.PUT.v1.kv._ {}"));
  const timing = m.summary().Samples.find((x) => x.Name === "consul.http.GET.v1.agent.metrics");
  assert.equal(timing?.Sum, 3);
});

test("metrics - http pattern parts follow Consul: empty trailing segment becomes _", () => {
  assert.deepEqual(httpPatternParts("/v1/agent/self"), ["v1", "agent", "self"]);
  assert.deepEqual(httpPatternParts("/v1/kv/"), ["v1", "kv", "_"]);
});

test("metrics - Prometheus text: counters cumulative, gauges, summaries with quantiles, _sum and _count", async () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 60_000 });
  m.incrCounter("consul.raft.apply");
  clock.advance(20_000);
  m.incrCounter("consul.raft.apply", 2);
  m.addSample("consul.kvs.apply", 5);
  m.setGauge("consul.consul.state.nodes", 1);
  const out = await m.prometheusText();
  assert.match(out, /# TYPE consul_raft_apply counter\nconsul_raft_apply 3\n/);
  assert.match(out, /# TYPE consul_kvs_apply summary\n/);
  assert.match(out, /consul_kvs_apply\{quantile="0\.5"\} 5\n/);
  assert.match(out, /consul_kvs_apply_sum 5\n/);
  assert.match(out, /consul_kvs_apply_count 1\n/);
  assert.match(out, /consul_consul_state_nodes 1\n/);
  assert.match(out, /consul_runtime_alloc_bytes \d+/);
  assert.equal(m.prometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
});

test("metrics - Prometheus drops series not updated within the retention time", async () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 30_000 });
  m.incrCounter("consul.old.counter");
  clock.advance(31_000);
  m.incrCounter("consul.fresh.counter");
  const out = await m.prometheusText();
  assert.doesNotMatch(out, /consul_old_counter/);
  assert.match(out, /consul_fresh_counter 1/);
});

test("metrics - summary quantiles are NaN when nothing was observed in the last 10s", async () => {
  const clock = fakeClock(T0);
  const m = new Metrics({ clock, prometheusRetentionMs: 60_000 });
  m.addSample("consul.kvs.apply", 5);
  clock.advance(15_000);
  const out = await m.prometheusText();
  assert.match(out, /consul_kvs_apply\{quantile="0\.99"\} nan\n/i);
  assert.match(out, /consul_kvs_apply_count 1\n/);
});

test("metrics - Prometheus names replace characters outside [a-zA-Z0-9_:]", () => {
  assert.equal(prometheusName("consul.http.GET.v1.kv._"), "consul_http_GET_v1_kv__");
  assert.equal(prometheusName("a-b/c d"), "a_b_c_d");
});

test("metrics - Go time.String() timestamp in UTC", () => {
  assert.equal(goTimestamp(Date.UTC(2024, 0, 1, 10, 0, 0)), "2024-01-01 10:00:00 +0000 UTC");
  assert.equal(goTimestamp(Date.UTC(2024, 0, 1, 10, 0, 0, 500)), "2024-01-01 10:00:00.5 +0000 UTC");
});

test("metrics - gc tracking stops on close", () => {
  const m = new Metrics({ clock: fakeClock(T0), prometheusRetentionMs: 0, trackGc: true });
  const s = m.summary();
  assert.ok(s.Gauges.some((g) => g.Name === "consul.runtime.total_gc_runs"));
  m.close();
  m.close();
});

test("metrics - event loop delay gauges report a loop held by synchronous work", async () => {
  const m = new Metrics({ clock: fakeClock(T0), prometheusRetentionMs: 60_000, trackEventLoopDelay: true });
  try {
    await new Promise((r) => setTimeout(r, 30));
    const heldFrom = performance.now();
    while (performance.now() - heldFrom < 150) {
      // hold the event loop, as a slow request would
    }
    await new Promise((r) => setTimeout(r, 30));
    const gauges = new Map(m.summary().Gauges.map((g) => [g.Name, g.Value]));
    const max = gauges.get("consul.runtime.event_loop_delay_max_ms");
    assert.ok(max !== undefined && max >= 100, `max delay ${max} ms after a 150 ms hold`);
    assert.ok((gauges.get("consul.runtime.event_loop_delay_p50_ms") ?? -1) >= 0);
    assert.ok(gauges.has("consul.runtime.event_loop_delay_p99_ms"));
    const text = await m.prometheusText();
    assert.match(text, /^consul_runtime_event_loop_delay_max_ms \d+(\.\d+)?$/m);
  } finally {
    m.close();
  }
});
