import { test } from "node:test";
import assert from "node:assert/strict";
import { rowWithIndexes } from "../../../src/state/row-copy.ts";

test("row copy - same fields in the same order, indexes set last and replaced when present", () => {
  const source = { ID: "web-1", Service: "web", Tags: ["a"], CreateIndex: 3, Meta: null, ModifyIndex: 4 };
  const row = rowWithIndexes(source, 7, 9);
  assert.deepEqual(Object.keys(row), ["ID", "Service", "Tags", "Meta", "CreateIndex", "ModifyIndex"]);
  assert.equal(row.CreateIndex, 7);
  assert.equal(row.ModifyIndex, 9);
  assert.deepEqual(row.Tags, source.Tags);
  assert.notEqual(row, source);
  assert.equal(source.ModifyIndex, 4, "the source is left alone");
});

test("row copy - repeated values are stored once: interned strings, one frozen empty object and array", () => {
  const a = rowWithIndexes({ Name: "svc-0 health", Proxy: {}, Tags: [] as string[], Meta: { k: "v" } }, 1, 1);
  const b = rowWithIndexes({ Name: ["svc-0", "health"].join(" "), Proxy: {}, Tags: [] as string[], Meta: { k: "v" } }, 2, 2);
  assert.equal(a.Name, b.Name);
  assert.equal(a.Proxy, b.Proxy, "empty objects are one instance");
  assert.equal(a.Tags, b.Tags, "empty arrays are one instance");
  assert.ok(Object.isFrozen(a.Proxy) && Object.isFrozen(a.Tags), "shared empties cannot be changed through one row");
  assert.deepEqual(a.Meta, { k: "v" });
});
