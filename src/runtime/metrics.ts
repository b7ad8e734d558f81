import { PerformanceObserver } from "node:perf_hooks";
import { Counter, Gauge, Registry, Summary } from "prom-client";
import type { Clock } from "./clock.ts";
import { EventLoopDelayMonitor } from "./event-loop-delay.ts";

// The agent's metrics sink, after go-metrics as Consul configures it:
// - an in-memory sink of 10 s intervals behind GET /v1/agent/metrics (the JSON summary shows
//   the last completed interval: Count/Rate/Sum/Min/Max/Mean/Stddev per counter and sample);
// - cumulative series rendered as Prometheus text through a prom-client Registry, where a
//   series not updated within the retention time is dropped (telemetry.prometheus_retention_time).
// Recording never allocates on a warm series: one clock read, one Map lookup, a few adds.
// Hot paths hold a handle (counter()/sample()/gauge()) so the key is built once.

export type MetricLabels = Readonly<Record<string, string>>;

/**
 * The labels Consul 1.20 (CE) puts on every serf and memberlist series of a gossip pool
 * (addSerfMetricsLabels): the network, and the network segment, always "" outside Enterprise.
 */
export function gossipPoolLabels(network: "lan" | "wan"): MetricLabels {
  return { network, segment: "" };
}

/** Names Consul emits that other modules record here (consul.* prefix included). */
export const METRIC_NAMES = {
  kvsApply: "consul.kvs.apply",
  txnApply: "consul.txn.apply",
  sessionApply: "consul.session.apply",
  catalogRegister: "consul.catalog.register",
  catalogDeregister: "consul.catalog.deregister",
  apiHttp: "consul.api.http",
  runtimeAllocBytes: "consul.runtime.alloc_bytes",
  runtimeSysBytes: "consul.runtime.sys_bytes",
  runtimeHeapTotalBytes: "consul.runtime.heap_total_bytes",
  runtimeNumGoroutines: "consul.runtime.num_goroutines",
  runtimeTotalGcPauseNs: "consul.runtime.total_gc_pause_ns",
  runtimeTotalGcRuns: "consul.runtime.total_gc_runs",
  runtimeGcPauseNs: "consul.runtime.gc_pause_ns",
  serfMemberJoin: "consul.serf.member.join",
  serfMemberFailed: "consul.serf.member.failed",
  serfMemberLeft: "consul.serf.member.left",
  serfEvents: "consul.serf.events",
  memberlistHealthScore: "consul.memberlist.health.score",
  // memberlist (net.go, state.go): bytes for sent/received, one per connection for accept/connect.
  memberlistProbeNode: "consul.memberlist.probeNode",
  memberlistUdpSent: "consul.memberlist.udp.sent",
  memberlistUdpReceived: "consul.memberlist.udp.received",
  memberlistTcpAccept: "consul.memberlist.tcp.accept",
  memberlistTcpConnect: "consul.memberlist.tcp.connect",
  memberlistTcpSent: "consul.memberlist.tcp.sent",
  // serf's queue depths, sampled on a timer (serf checkQueueDepth).
  serfQueueIntent: "consul.serf.queue.Intent",
  serfQueueEvent: "consul.serf.queue.Event",
  serfQueueQuery: "consul.serf.queue.Query",
  // Leader duties (leader.go) and RPC (rpc.go, client.go).
  leaderReconcile: "consul.leader.reconcile",
  leaderBarrier: "consul.leader.barrier",
  rpcRequest: "consul.rpc.request",
  rpcQuery: "consul.rpc.query",
  clientRpc: "consul.client.rpc",
  rpcCrossDc: "consul.rpc.cross-dc",
  clientRpcFailed: "consul.client.rpc.failed",
  rpcRequestError: "consul.rpc.request_error",
  autopilotHealthy: "consul.autopilot.healthy",
  autopilotFailureTolerance: "consul.autopilot.failure_tolerance",
  // Node's own: milliseconds callbacks waited for the event loop over the last interval.
  runtimeEventLoopDelayP50Ms: "consul.runtime.event_loop_delay_p50_ms",
  runtimeEventLoopDelayP99Ms: "consul.runtime.event_loop_delay_p99_ms",
  runtimeEventLoopDelayMaxMs: "consul.runtime.event_loop_delay_max_ms",
} as const;

export const DEFAULT_METRICS_INTERVAL_MS = 10_000;
/** Consul's Prometheus summaries report quantiles over the last 10 s. */
const QUANTILE_WINDOW_MS = 10_000;
/** Recent observations kept per sample for quantiles; older ones fall off the ring. */
const RECENT_RING_SIZE = 128;
const QUANTILES = [0.5, 0.9, 0.99] as const;

