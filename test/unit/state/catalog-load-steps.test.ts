import { test } from "node:test";
import assert from "node:assert/strict";
import type { HealthCheck, Node, NodeService } from "../../../src/model/catalog.ts";
import { CatalogTables, type CatalogDump } from "../../../src/state/catalog-tables.ts";
import { WatchHub } from "../../../src/state/watch.ts";

// Issue 12 item 6: a restore stages the catalog in steps, pausing every few hundred rows. The
// pauses counted nodes' rows only after a whole node, so one node carrying thousands of
// services or checks (a registration at the body cap: 6,700 checks) was one step.

const SERVICES = 3_000;
const CHECKS = 5_000;

function oneBigNode(): CatalogDump {
  const node = { ID: "", Node: "big", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: null, CreateIndex: 1, ModifyIndex: 1 } as unknown as Node;
  const services = Array.from({ length: SERVICES }, (_, i) => ({ ID: `svc-${i}`, Service: `web-${i % 7}`, Tags: [`v${i % 3}`], Port: 8000 + i, CreateIndex: 2, ModifyIndex: 2 }) as unknown as NodeService);
  const checks = Array.from({ length: CHECKS }, (_, i) => ({ Node: "big", CheckID: `check-${i}`, Name: `check ${i}`, Status: "passing", ServiceID: "", CreateIndex: 3, ModifyIndex: 3 }) as unknown as HealthCheck);
  return { nodes: [node], services: [["big", services]], checks: [["big", checks]], nameIndex: [["web-0", 2]], nodesIndex: 1, servicesIndex: 2, checksIndex: 3 };
}

test("catalog load steps - one node's thousands of services and checks are loaded a few hundred rows per step, to the same table", () => {
  const dump = oneBigNode();
  const whole = new CatalogTables(new WatchHub());
  whole.load(dump);
  const staged = new CatalogTables(new WatchHub());
  const work = staged.loadSlices(dump);
  let steps = 0;
  while (work.next().done !== true) steps++;
  assert.ok(steps >= Math.floor((SERVICES + CHECKS) / 512), `paused ${steps} times for ${SERVICES + CHECKS} rows of one node`);
  assert.deepEqual(staged.dump(), whole.dump());
  assert.deepEqual(staged.dump(), dump);
  assert.equal([...staged.allInstances()].length, SERVICES);
});
