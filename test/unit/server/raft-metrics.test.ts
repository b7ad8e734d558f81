import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent } from "../../support/test-agent.ts";

test("raft metrics - a write shows up in Consul's consul.raft.* series (Prometheus text)", async () => {
  // The in-memory single-voter Raft of -dev, not the LocalLog stand-in test agents default to.
  const agent = await startTestAgent({ prometheusRetentionTimeMs: 60_000 }, { consensus: "raft" });
  try {
    const put = await fetch(`${agent.base}/v1/kv/metrics/probe`, { method: "PUT", body: "v" });
    assert.equal(await put.text(), "true");
    const text = await (await fetch(`${agent.base}/v1/agent/metrics?format=prometheus`)).text();
    const value = (series: string): number => {
      const match = new RegExp(`^${series} (\\S+)$`, "m").exec(text);
      assert.ok(match, `${series} is exported`);
      return Number(match[1]);
    };
    assert.ok(value("consul_raft_apply") >= 1, "one apply per proposal");
    assert.ok(value("consul_raft_commitTime_count") >= 1, "commit time sampled");
    assert.ok(value("consul_raft_fsm_apply_count") >= 1, "state machine time sampled");
    assert.ok(value("consul_raft_leader_dispatchLog_count") >= 1, "the leader's log writes are timed");
    assert.ok(value("consul_raft_state_leader") >= 1, "becoming leader is counted");
  } finally {
    await agent.stop();
  }
});
