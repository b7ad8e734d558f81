import { test } from "node:test";
import assert from "node:assert/strict";
import type { HealthCheck, Node, NodeService } from "../../../src/model/catalog.ts";
import { encodeJson } from "../../../src/http/json.ts";
import { inSlab } from "../../../src/http/views/json-bytes.ts";
import { assembleList, encodedListLength, InstanceFragments, listPieces } from "../../../src/http/views/instance-fragments.ts";
import { healthEntryView } from "../../../src/http/views/health-entry.ts";
import { writeHealthEntry } from "../../../src/http/views/health-entry-bytes.ts";

// The per-instance view's bytes must be exactly what encoding the whole array gives, however
// the answer is cut into pieces, and an entry must be rebuilt when one of its rows is replaced.

const node = (name: string): Node => ({ ID: "", Node: name, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: { lan: "10.0.0.1" }, Meta: { a: "b\nc" }, CreateIndex: 1, ModifyIndex: 2 });
const service = (id: string, tags: string[]): NodeService =>
  ({ ID: id, Service: "web", Tags: tags, Address: "", Meta: null, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, CreateIndex: 3, ModifyIndex: 4 }) as NodeService;
const check = (status: "passing" | "critical"): HealthCheck => ({ Node: "n", CheckID: "c", Name: "c", Status: status, Notes: "", Output: "", ServiceID: "", ServiceName: "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {}, CreateIndex: 5, ModifyIndex: 6 });
const render = (n: Node, s: NodeService, checks: readonly HealthCheck[] | undefined): unknown => ({ Node: n, Service: s, Checks: checks ?? [], Empty: [], Nested: { List: [1, [2, {}]] } });

test("instance fragments - concatenated entries equal encodeJson of the array, in both spellings and any piece size", () => {
  const cache = new InstanceFragments(render);
  const checks = [check("passing")];
  const rows = Array.from({ length: 7 }, (_, i) => ({ n: node(`n${i}`), s: service(`web-${i}`, i % 2 ? ["x"] : []) }));
  const fragments = rows.map(({ n, s }) => cache.fragment(n, s, checks));
  const values = rows.map(({ n, s }) => render(n, s, checks));
  for (const pretty of [false, true]) {
    const expected = encodeJson(values, pretty);
    assert.equal(assembleList(cache, fragments, pretty).toString(), expected);
    assert.equal(encodedListLength(cache, fragments, pretty), Buffer.byteLength(expected));
    for (const piece of [1, 50, 400, 1 << 20]) assert.equal(Buffer.concat([...listPieces(cache, fragments, pretty, piece)].flat()).toString(), expected, `pieces of ${piece}`);
    assert.equal(assembleList(cache, [], pretty).toString(), encodeJson([], pretty));
  }
});

test("instance fragments - reused while the rows are the same objects, rebuilt when one is replaced", () => {
  const cache = new InstanceFragments(render);
  const n = node("n1");
  const s = service("web-1", []);
  const passing = [check("passing")];
  const first = cache.fragment(n, s, passing);
  assert.equal(first.passing, true);
  assert.equal(cache.fragment(n, s, [...passing]), first, "an equal check list (same rows) keeps the entry");
  const critical = cache.fragment(n, s, [check("critical")]);
  assert.notEqual(critical, first);
  assert.equal(critical.passing, false);
  assert.notEqual(cache.fragment(node("n1"), s, [check("critical")]), critical, "a replaced node row rebuilds the entry");
});

test("instance fragments - entries written in a row are taken from their slab as runs, any subset and order still exact", () => {
  const viewOf = (n: Node, s: NodeService, checks: readonly HealthCheck[] | undefined): unknown => healthEntryView(n, s, checks ?? []);
  const written = new InstanceFragments(viewOf, (n, s, checks, pretty, into) => writeHealthEntry(n, s, checks ?? [], pretty, into));
  const plain = new InstanceFragments(viewOf);
  const checks = [check("passing")];
  // ~1.7 KB pretty each: 200 of them fill several 64 KiB slabs.
  const rows = Array.from({ length: 200 }, (_, i) => ({ n: node(`n${i}`), s: service(`web-${i}`, [`t${i}`]) }));
  for (const pretty of [true, false]) {
    const fragments = rows.map(({ n, s }) => written.fragment(n, s, checks));
    const reference = rows.map(({ n, s }) => plain.fragment(n, s, checks));
    for (const f of fragments) written.encoded(f, pretty);
    const subsets = {
      all: (i: number) => i,
      every_other: (i: number) => (i % 2 === 0 ? i : -1),
      reversed: (i: number) => rows.length - 1 - i,
      one: (i: number) => (i === 7 ? i : -1),
    };
    for (const [name, pick] of Object.entries(subsets)) {
      const chosen = rows.map((_, i) => pick(i)).filter((i) => i >= 0);
      const expected = assembleList(plain, chosen.map((i) => reference[i]), pretty);
      const mine = chosen.map((i) => fragments[i]);
      for (const piece of [64, 4096, 256 * 1024, Number.POSITIVE_INFINITY]) {
        const pieces = [...listPieces(written, mine, pretty, piece)];
        assert.ok(Buffer.concat(pieces.flat()).equals(expected), `${name}, pieces of ${piece}, ${pretty ? "pretty" : "compact"}`);
        // A run is cut at the piece size: no piece is much bigger than asked.
        const sizes = pieces.map((p) => p.reduce((n, part) => n + part.length, 0));
        if (Number.isFinite(piece)) for (const size of sizes) assert.ok(size <= piece + 64 * 1024, `${name}: a ${size}-byte piece for ${piece}`);
      }
      assert.equal(encodedListLength(written, mine, pretty), expected.length);
    }
    // Runs are handed out as views of their slab, never copied: at the socket's piece size, all
    // of the answer but its brackets is slab memory.
    const slab = (pretty ? fragments[1].prettyIn : fragments[1].compactIn)?.buffer;
    const parts = [...listPieces(written, fragments, pretty, 256 * 1024)].flat();
    assert.ok(parts.some((p) => p.buffer === slab), "some part is a view of an entry's slab");
    const total = parts.reduce((n, p) => n + p.length, 0);
    const inSlabs = parts.filter((p) => inSlab(p)).reduce((n, p) => n + p.length, 0);
    assert.ok(total - inSlabs <= 8, `${total - inSlabs} of ${total} bytes copied out of the slabs`);
  }
});

test("instance fragments - entries the writer could not write (their own buffers) between slab runs keep the list exact", () => {
  // An off-shape row (here a numeric Address) falls back to the renderer: its bytes are a
  // buffer of its own, the entries around it spans of slabs.
  const viewOf = (n: Node, s: NodeService, checks: readonly HealthCheck[] | undefined): unknown => healthEntryView(n, s, checks ?? []);
  const written = new InstanceFragments(viewOf, (n, s, checks, pretty, into) => writeHealthEntry(n, s, checks ?? [], pretty, into));
  const plain = new InstanceFragments(viewOf);
  const checks = [check("passing")];
  const rows = Array.from({ length: 120 }, (_, i) => ({ n: i % 7 === 3 ? ({ ...node(`n${i}`), Address: i } as unknown as Node) : node(`n${i}`), s: service(`web-${i}`, [`t\u00e9${i}`]) }));
  for (const pretty of [true, false]) {
    const fragments = rows.map(({ n, s }) => written.fragment(n, s, checks));
    const expected = assembleList(plain, rows.map(({ n, s }) => plain.fragment(n, s, checks)), pretty);
    assert.equal(expected.toString(), encodeJson(rows.map(({ n, s }) => viewOf(n, s, checks)), pretty));
    for (const piece of [1, 700, 64 * 1024, Number.POSITIVE_INFINITY]) {
      // Encoded while pulled (as a cold answer streams), then again from the kept spans.
      const cold = Buffer.concat([...listPieces(written, fragments, pretty, piece, 8)].flat());
      assert.ok(cold.equals(expected), `${pretty ? "pretty" : "compact"}, pieces of ${piece}`);
    }
    assert.equal(encodedListLength(written, fragments, pretty), expected.length);
    assert.ok(written.encoded(fragments[3], pretty).equals(plain.encoded(plain.fragment(rows[3].n, rows[3].s, checks), pretty)), "an own-buffer entry");
    assert.ok(written.encoded(fragments[4], pretty).equals(plain.encoded(plain.fragment(rows[4].n, rows[4].s, checks), pretty)), "a slab entry");
  }
});
