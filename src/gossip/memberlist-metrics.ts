import { gossipPoolLabels, METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { GossipObserver } from "./observer.ts";

// memberlist's own series under Consul's names (consul.memberlist.*), labelled network=lan|wan
// and segment="" as Consul 1.20 labels its serf and memberlist metrics. Handles are built once per pool, so
// recording on the packet path is a clock read and a few adds.

export function memberlistMetrics(metrics: Metrics, network: "lan" | "wan"): GossipObserver {
  const labels = gossipPoolLabels(network);
  const probe = metrics.sample(METRIC_NAMES.memberlistProbeNode, labels);
  const udpSent = metrics.counter(METRIC_NAMES.memberlistUdpSent, labels);
  const udpReceived = metrics.counter(METRIC_NAMES.memberlistUdpReceived, labels);
  const tcpAccept = metrics.counter(METRIC_NAMES.memberlistTcpAccept, labels);
  const tcpConnect = metrics.counter(METRIC_NAMES.memberlistTcpConnect, labels);
  const tcpSent = metrics.counter(METRIC_NAMES.memberlistTcpSent, labels);
  return {
    probeFinished: (ms) => probe.observe(ms),
    udpSent: (bytes) => udpSent.inc(bytes),
    udpReceived: (bytes) => udpReceived.inc(bytes),
    tcpAccept: () => tcpAccept.inc(),
    tcpConnect: () => tcpConnect.inc(),
    tcpSent: (bytes) => tcpSent.inc(bytes),
  };
}
