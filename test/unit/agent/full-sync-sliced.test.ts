import { test } from "node:test";
import assert from "node:assert/strict";
import { CatalogSync, COMPARE_CHECKS_PER_STEP } from "../../../src/agent/catalog-sync.ts";
import { unauthenticatedCatalogWrites } from "../../../src/agent/catalog-writes.ts";
import { NODE, service, startHarness } from "./agent-harness.ts";

// Issue 12 item 6: the periodic full sync compared every local check with the catalog in one
// turn (20,000 checks on a busy agent). The comparison is sliced work now; this test counts
// its pauses (never time) and checks it marks exactly the differences.

const CHECKS = 2000;

test("a full sync compares the checks with the catalog in steps of COMPARE_CHECKS_PER_STEP, marking exactly the differences", async () => {
  const h = await startHarness();
  const checks = Array.from({ length: CHECKS }, (_, i) => ({ CheckID: `c-${i}`, Name: `c ${i}`, TTL: "600s" }));
  await h.agent.addService(service({ Name: "web", Port: 80, Checks: checks }), { replaceExistingChecks: false, source: "api" });
  assert.equal(h.state.catalog.nodeChecks(NODE).filter((c) => c.ServiceID === "web").length, CHECKS);

  // Drift: the catalog's output of a few checks edited, and a check the agent does not own.
  const node = h.state.catalog.getNode(NODE)!;
  const edited = [3, 700, 1999].map((i) => h.state.catalog.getCheck(NODE, `c-${i}`)!);
  const stray = { ...edited[0]!, CheckID: "stray", Name: "stray" };
  const row = ({ CreateIndex: _c, ModifyIndex: _m, ...fields }: typeof stray) => fields;
  await h.consensus.propose({
    Type: "catalog-register",
    Node: { ID: node.ID, Node: NODE, Address: node.Address, Datacenter: "dc1", TaggedAddresses: node.TaggedAddresses, Meta: node.Meta },
    SkipNodeUpdate: true,
    Checks: [...edited.map((c) => ({ ...row(c), Output: "edited" })), row(stray)],
  });

  const sync = new CatalogSync({
    local: h.agent.localState,
    writes: unauthenticatedCatalogWrites(h.consensus),
    syncToken: () => "",
    catalog: h.state.catalog,
    logger: h.agent.logger,
    nowMs: () => h.clock.now(),
    nodeFields: () => ({ ID: node.ID, Node: NODE, Address: node.Address, Datacenter: "dc1", TaggedAddresses: node.TaggedAddresses, Meta: node.Meta }),
    registerNode: () => Promise.resolve(),
  });
  const work = sync.updateSyncStateSteps();
  let steps = 0;
  while (work.next().done !== true) steps++;
  assert.ok(steps >= Math.floor((2 * CHECKS) / COMPARE_CHECKS_PER_STEP), `${steps} steps`);

  const local = h.agent.localState;
  const outOfSync = local.checkEntries().filter(([, e]) => !e.deleted && !e.inSync).map(([id]) => id).sort();
  assert.deepEqual(outOfSync, ["c-1999", "c-3", "c-700"]);
  assert.equal(local.anyCheckEntry("stray")?.deleted, true, "a check the agent does not own is adopted to be removed");
  assert.equal(local.anyCheckEntry("serfHealth"), undefined, "serfHealth belongs to the servers");

  // And the sync that follows repairs the drift.
  await sync.syncChanges();
  assert.equal(h.state.catalog.getCheck(NODE, "c-700")?.Output, "");
  assert.equal(h.state.catalog.getCheck(NODE, "stray"), undefined);
  await h.agent.stop();
});