type SeriesKind = "counter" | "gauge" | "sample";

/** go-metrics AggregateSample: one series within one interval. */
class Aggregate {
  count = 0;
  sum = 0;
  sumSq = 0;
  min = 0;
  max = 0;

  ingest(v: number): void {
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    if (this.count === 1 || v < this.min) this.min = v;
    if (this.count === 1 || v > this.max) this.max = v;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  stddev(): number {
    const div = this.count * (this.count - 1);
    if (div === 0) return 0;
    const num = this.count * this.sumSq - this.sum * this.sum;
    return num <= 0 ? 0 : Math.sqrt(num / div);
  }
}

/** One metric name + label set, for the agent's lifetime (the Prometheus view is cumulative). */
class Series {
  readonly name: string;
  readonly labels: MetricLabels;
  readonly kind: SeriesKind;
  count = 0;
  total = 0;
  gaugeValue = 0;
  lastUpdatedMs = Number.NEGATIVE_INFINITY;
  #recentValues: Float64Array | undefined;
  #recentAt: Float64Array | undefined;
  #recentNext = 0;

  constructor(name: string, labels: MetricLabels, kind: SeriesKind) {
    this.name = name;
    this.labels = labels;
    this.kind = kind;
    if (kind === "sample") {
      this.#recentValues = new Float64Array(RECENT_RING_SIZE);
      this.#recentAt = new Float64Array(RECENT_RING_SIZE).fill(Number.NEGATIVE_INFINITY);
    }
  }

  remember(v: number, nowMs: number): void {
    if (!this.#recentValues || !this.#recentAt) return;
    this.#recentValues[this.#recentNext] = v;
    this.#recentAt[this.#recentNext] = nowMs;
    this.#recentNext = (this.#recentNext + 1) % RECENT_RING_SIZE;
  }

  /** Nearest-rank quantiles over the observations of the last window; NaN when there are none. */
  quantiles(nowMs: number): number[] {
    const values: number[] = [];
    if (this.#recentValues && this.#recentAt) {
      for (let i = 0; i < RECENT_RING_SIZE; i++) {
        if (this.#recentAt[i] >= nowMs - QUANTILE_WINDOW_MS) values.push(this.#recentValues[i]);
      }
    }
    if (values.length === 0) return QUANTILES.map(() => Number.NaN);
    values.sort((a, b) => a - b);
    return QUANTILES.map((q) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]);
  }
}

class Interval {
  readonly startMs: number;
  readonly aggregates = new Map<Series, Aggregate>();

  constructor(startMs: number) {
    this.startMs = startMs;
  }
}

export interface GaugeValueView {
  Name: string;
  Value: number;
  Labels: Record<string, string>;
}

export interface SampledValueView {
  Name: string;
  Count: number;
  Rate: number;
  Sum: number;
  Min: number;
  Max: number;
  Mean: number;
  Stddev: number;
  Labels: Record<string, string>;
}

/** The body of GET /v1/agent/metrics (go-metrics MetricsSummary). */
export interface MetricsSummary {
  Timestamp: string;
  Gauges: GaugeValueView[];
  Points: { Name: string; Points: number[] }[];
  Counters: SampledValueView[];
  Samples: SampledValueView[];
}

export interface MetricsOptions {
  clock: Clock;
  /** telemetry.prometheus_retention_time; ≤ 0 disables the Prometheus format. */
  prometheusRetentionMs: number;
  intervalMs?: number;
  /** Observe V8 garbage collections for the runtime GC gauges (call close() to stop). */
  trackGc?: boolean;
  /** Sample the event loop's delay for the runtime event_loop_delay gauges (call close() to stop). */
  trackEventLoopDelay?: boolean;
}

export class CounterHandle {
  readonly #metrics: Metrics;
  readonly #series: Series;

  constructor(metrics: Metrics, series: Series) {
    this.#metrics = metrics;
    this.#series = series;
  }

  inc(value = 1): void {
    this.#metrics.record(this.#series, value);
  }
}

export class SampleHandle {
  readonly #metrics: Metrics;
  readonly #series: Series;

  constructor(metrics: Metrics, series: Series) {
    this.#metrics = metrics;
    this.#series = series;
  }

  observe(value: number): void {
    this.#metrics.record(this.#series, value);
  }

  /** @internal observe() with a clock.now() reading the caller already has. */
  observeAt(value: number, nowMs: number): void {
    this.#metrics.recordAt(this.#series, value, nowMs);
  }

