import { test } from "node:test";
import assert from "node:assert/strict";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { encodeJson } from "../../../src/http/json.ts";
import { encodedIdMapInSteps as pieces, ENTRIES_PER_STEP } from "../../../src/http/handlers/id-map-in-steps.ts";

function* encodedIdMapInSteps<T>(items: readonly T[], idOf: (item: T) => string, view: (item: T) => unknown, pretty: boolean): Generator<void, string, void> {
  return Buffer.concat(yield* pieces(items, idOf, view, pretty)).toString("utf8");
}

// GET /v1/agent/checks is written entry by entry in steps (issue 12 item 6); its bytes must be
// those of the one object the handler used to stringify.

const ids = ["x".repeat(70_000), "web:1", "10", "b", "7", "a", "0", "01", "4294967295", "4294967294", "é", "z", ...Array.from({ length: 300 }, (_, i) => `c-${i}`)];
const items = ids.map((id, i) => ({ id, n: i, tags: ["x", "y"], big: i === 3 ? 2n ** 60n : i, skip: i % 5 === 1 }));
const view = (it: (typeof items)[number]): unknown => (it.skip ? undefined : { ID: it.id, N: it.n, Tags: it.tags, Nested: { Big: it.big, Empty: {} } });

function wholeObject(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const it of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const v = view(it);
    if (v !== undefined) out[it.id] = v;
  }
  return out;
}

test("id map in steps - the same bytes as encoding the whole object, pretty and compact, array-index IDs first", () => {
  for (const pretty of [false, true]) {
    assert.equal(runWhole(encodedIdMapInSteps(items, (it) => it.id, view, pretty)), encodeJson(wholeObject(), pretty));
  }
  // The 70,000-character ID alone fills a piece: the text comes in several.
  assert.ok(runWhole(pieces(items, (it) => it.id, view, false)).length >= 2);
  assert.equal(runWhole(encodedIdMapInSteps([], (it: { id: string }) => it.id, () => 1, true)), encodeJson({}, true));
  assert.equal(runWhole(encodedIdMapInSteps(items, (it) => it.id, () => undefined, false)), "{}");
});

test("id map in steps - one step per batch of entries", () => {
  const work = encodedIdMapInSteps(items, (it) => it.id, view, false);
  let steps = 0;
  while (work.next().done !== true) steps++;
  assert.ok(steps >= Math.floor(items.length / ENTRIES_PER_STEP), `${steps} steps`);
});
