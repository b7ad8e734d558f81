import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregatedStatus, allPassing } from "../../../src/http/views/aggregated-status.ts";

const check = (CheckID: string, Status: "passing" | "warning" | "critical") => ({ CheckID, Status });

test("health - aggregated status: any maintenance check is maintenance", () => {
  assert.equal(aggregatedStatus([check("a", "passing"), check("_node_maintenance", "critical")]), "maintenance");
  assert.equal(aggregatedStatus([check("_service_maintenance:web", "critical"), check("b", "critical")]), "maintenance");
});

test("health - aggregated status: critical beats warning beats passing; empty is passing", () => {
  assert.equal(aggregatedStatus([check("a", "warning"), check("b", "critical")]), "critical");
  assert.equal(aggregatedStatus([check("a", "warning"), check("b", "passing")]), "warning");
  assert.equal(aggregatedStatus([check("a", "passing")]), "passing");
  assert.equal(aggregatedStatus([]), "passing");
});

test("health - ?passing semantics: only all-passing check sets survive", () => {
  assert.equal(allPassing([check("a", "passing"), check("b", "passing")]), true);
  assert.equal(allPassing([check("a", "passing"), check("b", "warning")]), false);
  assert.equal(allPassing([]), true);
});
