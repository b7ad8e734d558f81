import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { registerInCatalog, startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// health/service and catalog/service answer plain reads from per-instance encoded entries
// (issue 17). A ?filter that keeps everything takes the general path (views built and encoded
// whole), so the two must agree byte for byte, in both spellings, before and after changes.

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

const register = (body: unknown): Promise<void> => registerInCatalog(agent, body);

async function body(path: string): Promise<string> {
  const res = await fetch(agent.base + path);
  assert.equal(res.status, 200);
  return res.text();
}

const KEEP_ALL = encodeURIComponent('ServiceName != "no-such-service"');
const KEEP_ALL_HEALTH = encodeURIComponent('Service.Service != "no-such-service"');

async function assertSameAsGeneralPath(query: string): Promise<void> {
  for (const pretty of ["", "&pretty"]) {
    const fast = await body(`/v1/health/service/web?${query}${pretty}`);
    const general = await body(`/v1/health/service/web?${query}${pretty}&filter=${KEEP_ALL_HEALTH}`);
    assert.equal(fast, general, `health ${query}${pretty}`);
    const fastCatalog = await body(`/v1/catalog/service/web?${query}${pretty}`);
    const generalCatalog = await body(`/v1/catalog/service/web?${query}${pretty}&filter=${KEEP_ALL}`);
    assert.equal(fastCatalog, generalCatalog, `catalog ${query}${pretty}`);
  }
}

test("materialised lists - same bytes as the general path, and they follow node, service and check changes", async () => {
  assert.equal(await body("/v1/health/service/web?pretty"), "[]\n");
  assert.equal(await body("/v1/health/service/web"), "[]");
  for (let i = 0; i < 6; i++) {
    await register({
      Node: `n${i}`,
      Address: `10.0.0.${i}`,
      NodeMeta: { zone: i % 2 === 0 ? "even" : "odd" },
      Service: { ID: `web-${i}`, Service: "web", Tags: i % 3 === 0 ? ["v1", "blue"] : ["v2"], Port: 8000 + i, Meta: { line: "a\nb" } },
      Checks: [
        { CheckID: `node-${i}`, Name: "node", Status: "passing" },
        { CheckID: `service:web-${i}`, Name: "svc", Status: i === 4 ? "warning" : "passing", ServiceID: `web-${i}` },
      ],
    });
  }
  await assertSameAsGeneralPath("");
  await assertSameAsGeneralPath("passing");
  await assertSameAsGeneralPath("tag=v1");
  await assertSameAsGeneralPath("node-meta=zone:odd");
  const before = JSON.parse(await body("/v1/health/service/web?passing")) as unknown[];
  assert.equal(before.length, 5);

  // A node-level check failing drops that node's instance from ?passing.
  await register({ Node: "n1", Address: "10.0.0.1", NodeMeta: { zone: "odd" }, Checks: [{ CheckID: "node-1", Name: "node", Status: "critical" }] });
  await assertSameAsGeneralPath("passing");
  assert.equal((JSON.parse(await body("/v1/health/service/web?passing")) as unknown[]).length, 4);
  // A node's address changes every entry on it; an instance's tags change its own entry.
  await register({ Node: "n2", Address: "10.9.9.9", NodeMeta: { zone: "even" } });
  await register({ Node: "n3", Address: "10.0.0.3", NodeMeta: { zone: "odd" }, Service: { ID: "web-3", Service: "web", Tags: ["v9"], Port: 1 } });
  await assertSameAsGeneralPath("");
  const catalog = JSON.parse(await body("/v1/catalog/service/web")) as { Node: string; Address: string; ServiceTags: string[] }[];
  assert.equal(catalog.find((e) => e.Node === "n2")?.Address, "10.9.9.9");
  assert.deepEqual(catalog.find((e) => e.Node === "n3")?.ServiceTags, ["v9"]);
  // A deregistered instance leaves the answer.
  const res = await fetch(`${agent.base}/v1/catalog/deregister`, { method: "PUT", body: JSON.stringify({ Node: "n5", ServiceID: "web-5" }) });
  assert.equal(res.status, 200);
  await assertSameAsGeneralPath("");
  assert.equal((JSON.parse(await body("/v1/health/service/web")) as unknown[]).length, 5);
});

test("materialised lists - a cold answer encoded in slices equals the one encoded whole", async () => {
  const instances = 1000;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < instances; i++) {
    writes.push(register({ Node: `big-${i}`, Address: "10.1.0.1", Service: { ID: "big", Service: "big" }, Check: { CheckID: "service:big", Name: "c", Status: "passing", ServiceID: "big" } }));
    if (i < 100) writes.push(register({ Node: `big-${i}`, Address: "10.1.0.1", Service: { ID: "mid", Service: "mid" } }));
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const [cold, concurrent] = await Promise.all([body("/v1/health/service/big?pretty"), body("/v1/health/service/big?pretty")]);
  assert.equal((JSON.parse(cold) as unknown[]).length, instances);
  assert.ok(Buffer.byteLength(cold) > 1 << 20, `${Buffer.byteLength(cold)} bytes: big enough to be sent in pieces`);
  assert.equal(cold, concurrent);
  assert.equal(cold, await body(`/v1/health/service/big?pretty&filter=${KEEP_ALL_HEALTH}`));
  // A repeat at the same index writes the pieces kept from the first answer.
  assert.equal(cold, await body("/v1/health/service/big?pretty"));
  const compact = await body("/v1/health/service/big");
  assert.equal(compact, JSON.stringify(JSON.parse(cold)));
  assert.equal(compact, await body("/v1/health/service/big"));
  // Between the direct size and one piece: written whole, but on the scheduler.
  const mid = await body("/v1/health/service/mid?pretty");
  assert.ok(Buffer.byteLength(mid) > 64 * 1024 && Buffer.byteLength(mid) < 256 * 1024, `${Buffer.byteLength(mid)} bytes`);
  assert.equal(mid, await body(`/v1/health/service/mid?pretty&filter=${KEEP_ALL_HEALTH}`));
});
