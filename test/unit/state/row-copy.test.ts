import { test } from "node:test";
import assert from "node:assert/strict";
import { rowWithIndexes } from "../../../src/state/row-copy.ts";

test("row copy - same fields in the same order, indexes set last and replaced when present", () => {
  const source = { ID: "web-1", Service: "web", Tags: ["a"], CreateIndex: 3, Meta: null, ModifyIndex: 4 };
  const row = rowWithIndexes(source, 7, 9);
  assert.deepEqual(Object.keys(row), ["ID", "Service", "Tags", "Meta", "CreateIndex", "ModifyIndex"]);
  assert.equal(row.CreateIndex, 7);
  assert.equal(row.ModifyIndex, 9);
  assert.equal(row.Tags, source.Tags, "values are shared, not deep-copied, as with a spread");
  assert.notEqual(row, source);
  assert.equal(source.ModifyIndex, 4, "the source is left alone");
});
