import assert from "node:assert/strict";
import { test } from "node:test";
import { nextIndex } from "../src/blocking.ts";
import { healthOfChecks, healthOfCounts, nodeHealth } from "../src/health.ts";
import { applyListQuery, byText, readListQuery, writeListQuery, type ListSpec } from "../src/list-query.ts";

interface Row {
  name: string;
  tags: string[];
  critical: number;
}

const spec: ListSpec<Row> = {
  searchable: (r) => [r.name, ...r.tags],
  health: (r) => (r.critical > 0 ? "critical" : "passing"),
  sorts: [
    { key: "Name:asc", label: "A to Z", compare: (a, b) => byText(a.name, b.name) },
    { key: "Name:desc", label: "Z to A", compare: (a, b) => byText(b.name, a.name) },
  ],
};
const rows: Row[] = [
  { name: "web-10", tags: ["blue"], critical: 0 },
  { name: "web-9", tags: ["green"], critical: 1 },
  { name: "db", tags: ["blue", "primary"], critical: 0 },
];

test("search matches every term in name or tags; status filters; sort is natural", () => {
  const q = { search: "", status: "" as const, sort: "Name:asc" };
  assert.deepEqual(applyListQuery(rows, q, spec).map((r) => r.name), ["db", "web-9", "web-10"]);
  assert.deepEqual(applyListQuery(rows, { ...q, sort: "Name:desc" }, spec).map((r) => r.name), ["web-10", "web-9", "db"]);
  assert.deepEqual(applyListQuery(rows, { ...q, search: "BLUE" }, spec).map((r) => r.name), ["db", "web-10"]);
  assert.deepEqual(applyListQuery(rows, { ...q, search: "blue web" }, spec).map((r) => r.name), ["web-10"]);
  assert.deepEqual(applyListQuery(rows, { ...q, status: "critical" }, spec).map((r) => r.name), ["web-9"]);
});

test("list state round-trips through the URL query, defaults left out", () => {
  assert.equal(writeListQuery({ search: "", status: "", sort: "Status:asc" }, "Status:asc"), "");
  const s = writeListQuery({ search: "we b", status: "warning", sort: "Name:asc" }, "Status:asc");
  assert.deepEqual(readListQuery(s, "Status:asc"), { search: "we b", status: "warning", sort: "Name:asc" });
  assert.equal(readListQuery("?status=bogus", "x").status, "");
});

test("the access filter keeps one action and round-trips through the URL as Consul's `access`", () => {
  const ixns = [
    { name: "a", action: "allow" as const },
    { name: "b", action: "deny" as const },
  ];
  const ixnSpec: ListSpec<(typeof ixns)[number]> = { searchable: (r) => [r.name], access: (r) => r.action, sorts: [] };
  assert.deepEqual(applyListQuery(ixns, { search: "", status: "", access: "deny", sort: "" }, ixnSpec).map((r) => r.name), ["b"]);
  assert.deepEqual(applyListQuery(ixns, { search: "", status: "", sort: "" }, ixnSpec).map((r) => r.name), ["a", "b"]);
  const s = writeListQuery({ search: "", status: "", access: "app-aware", sort: "x" }, "x");
  assert.equal(s, "?access=app-aware");
  assert.equal(readListQuery(s, "x").access, "app-aware");
  assert.equal(readListQuery("?access=bogus", "x").access, undefined);
});

test("health precedence critical > warning > passing; a node judges by its node checks", () => {
  assert.equal(healthOfCounts({ ChecksPassing: 3, ChecksWarning: 1, ChecksCritical: 0 }), "warning");
  assert.equal(healthOfCounts({ ChecksPassing: 0, ChecksWarning: 0, ChecksCritical: 0 }), "empty");
  assert.equal(healthOfChecks([{ Status: "passing", ServiceID: "" }, { Status: "critical", ServiceID: "a" }]), "critical");
  assert.equal(nodeHealth([{ Status: "passing", ServiceID: "" }, { Status: "critical", ServiceID: "a" }]), "passing");
});

test("blocking index: follow X-Consul-Index, start over when it goes backwards or is missing", () => {
  assert.equal(nextIndex(0, "12"), 12);
  assert.equal(nextIndex(12, "15"), 15);
  assert.equal(nextIndex(15, "3"), 0);
  assert.equal(nextIndex(15, null), 0);
  assert.equal(nextIndex(0, "0"), 0);
});
