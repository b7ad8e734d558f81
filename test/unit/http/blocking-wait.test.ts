import { test } from "node:test";
import assert from "node:assert/strict";
import { startAgent } from "../../../src/launch/start-agent.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { manualClock } from "../agent/fake-clock.ts";
import { eventually } from "../../support/eventually.ts";
import { testHttpSettings } from "../../support/test-agent.ts";

// Issue 20: blocking queries at wait=1s answered after up to 1.23 s (a 100 ms timer tick rounded
// every deadline up). Consul answers within wait + wait/16. The agent runs on a simulated clock,
// so the bound is checked exactly over real HTTP, however busy the machine is.

test("a blocking query with wait=1s answers after 1 s and by 1 s + 1/16 s, over HTTP", async () => {
  const clock = manualClock();
  const running = await startAgent(
    {
      identity: { nodeName: "wait-node", nodeId: "11111111-2222-3333-4444-555555555555", datacenter: "dc1", server: true, advertiseAddr: "127.0.0.1", serverPort: 8300, serfLanPort: 8301, nodeMeta: {} },
      http: testHttpSettings("wait-node"),
      httpHost: "127.0.0.1",
      httpPort: 0,
      logLevel: "error",
      logJson: false,
    },
    { clock, logger: silentLogger },
  );
  const base = `http://127.0.0.1:${running.http.address.port}`;
  try {
    const first = await fetch(`${base}/v1/kv/?recurse`);
    const index = first.headers.get("X-Consul-Index");
    await first.arrayBuffer();
    let answered = 0;
    const replies = Array.from({ length: 20 }, async (_, i) => {
      const res = await fetch(`${base}/v1/kv/waiting-${i}?index=${index}&wait=1s`);
      await res.arrayBuffer();
      answered++;
      return res.status;
    });
    await eventually("all 20 waiting", () => Promise.resolve(running.blocking.waiting === 20), 10_000, 10);
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answered, 0, "no answer before the wait is over");
    clock.advance(1000 / 16 + 1);
    assert.equal(running.blocking.waiting, 0, "every wait is over by wait + wait/16");
    assert.deepEqual(await Promise.all(replies), Array(20).fill(404));
  } finally {
    await running.stop();
  }
});