  /** Records the milliseconds elapsed since `startMonotonicMs` (a clock.monotonicMs() reading). */
  measureSince(startMonotonicMs: number): void {
    this.#metrics.record(this.#series, this.#metrics.clock.monotonicMs() - startMonotonicMs);
  }
}

export class GaugeHandle {
  readonly #metrics: Metrics;
  readonly #series: Series;

  constructor(metrics: Metrics, series: Series) {
    this.#metrics = metrics;
    this.#series = series;
  }

  set(value: number): void {
    this.#metrics.record(this.#series, value);
  }
}

/**
 * Request timing for one route, as Consul's HTTP wrapper emits it: the labelled sample
 * `consul.api.http{method,path}` and the pre-1.9 `consul.http.<METHOD>.<path parts>`.
 */
export class HttpRouteMetrics {
  readonly #metrics: Metrics;
  readonly #pattern: string;
  readonly #byMethod = new Map<string, readonly [SampleHandle, SampleHandle]>();

  constructor(metrics: Metrics, pattern: string) {
    this.#metrics = metrics;
    this.#pattern = pattern;
  }

  /** Call when the reply has been handed to the socket; `startedMonotonicMs` from clock.monotonicMs(). */
  done(method: string, startedMonotonicMs: number): void {
    let handles = this.#byMethod.get(method);
    if (!handles) {
      handles = this.#handlesFor(method);
      this.#byMethod.set(method, handles);
    }
    const elapsed = this.#metrics.clock.monotonicMs() - startedMonotonicMs;
    const now = this.#metrics.clock.now();
    handles[0].observeAt(elapsed, now);
    handles[1].observeAt(elapsed, now);
  }

  #handlesFor(method: string): readonly [SampleHandle, SampleHandle] {
    const parts = httpPatternParts(this.#pattern);
    return [
      this.#metrics.sample(METRIC_NAMES.apiHttp, { method, path: parts.join("_") }),
      this.#metrics.sample(["consul", "http", method, ...parts].join(".")),
    ];
  }
}

/** "/v1/kv/" → ["v1", "kv", "_"]: an empty segment after the first becomes "_" (Consul's http.go). */
export function httpPatternParts(pattern: string): string[] {
  const parts: string[] = [];
  pattern.split("/").forEach((part, i) => {
    if (part === "") {
      if (i === 0) return;
      parts.push("_");
      return;
    }
    parts.push(part);
  });
  return parts;
}

/** go-metrics' Prometheus key flattening: anything outside [a-zA-Z0-9_:] becomes "_". */
export function prometheusName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, "_");
}

