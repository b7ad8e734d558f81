// Consul times each state machine command under its own series (consul.fsm.register,
// consul.fsm.kvs{op}, consul.fsm.session{op}, consul.fsm.txn…); both /v1/agent/metrics and the
// Prometheus rendering carry them once the write went through apply.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "../../support/eventually.ts";
import { startTestAgent } from "../../support/test-agent.ts";

interface SampleView {
  Name: string;
  Count: number;
  Labels: Record<string, string>;
}

test("fsm metrics - every kind of write is timed under Consul's consul.fsm.* name and op label", async () => {
  const agent = await startTestAgent({ prometheusRetentionTimeMs: 60_000 });
  try {
    const call = async (method: string, path: string, body?: string): Promise<string> => {
      const res = await fetch(`${agent.base}${path}`, { method, body });
      const text = await res.text();
      assert.equal(res.status, 200, `${method} ${path}: ${text}`);
      return text;
    };
    await call("PUT", "/v1/kv/fsm/a", "1");
    await call("PUT", "/v1/kv/fsm/a?cas=0", "2");
    await call("DELETE", "/v1/kv/fsm?recurse");
    const session = (JSON.parse(await call("PUT", "/v1/session/create", "{}")) as { ID: string }).ID;
    await call("PUT", `/v1/session/destroy/${session}`);
    await call("PUT", "/v1/catalog/register", JSON.stringify({ Node: "ext", Address: "10.0.0.9" }));
    await call("PUT", "/v1/catalog/deregister", JSON.stringify({ Node: "ext" }));
    await call("PUT", "/v1/txn", JSON.stringify([{ KV: { Verb: "set", Key: "t", Value: "" } }]));

    // The JSON view is one 10 s interval (the first, or the last completed): writes that fell on
    // both sides of an interval boundary show up in two views, so collect what the views show.
    const expected = [
      'consul.fsm.kvs{"op":"set"}',
      'consul.fsm.kvs{"op":"cas"}',
      'consul.fsm.kvs{"op":"delete-tree"}',
      'consul.fsm.session{"op":"create"}',
      'consul.fsm.session{"op":"destroy"}',
      "consul.fsm.register{}",
      "consul.fsm.deregister{}",
      "consul.fsm.txn{}",
    ];
    const seen = new Set<string>();
    await eventually(
      "every consul.fsm.* series in /v1/agent/metrics",
      async () => {
        const view = JSON.parse(await call("GET", "/v1/agent/metrics")) as { Samples: SampleView[] };
        for (const s of view.Samples) if (s.Name.startsWith("consul.fsm.")) seen.add(`${s.Name}${JSON.stringify(s.Labels)}`);
        return expected.every((series) => seen.has(series));
      },
      // A write early in an interval shows once that interval completes, up to 10 s later;
      // 25 s leaves a busy CI machine room past that.
      25_000,
      200,
    );

    const prometheus = await call("GET", "/v1/agent/metrics?format=prometheus");
    assert.match(prometheus, /^consul_fsm_kvs_count\{op="set"\} 1$/m);
    assert.match(prometheus, /^consul_fsm_session_count\{op="destroy"\} 1$/m);
    assert.match(prometheus, /^consul_fsm_register_count \d+$/m);
    assert.match(prometheus, /^consul_fsm_txn_count 1$/m);
  } finally {
    await agent.stop();
  }
});
