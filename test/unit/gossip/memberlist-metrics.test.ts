// memberlist's and serf's series under Consul's names, recorded where the event happens: probes
// (consul.memberlist.probeNode), datagrams and streams (consul.memberlist.udp.*/tcp.*) on real
// loopback sockets, and serf's queue depths (intent / event) from the broadcast queue.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastQueue } from "../../../src/gossip/broadcast-queue.ts";
import { gossipConfig } from "../../../src/gossip/config.ts";
import { memberlistMetrics } from "../../../src/gossip/memberlist-metrics.ts";
import { singleIntervalMetrics } from "../../support/metrics.ts";
import { GossipRunner } from "../../../src/transport/gossip-runner.ts";
import { eventually } from "../../support/eventually.ts";

const config = gossipConfig({
  probeIntervalMs: 100,
  probeTimeoutMs: 80,
  gossipIntervalMs: 50,
  suspicionMult: 4,
  pushPullIntervalMs: 1_000,
  tcpTimeoutMs: 1_000,
  gossipToTheDeadMs: 5_000,
  leaveBroadcastTimeoutMs: 300,
});
const runners: GossipRunner[] = [];
after(async () => {
  await Promise.all(runners.map((r) => r.shutdown()));
});

test("memberlist metrics - probeNode timer, udp sent/received and tcp connect/accept/sent bytes, labelled network=lan and segment=\"\" as Consul 1.20 CE labels them", { timeout: 20_000 }, async () => {
  const metrics = singleIntervalMetrics();
  const a = await GossipRunner.start({ name: "mm-a", bindHost: "127.0.0.1", port: 0, config, tags: { role: "node", dc: "dc1" }, observer: memberlistMetrics(metrics, "lan") });
  runners.push(a);
  const b = await GossipRunner.start({ name: "mm-b", bindHost: "127.0.0.1", port: 0, config, tags: { role: "node", dc: "dc1" } });
  runners.push(b);
  assert.equal(await a.join([b.addr]), 1);
  const view = () => metrics.summary();
  const counter = (name: string) => view().Counters.find((c) => c.Name === name);
  await eventually("probes and datagrams recorded", async () => {
    const probe = view().Samples.find((s) => s.Name === "consul.memberlist.probeNode");
    return (probe?.Count ?? 0) >= 2 && (counter("consul.memberlist.udp.received")?.Sum ?? 0) > 0;
  }, 10_000);
  const probe = view().Samples.find((s) => s.Name === "consul.memberlist.probeNode")!;
  assert.deepEqual(probe.Labels, { network: "lan", segment: "" });
  assert.ok(probe.Max < config.probeIntervalMs * 10, "a probe lasts until its ack, not longer than its round");
  const udpSent = counter("consul.memberlist.udp.sent")!;
  assert.ok(udpSent.Sum > udpSent.Count, "udp.sent counts bytes, not packets");
  // The join dialled a stream; a's first periodic push-pull (staggered at random within the
  // 1 s interval) may have dialled another already.
  assert.ok((counter("consul.memberlist.tcp.connect")?.Sum ?? 0) >= 1, "the join dialled a stream");
  assert.ok((counter("consul.memberlist.tcp.sent")?.Sum ?? 0) > 10, "the push-pull request's bytes");
  // b dials a for its own push-pull sooner or later (every pushPullInterval).
  await eventually("a stream accepted", async () => (counter("consul.memberlist.tcp.accept")?.Sum ?? 0) >= 1, 10_000);
});

test("serf queue depths - leave intents and user events counted apart until sent out", () => {
  const q = new BroadcastQueue(100);
  q.enqueue({ key: "leave-intent/x", bytes: new Uint8Array(10), onFinished: undefined, category: "intent" });
  q.enqueue({ key: "leave-intent/x", bytes: new Uint8Array(10), onFinished: undefined, category: "intent" });
  q.enqueue({ key: undefined, bytes: new Uint8Array(10), onFinished: undefined, category: "event" });
  q.enqueue({ key: "node-1", bytes: new Uint8Array(10), onFinished: undefined });
  assert.equal(q.depthOf("intent"), 1, "a newer intent for the same member replaces the older one");
  assert.equal(q.depthOf("event"), 1);
  assert.equal(q.size, 3);
  q.take(2, 1_000, 1);
  assert.equal(q.depthOf("intent"), 0);
  assert.equal(q.depthOf("event"), 0);
});
