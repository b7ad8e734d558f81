import { test } from "node:test";
import assert from "node:assert/strict";
import { CatalogTables } from "../../../src/state/catalog-tables.ts";
import { WatchHub, WatchSet } from "../../../src/state/watch.ts";
import type { CheckFields, NodeFields, ServiceFields } from "../../../src/fsm/command.ts";

const node = (name: string): NodeFields => ({ ID: "", Node: name, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: null });
const service = (id: string, name: string, extra: Partial<ServiceFields> = {}): ServiceFields => ({
  ID: id,
  Service: name,
  Tags: [],
  Address: "",
  Meta: null,
  Port: 0,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Proxy: {},
  Connect: {},
  ...extra,
});
const check = (nodeName: string, id: string, serviceId = ""): CheckFields => ({
  Node: nodeName,
  CheckID: id,
  Name: id,
  Status: "passing",
  Notes: "",
  Output: "",
  ServiceID: serviceId,
  ServiceName: "",
  ServiceTags: [],
  Type: "",
  Interval: "",
  Timeout: "",
  ExposedPort: 0,
  Definition: {},
});

function fresh(): { cat: CatalogTables; hub: WatchHub } {
  const hub = new WatchHub();
  return { cat: new CatalogTables(hub), hub };
}

test("catalog state - service name index moves on a node-level check change of a hosting node", () => {
  const { cat } = fresh();
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("web-1", "web"));
  cat.upsertService(3, "a", service("db", "db"));
  assert.equal(cat.serviceNameIndex("WEB"), 2);
  cat.upsertCheck(4, check("a", "serfHealth"));
  assert.equal(cat.serviceNameIndex("web"), 4);
  assert.equal(cat.serviceNameIndex("db"), 4);
});

test("catalog state - a service check change moves only that service's name index", () => {
  const { cat } = fresh();
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("web-1", "web"));
  cat.upsertService(3, "a", service("db", "db"));
  cat.upsertCheck(4, check("a", "service:web-1", "web-1"));
  assert.equal(cat.serviceNameIndex("web"), 4);
  assert.equal(cat.serviceNameIndex("db"), 3);
});

test("catalog state - a vanished name keeps a forward-moving index; an unknown one falls back to the services index, never 0", () => {
  const { cat } = fresh();
  assert.equal(cat.serviceNameIndex("ghost"), 1);
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("web-1", "web"));
  cat.deleteService(5, "a", "web-1");
  assert.equal(cat.serviceNameIndex("web"), 5);
  assert.deepEqual(cat.serviceInstances("web"), []);
});

test("catalog state - watching a service name wakes on an instance's check change", () => {
  const { cat, hub } = fresh();
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("web-1", "web"));
  const ws = new WatchSet();
  cat.serviceNameIndex("web", ws);
  let woke = 0;
  hub.subscribe(ws.topics, () => woke++);
  cat.upsertCheck(3, check("a", "c", "web-1"));
  assert.equal(woke, 1);
});

test("catalog state - clear bumps the generation so memoized answers are not reused", () => {
  const { cat } = fresh();
  const before = cat.generation;
  cat.clear();
  assert.equal(cat.generation, before + 1);
});

test("catalog state - connect instances are proxies for the name and Connect-native instances", () => {
  const { cat } = fresh();
  cat.upsertNode(1, node("a"));
  cat.upsertService(2, "a", service("p", "web-proxy", { Kind: "connect-proxy", Proxy: { DestinationServiceName: "Web" } }));
  cat.upsertService(3, "a", service("n", "web", { Connect: { Native: true } }));
  cat.upsertService(4, "a", service("plain", "web"));
  assert.deepEqual(
    cat.connectInstances("web").map((i) => i.service.ID),
    ["n", "p"],
  );
});

test("catalog state - a service's instance order follows joins, leaves, renames and a restore", () => {
  const { cat } = fresh();
  const ids = (name: string): string[] => cat.serviceInstances(name).map((i) => `${i.node.Node}/${i.service.ID}`);
  let index = 1;
  for (const n of ["c", "a", "B", "d"]) cat.upsertNode(index++, node(n));
  cat.upsertService(index++, "d", service("w2", "web"));
  cat.upsertService(index++, "a", service("w9", "web"));
  cat.upsertService(index++, "a", service("w1", "Web"));
  cat.upsertService(index++, "c", service("w1", "web"));
  assert.deepEqual(ids("web"), ["a/w1", "a/w9", "c/w1", "d/w2"]);
  // Kept between reads, and rebuilt on a join, a leave and a rename to another name.
  assert.deepEqual(ids("WEB"), ["a/w1", "a/w9", "c/w1", "d/w2"]);
  cat.upsertService(index++, "B", service("w5", "web"));
  assert.deepEqual(ids("web"), ["B/w5", "a/w1", "a/w9", "c/w1", "d/w2"]);
  cat.deleteService(index++, "a", "w9");
  cat.upsertService(index++, "c", service("w1", "api"));
  assert.deepEqual(ids("web"), ["B/w5", "a/w1", "d/w2"]);
  assert.deepEqual(ids("api"), ["c/w1"]);
  const restored = fresh().cat;
  restored.load(cat.dump());
  assert.deepEqual(restored.serviceInstances("web").map((i) => `${i.node.Node}/${i.service.ID}`), ["B/w5", "a/w1", "d/w2"]);
  restored.deleteService(index++, "B", "w5");
  assert.deepEqual(restored.serviceInstances("web").map((i) => `${i.node.Node}/${i.service.ID}`), ["a/w1", "d/w2"]);
});

test("catalog state - an instance's checks are its own and the node-level ones, by CheckID, on small and large nodes alike", () => {
  // Nodes with few checks are scanned per read, nodes with many keep their lists (issue 17, S4);
  // both must give the same lists and follow every check change.
  for (const extra of [0, 2, 40]) {
    const { cat } = fresh();
    let index = 1;
    cat.upsertNode(index++, node("n1"));
    cat.upsertService(index++, "n1", service("web-1", "web"));
    cat.upsertService(index++, "n1", service("web-2", "web"));
    for (let i = 0; i < extra; i++) cat.upsertCheck(index++, check("n1", `other-${String(i).padStart(2, "0")}`, "web-2"));
    cat.upsertCheck(index++, check("n1", "z-web-1", "web-1"));
    cat.upsertCheck(index++, check("n1", "a-web-1", "web-1"));
    cat.upsertCheck(index++, check("n1", "m-serf", ""));
    const ids = (serviceId: string): string[] => cat.instanceChecks("N1", serviceId).map((c) => c.CheckID);
    assert.deepEqual(ids("web-1"), ["a-web-1", "m-serf", "z-web-1"], `${extra} more checks`);
    assert.equal(ids("web-2").length, extra + 1);
    assert.deepEqual(ids("nope"), ["m-serf"]);
    assert.deepEqual(cat.instanceChecks("n2", "web-1"), []);
    cat.upsertCheck(index++, { ...check("n1", "a-web-1", "web-1"), Status: "critical" });
    assert.equal(cat.instanceChecks("n1", "web-1")[0].Status, "critical", "a changed check is seen");
    cat.deleteCheck(index++, "n1", "m-serf");
    assert.deepEqual(ids("web-1"), ["a-web-1", "z-web-1"], "a deleted check is gone");
  }
});
