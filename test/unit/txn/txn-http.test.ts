import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(async () => {
  await agent.stop();
});

async function txn(body: string, query = ""): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${agent.base}/v1/txn${query}`, { method: "PUT", body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

test("txn http - 200 with Results and Errors null; uint64 Flags round-trip exactly", async () => {
  const body = `[{"KV":{"Verb":"set","Key":"cfg/a","Value":"aGk=","Flags":16210313421097356768},"Node":null,"Service":null,"Check":null},{"KV":{"Verb":"get","Key":"cfg/a"}}]`;
  const r = await txn(body);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.match(r.text, /"Flags":16210313421097356768/);
  const parsed = JSON.parse(r.text) as { Results: { KV: { Value: string | null; Key: string } }[]; Errors: null };
  assert.equal(parsed.Errors, null);
  assert.equal(parsed.Results[0].KV.Value, null);
  assert.equal(parsed.Results[1].KV.Value, "aGk=");
});

test("txn http - 409 with Results null and Errors carrying OpIndex; nothing applied", async () => {
  const r = await txn(`[{"KV":{"Verb":"set","Key":"roll/a","Value":"eA=="}},{"KV":{"Verb":"cas","Key":"roll/b","Index":77}}]`);
  assert.equal(r.status, 409);
  assert.deepEqual(JSON.parse(r.text), { Results: null, Errors: [{ OpIndex: 1, What: `failed to set key "roll/b", index is stale` }] });
  assert.equal((await fetch(`${agent.base}/v1/kv/roll/a`)).status, 404);
});

test("txn http - malformed input is 400 Failed to parse body", async () => {
  for (const body of ["", "{", `{"KV":{}}`, `[{"KV":{"Verb":"set","Key":"k","Value":"%%%"}}]`, `[{"KV":{"Verb":"set","Key":"k","Flags":"x"}}]`]) {
    const r = await txn(body);
    assert.equal(r.status, 400, body);
    assert.match(r.text, /^Failed to parse body: /, body);
  }
});

test("txn http - too many operations is 413 with Consul's text", async () => {
  const ops = Array.from({ length: 129 }, (_, i) => ({ KV: { Verb: "get", Key: `k${i}` } }));
  const r = await txn(JSON.stringify(ops));
  assert.deepEqual([r.status, r.text], [413, "Transaction contains too many operations (129 > 128)"]);
  const ok = await txn(JSON.stringify(ops.slice(0, 128).map((o) => ({ KV: { ...o.KV, Verb: "check-not-exists" } }))));
  assert.equal(ok.status, 200);
});

test("txn http - body and value size limits are 413", async () => {
  const big = Buffer.alloc(600 * 1024, 97).toString("base64");
  const r = await txn(JSON.stringify([{ KV: { Verb: "set", Key: "k", Value: big } }]));
  assert.equal(r.status, 413);
  assert.match(r.text, /^Request body\(\d+ bytes\) too large, max size: 524288 bytes\. See https:\/\/www\.consul\.io\/docs\/agent\/config\/config-files#txn_max_req_len\.$/);
  const small = await startTestAgent({ kvMaxValueSizeBytes: 1000, txnMaxReqLenBytes: 1 << 20 });
  try {
    const value = Buffer.alloc(2000, 97).toString("base64");
    const r2 = await fetch(`${small.base}/v1/txn`, { method: "PUT", body: JSON.stringify([{ KV: { Verb: "set", Key: "k", Value: value } }]) });
    assert.deepEqual([r2.status, await r2.text()], [413, `Value for key "k" is too large (2000 > 1000 bytes)`]);
  } finally {
    await small.stop();
  }
});

test("txn http - a read-only txn is served as a read: leader headers, no X-Consul-Index, stale allowed", async () => {
  const r = await txn(`[{"KV":{"Verb":"get-tree","Key":"cfg/"}}]`, "?stale");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-consul-index"), null);
  assert.equal(r.headers.get("x-consul-knownleader"), "true");
  assert.equal(r.headers.get("x-consul-lastcontact"), "0");
  const w = await txn(`[{"KV":{"Verb":"set","Key":"cfg/z","Value":null}}]`);
  assert.equal(w.status, 200);
  assert.equal(w.headers.get("x-consul-knownleader"), null);
});

test("txn http - Node, Service and Check members", async () => {
  const body = JSON.stringify([
    { Node: { Verb: "set", Node: { ID: "67539c9d-b948-ba67-edd4-d07a676d6673", Node: "bar", Address: "192.168.0.1", Meta: { instance_type: "m2.large" } } } },
    { Service: { Verb: "set", Node: "bar", Service: { ID: "db1", Service: "db", Port: 5432 } } },
    { Check: { Verb: "set", Check: { Node: "bar", CheckID: "service:db1", Name: "db", Status: "passing", ServiceID: "db1", Definition: { TCP: "localhost:5432", Interval: "10s" } } } },
  ]);
  const r = await txn(body);
  assert.equal(r.status, 200, r.text);
  const out = JSON.parse(r.text) as { Results: Record<string, Record<string, unknown>>[] };
  assert.equal(out.Results[0].Node.Datacenter, "dc1");
  assert.deepEqual(out.Results[1].Service.Weights, { Passing: 1, Warning: 1 });
  assert.equal(out.Results[2].Check.ServiceName, "db");
  const health = (await (await fetch(`${agent.base}/v1/health/service/db`)).json()) as unknown[];
  assert.equal(health.length, 1);
  const del = await txn(JSON.stringify([{ Service: { Verb: "delete-cas", Node: "bar", Service: { ID: "db1", ModifyIndex: 1 } } }]));
  assert.equal(del.status, 409);
  assert.match(del.text, /failed to delete service \\"db1\\" on node \\"bar\\", index is stale/);
});
