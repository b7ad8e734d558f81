import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// Concurrent catalog registrations on a lone Raft voter (what -dev runs): those read in one
// event-loop turn are proposed as one batch (server/raft-node.ts). Each must still be its own
// entry — its own ModifyIndex, X-Consul-Index moving to the last — and a blocking query on the
// service must wake.

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent({}, { consensus: "raft" });
});
after(() => agent.stop());

/** One request on a connection of its own, so concurrent ones arrive on separate sockets. */
function call(method: string, path: string, body?: string): Promise<{ status: number; index: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${agent.base}${path}`, { method, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, index: Number(res.headers["x-consul-index"] ?? -1), text }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end(body);
  });
}

test("catalog - concurrent registrations each get their own index and wake a blocking query", async () => {
  const path = "/v1/catalog/service/batched";
  const start = await call("GET", path);
  assert.equal(start.status, 200);
  const woken = call("GET", `${path}?index=${start.index}&wait=20s`);
  const count = 32;
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      call(
        "PUT",
        "/v1/catalog/register",
        JSON.stringify({
          Node: `batched-${i}`,
          Address: `10.1.0.${i}`,
          Service: { ID: "batched", Service: "batched", Port: 9000 + i },
          Check: { CheckID: "service:batched", Name: "batched", Status: "passing", ServiceID: "batched" },
        }),
      ),
    ),
  );
  for (const a of answers) assert.deepEqual([a.status, a.text], [200, "true"]);
  const wake = await woken;
  assert.equal(wake.status, 200);
  assert.ok(wake.index > start.index, `blocking query answered at ${wake.index}, asked past ${start.index}`);
  const all = await call("GET", path);
  const rows = JSON.parse(all.text) as { Node: string; ModifyIndex: number; CreateIndex: number }[];
  assert.equal(rows.length, count);
  const indexes = rows.map((r) => r.ModifyIndex).sort((a, b) => a - b);
  // One Raft entry per registration: distinct indexes (the agent's own writes may fall between).
  assert.equal(new Set(indexes).size, count);
  for (const r of rows) assert.equal(r.CreateIndex, r.ModifyIndex);
  assert.equal(all.index, indexes[count - 1]);
  const health = await call("GET", `/v1/health/service/batched?passing=1`);
  assert.equal((JSON.parse(health.text) as unknown[]).length, count);
});