/** Go's time.Time.String() for a UTC instant with whole seconds: "2024-01-01 10:00:00 +0000 UTC". */
export function goTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? "." + frac : ""} +0000 UTC`;
}

function seriesKey(name: string, labels: MetricLabels | undefined): string {
  if (!labels) return name;
  const names = Object.keys(labels);
  if (names.length === 0) return name;
  names.sort();
  return name + ";" + names.map((k) => `${k}=${labels[k]}`).join(";");
}

function byName(a: { Name: string; Labels: Record<string, string> }, b: { Name: string; Labels: Record<string, string> }): number {
  if (a.Name !== b.Name) return a.Name < b.Name ? -1 : 1;
  const ka = JSON.stringify(a.Labels);
  const kb = JSON.stringify(b.Labels);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** A Prometheus summary whose values come from our cumulative series, not from observe(). */
class SeriesSummary extends Summary<string> {
  readonly #series: Series[];
  readonly #nowMs: number;

  constructor(name: string, labelNames: string[], series: Series[], nowMs: number, registry: Registry) {
    super({ name, help: name, labelNames, percentiles: [...QUANTILES], registers: [registry] });
    this.#series = series;
    this.#nowMs = nowMs;
  }

  override async get(): ReturnType<Summary<string>["get"]> {
    const base = await super.get();
    const values: typeof base.values = [];
    for (const s of this.#series) {
      const labels = promLabels(s.labels);
      const qs = s.quantiles(this.#nowMs);
      QUANTILES.forEach((q, i) => values.push({ labels: { ...labels, quantile: q }, value: qs[i] }));
      values.push({ metricName: `${base.name}_sum`, labels, value: s.total });
      values.push({ metricName: `${base.name}_count`, labels, value: s.count });
    }
    return { ...base, values };
  }
}

function promLabels(labels: MetricLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[prometheusName(k)] = v;
  return out;
}

export class Metrics {
  readonly clock: Clock;
  readonly prometheusRetentionMs: number;
  readonly intervalMs: number;
  readonly #series = new Map<string, Series>();
  readonly #firstIntervalStartMs: number;
  #current: Interval;
  #previous: Interval | undefined;
  #gcObserver: PerformanceObserver | undefined;
  #gcPauseTotalNs = 0;
  #gcRuns = 0;
  #eventLoopDelay: EventLoopDelayMonitor | undefined;

  constructor(options: MetricsOptions) {
    this.clock = options.clock;
    this.prometheusRetentionMs = options.prometheusRetentionMs;
    this.intervalMs = options.intervalMs ?? DEFAULT_METRICS_INTERVAL_MS;
    this.#current = new Interval(this.#intervalStart(this.clock.now()));
    this.#firstIntervalStartMs = this.#current.startMs;
    if (options.trackGc) this.#startGcObserver();
    if (options.trackEventLoopDelay) this.#eventLoopDelay = new EventLoopDelayMonitor(this.intervalMs);
  }

  get prometheusEnabled(): boolean {
    return this.prometheusRetentionMs > 0;
  }

  counter(name: string, labels?: MetricLabels): CounterHandle {
    return new CounterHandle(this, this.#seriesFor(name, labels, "counter"));
  }

  sample(name: string, labels?: MetricLabels): SampleHandle {
    return new SampleHandle(this, this.#seriesFor(name, labels, "sample"));
  }

  gauge(name: string, labels?: MetricLabels): GaugeHandle {
    return new GaugeHandle(this, this.#seriesFor(name, labels, "gauge"));
  }

  incrCounter(name: string, value = 1, labels?: MetricLabels): void {
    this.record(this.#seriesFor(name, labels, "counter"), value);
  }

  addSample(name: string, value: number, labels?: MetricLabels): void {
    this.record(this.#seriesFor(name, labels, "sample"), value);
  }

  setGauge(name: string, value: number, labels?: MetricLabels): void {
    this.record(this.#seriesFor(name, labels, "gauge"), value);
  }

  /** Records milliseconds since a clock.monotonicMs() reading, like go-metrics MeasureSince. */
  measureSince(name: string, startMonotonicMs: number, labels?: MetricLabels): void {
    this.addSample(name, this.clock.monotonicMs() - startMonotonicMs, labels);
  }

  httpRoute(pattern: string): HttpRouteMetrics {
    return new HttpRouteMetrics(this, pattern);
  }

  /** @internal Used by the handles; the single write path of the sink. */
  record(series: Series, value: number): void {
    this.recordAt(series, value, this.clock.now());
  }

  /** @internal record() with the caller's clock.now() reading. */
  recordAt(series: Series, value: number, now: number): void {
    if (now >= this.#current.startMs + this.intervalMs) this.#rotate(now);
    series.lastUpdatedMs = now;
    if (series.kind === "gauge") {
      series.gaugeValue = value;
      return;
    }
    let agg = this.#current.aggregates.get(series);
    if (!agg) {
      agg = new Aggregate();
      this.#current.aggregates.set(series, agg);
    }
    agg.ingest(value);
    series.count++;
    series.total += value;
    series.remember(value, now);
  }

  /** The JSON summary: the last completed interval (the current one during the first interval). */
  summary(): MetricsSummary {
    const now = this.clock.now();
    if (now >= this.#current.startMs + this.intervalMs) this.#rotate(now);
    this.#sampleRuntime();
    const shown = this.#displayedInterval();
    const rateDenominator = this.intervalMs / 1000;
    const counters: SampledValueView[] = [];
    const samples: SampledValueView[] = [];
    for (const [series, agg] of shown.aggregates) {
      const view: SampledValueView = {
        Name: series.name,
        Count: agg.count,
        Rate: agg.sum / rateDenominator,
        Sum: agg.sum,
        Min: agg.min,
        Max: agg.max,
        Mean: agg.mean(),
        Stddev: agg.stddev(),
        Labels: { ...series.labels },
      };
      (series.kind === "counter" ? counters : samples).push(view);
    }
    const gauges: GaugeValueView[] = [];
    for (const series of this.#series.values()) {
      if (series.kind === "gauge" && series.lastUpdatedMs > Number.NEGATIVE_INFINITY) {
        gauges.push({ Name: series.name, Value: series.gaugeValue, Labels: { ...series.labels } });
      }
    }
    gauges.sort(byName);
    counters.sort(byName);
    samples.sort(byName);
    return { Timestamp: goTimestamp(shown.startMs), Gauges: gauges, Points: [], Counters: counters, Samples: samples };
  }

  /** Prometheus text exposition (format 0.0.4) of every series updated within the retention time. */
  async prometheusText(): Promise<string> {
    this.#sampleRuntime();
    const now = this.clock.now();
    const registry = new Registry();
    const groups = new Map<string, { kind: SeriesKind; series: Series[] }>();
    for (const series of this.#series.values()) {
      if (series.lastUpdatedMs === Number.NEGATIVE_INFINITY) continue;
      if (now - series.lastUpdatedMs > this.prometheusRetentionMs) continue;
      const name = prometheusName(series.name);
      const group = groups.get(name);
      if (!group) groups.set(name, { kind: series.kind, series: [series] });
      else if (group.kind === series.kind) group.series.push(series);
    }
    for (const [name, { kind, series }] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const labelNames = [...new Set(series.flatMap((s) => Object.keys(promLabels(s.labels))))];
      if (kind === "counter") {
        const c = new Counter({ name, help: name, labelNames, registers: [registry] });
        for (const s of series) c.inc(promLabels(s.labels), s.total);
      } else if (kind === "gauge") {
        const g = new Gauge({ name, help: name, labelNames, registers: [registry] });
        for (const s of series) g.set(promLabels(s.labels), s.gaugeValue);
      } else {
        new SeriesSummary(name, labelNames, series, now, registry);
      }
    }
    return registry.metrics();
  }

  /** Content-Type of prometheusText(). */
  get prometheusContentType(): string {
    return Registry.PROMETHEUS_CONTENT_TYPE;
  }

  close(): void {
    this.#gcObserver?.disconnect();
    this.#gcObserver = undefined;
    this.#eventLoopDelay?.close();
    this.#eventLoopDelay = undefined;
  }

  #seriesFor(name: string, labels: MetricLabels | undefined, kind: SeriesKind): Series {
    const key = seriesKey(name, labels);
    let series = this.#series.get(key);
    if (!series) {
      series = new Series(name, { ...labels }, kind);
      this.#series.set(key, series);
    }
    return series;
  }

  #intervalStart(nowMs: number): number {
    return nowMs - (nowMs % this.intervalMs);
  }

  #rotate(nowMs: number): void {
    this.#previous = this.#current;
    this.#current = new Interval(this.#intervalStart(nowMs));
  }

  #displayedInterval(): Interval {
    const expectedPrevious = this.#current.startMs - this.intervalMs;
    if (this.#previous && this.#previous.startMs === expectedPrevious) return this.#previous;
    if (this.#current.startMs === this.#firstIntervalStartMs) return this.#current;
    // Nothing was recorded during the last completed interval.
    return new Interval(expectedPrevious);
  }

  /** Node's equivalents of go-metrics' runtime gauges, read when someone looks. */
  #sampleRuntime(): void {
    const mem = process.memoryUsage();
    this.setGauge(METRIC_NAMES.runtimeAllocBytes, mem.heapUsed);
    this.setGauge(METRIC_NAMES.runtimeHeapTotalBytes, mem.heapTotal);
    this.setGauge(METRIC_NAMES.runtimeSysBytes, mem.rss);
    // Pending async resources (sockets, timers, requests) are the closest thing to goroutines.
    this.setGauge(METRIC_NAMES.runtimeNumGoroutines, process.getActiveResourcesInfo().length);
    if (this.#gcObserver) {
      this.setGauge(METRIC_NAMES.runtimeTotalGcPauseNs, this.#gcPauseTotalNs);
      this.setGauge(METRIC_NAMES.runtimeTotalGcRuns, this.#gcRuns);
    }
    if (this.#eventLoopDelay) {
      const delay = this.#eventLoopDelay.read();
      this.setGauge(METRIC_NAMES.runtimeEventLoopDelayP50Ms, delay.p50Ms);
      this.setGauge(METRIC_NAMES.runtimeEventLoopDelayP99Ms, delay.p99Ms);
      this.setGauge(METRIC_NAMES.runtimeEventLoopDelayMaxMs, delay.maxMs);
    }
  }

  #startGcObserver(): void {
    const pause = this.sample(METRIC_NAMES.runtimeGcPauseNs);
    this.#gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const ns = Math.round(entry.duration * 1e6);
        this.#gcRuns++;
        this.#gcPauseTotalNs += ns;
        pause.observe(ns);
      }
    });
    this.#gcObserver.observe({ entryTypes: ["gc"] });
  }
}
