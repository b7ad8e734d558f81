import { test } from "node:test";
import assert from "node:assert/strict";
import { CatalogTables } from "../../../src/state/catalog-tables.ts";
import { WatchHub, WatchSet } from "../../../src/state/watch.ts";
import type { NodeFields, ServiceFields } from "../../../src/fsm/command.ts";

// The service summary index (issue 17) must always equal what a scan of every instance gives.

const node = (name: string): NodeFields => ({ ID: "", Node: name, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: null });
const service = (id: string, name: string, tags: string[]): ServiceFields => ({
  ID: id,
  Service: name,
  Tags: tags,
  Address: "",
  Meta: null,
  Port: 0,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Proxy: {},
  Connect: {},
});

function scanned(cat: CatalogTables): [string, string[]][] {
  const byName = new Map<string, Set<string>>();
  for (const { service: s } of cat.allInstances()) {
    const tags = byName.get(s.Service) ?? new Set<string>();
    for (const t of s.Tags) tags.add(t);
    byName.set(s.Service, tags);
  }
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...byName].map(([n, t]): [string, string[]] => [n, [...t].sort(order)]).sort((a, b) => order(a[0], b[0]));
}

test("catalog summary - tags and names follow upserts, tag changes, deletes and node deletes", () => {
  const cat = new CatalogTables(new WatchHub());
  let index = 1;
  cat.upsertNode(index++, node("a"));
  cat.upsertNode(index++, node("b"));
  cat.upsertService(index++, "a", service("web1", "web", ["v1", "blue", "v1"]));
  cat.upsertService(index++, "b", service("web1", "web", ["v2"]));
  cat.upsertService(index++, "b", service("db", "db", []));
  assert.deepEqual(cat.serviceTagSummary(), [["db", []], ["web", ["blue", "v1", "v2"]]]);
  assert.deepEqual(cat.serviceTagSummary(), scanned(cat));

  // a tag dropped by its only carrier disappears; one still carried elsewhere stays
  cat.upsertService(index++, "a", service("web1", "web", ["v2"]));
  assert.deepEqual(cat.serviceTagSummary(), [["db", []], ["web", ["v2"]]]);
  // renaming an instance moves it between names
  cat.upsertService(index++, "b", service("web1", "api", ["x"]));
  assert.deepEqual(cat.serviceTagSummary(), scanned(cat));
  cat.deleteService(index++, "b", "db");
  assert.deepEqual(cat.serviceTagSummary(), [["api", ["x"]], ["web", ["v2"]]]);
  cat.deleteNode(index++, "a");
  assert.deepEqual(cat.serviceTagSummary(), [["api", ["x"]]]);
  assert.deepEqual(cat.serviceTagSummary(), scanned(cat));
});

test("catalog summary - rebuilt by a snapshot load, emptied by clear, and watched through the services table", () => {
  const hub = new WatchHub();
  const cat = new CatalogTables(hub);
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("s1", "svc", ["t"]));
  const dump = cat.dump();
  const restored = new CatalogTables(new WatchHub());
  restored.load(dump);
  assert.deepEqual(restored.serviceTagSummary(), [["svc", ["t"]]]);
  restored.clear();
  assert.deepEqual(restored.serviceTagSummary(), []);

  const ws = new WatchSet();
  cat.serviceTagSummary(ws);
  let woken = false;
  hub.subscribe(ws.topics, () => (woken = true));
  cat.upsertService(3, "a", service("s2", "other", []));
  assert.equal(woken, true);
});
