import { test } from "node:test";
import assert from "node:assert/strict";
import { findJsonTooDeep, MAX_JSON_NESTING_DEPTH } from "../../../src/model/json-depth.ts";

test("json depth - counts objects and arrays, not brackets inside strings", () => {
  assert.equal(findJsonTooDeep('{"a":[{"b":"[[[[{{{{"}]}', 3), undefined);
  assert.deepEqual(findJsonTooDeep('{"a":[{"b":[1]}]}', 3), { char: "[", offset: 11 });
  // An escaped quote does not end the string.
  assert.equal(findJsonTooDeep('["\\"[[[[[["]', 1), undefined);
  assert.equal(findJsonTooDeep("[".repeat(MAX_JSON_NESTING_DEPTH) + "]".repeat(MAX_JSON_NESTING_DEPTH)), undefined);
  assert.deepEqual(findJsonTooDeep("{\"x\":" + "[".repeat(MAX_JSON_NESTING_DEPTH)), { char: "[", offset: 5 + MAX_JSON_NESTING_DEPTH - 1 });
});

test("json depth - what the limit admits still encodes: msgpack, structuredClone, JSON", async () => {
  const { Packr } = await import("msgpackr");
  let v: unknown = 1;
  for (let i = 0; i < MAX_JSON_NESTING_DEPTH; i++) v = i % 2 ? [v] : { a: v };
  const packr = new Packr();
  assert.ok(packr.unpack(packr.pack({ state: { rows: [v] } })));
  assert.ok(structuredClone(v));
  assert.ok(JSON.parse(JSON.stringify(v)));
});
