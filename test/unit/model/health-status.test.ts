import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregatedStatus, allPassing, dnsVisibleStatus } from "../../../src/model/health-status.ts";

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

void test("health status - DNS hides critical instances, and warning ones only with only_passing (dns.md §5)", () => {
  const c = (Status: "passing" | "warning" | "critical") => ({ Status });
  assert.equal(dnsVisibleStatus([c("passing")], false), "passing");
  assert.equal(dnsVisibleStatus([c("passing"), c("warning")], false), "warning");
  assert.equal(dnsVisibleStatus([c("warning")], true), undefined);
  assert.equal(dnsVisibleStatus([c("passing"), c("critical")], false), undefined);
  assert.equal(dnsVisibleStatus([], true), "passing");
});
