// /v1/agent/metrics carries Consul's series for writes, gossip and autopilot, under Consul's names.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  await agent.kill();
});

interface MetricsView {
  Gauges: { Name: string; Value: number }[];
  Counters: { Name: string; Count: number }[];
  Samples: { Name: string; Count: number }[];
}

void test("metrics - kvs/txn/session/catalog apply timers, serf event counters, autopilot and memberlist gauges", async () => {
  const put = async (path: string, body: string): Promise<void> => {
    const res = await fetch(`${agent.base}${path}`, { method: "PUT", body });
    assert.equal(res.status, 200, await res.text());
  };
  await put("/v1/kv/metric-key", "v");
  await put("/v1/txn", JSON.stringify([{ KV: { Verb: "set", Key: "t", Value: "" } }]));
  await put("/v1/session/create", "{}");
  await put("/v1/catalog/register", JSON.stringify({ Node: "ext", Address: "10.0.0.9" }));
  await put("/v1/catalog/deregister", JSON.stringify({ Node: "ext" }));
  await put("/v1/event/fire/deploy", "");

  let view: MetricsView | undefined;
  await eventually("every series present", async () => {
    view = (await (await fetch(`${agent.base}/v1/agent/metrics`)).json()) as MetricsView;
    const samples = new Set(view.Samples.map((s) => s.Name));
    const counters = new Set(view.Counters.map((c) => c.Name));
    return ["consul.kvs.apply", "consul.txn.apply", "consul.session.apply", "consul.catalog.register", "consul.catalog.deregister"].every((n) => samples.has(n)) && counters.has("consul.serf.events.deploy");
    // The JSON shows the last completed 10 s interval: writes made early in one show up to 10 s later.
  }, 25_000);
  const gauges = new Map(view!.Gauges.map((g) => [g.Name, g.Value]));
  assert.equal(gauges.get("consul.autopilot.healthy"), 1);
  assert.equal(gauges.get("consul.autopilot.failure_tolerance"), 0);
  assert.equal(gauges.get("consul.memberlist.health.score"), 0);
  assert.ok(view!.Counters.some((c) => c.Name === "consul.serf.events" && c.Count >= 1));
});

void test("metrics stream - one JSON summary per ended metrics interval (10 s), newline-delimited", async () => {
  const abort = new AbortController();
  const res = await fetch(`${agent.base}/v1/agent/metrics/stream`, { signal: abort.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const reader = res.body!.getReader();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!text.includes("\n") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  abort.abort();
  const frame = JSON.parse(text.slice(0, text.indexOf("\n"))) as MetricsView & { Timestamp: string };
  assert.ok(Array.isArray(frame.Gauges) && Array.isArray(frame.Counters) && Array.isArray(frame.Samples), text);
  assert.equal(typeof frame.Timestamp, "string");
});
