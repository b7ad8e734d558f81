import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeJson, parseJsonWithBigInts } from "../../../src/http/json.ts";

test("json - uint64 flags above 2^53 are emitted as exact bare numbers (http-core §3)", () => {
  assert.equal(encodeJson({ Flags: 16210313421097356768n }, false), '{"Flags":16210313421097356768}');
  assert.equal(encodeJson({ Flags: 3304740253564472344n, N: 1 }, false), '{"Flags":3304740253564472344,"N":1}');
  assert.equal(encodeJson({ Flags: 5n }, false), '{"Flags":5}');
});

test("json - ?pretty indents four spaces and ends with a newline", () => {
  assert.equal(encodeJson({ a: 1 }, true), '{\n    "a": 1\n}\n');
});

test("json - a string that looks like the marker is not rewritten", () => {
  assert.equal(encodeJson({ s: "u64:1" }, false), '{"s":"u64:1"}');
});

test("json - large integers in bodies parse exactly", () => {
  const v = parseJsonWithBigInts('{"Flags": 16210313421097356768, "Small": 3, "S": "12345678901234567890"}') as Record<string, unknown>;
  assert.equal(v.Flags, 16210313421097356768n);
  assert.equal(v.Small, 3);
  assert.equal(v.S, "12345678901234567890");
});

test("json - large integers are found past escaped quotes, and text around them is kept whole", () => {
  const text = '[{"K": "a\\"1234567890123456789\\\\", "F": 18446744073709551615, "G": -2.5e3}, {"F": 9007199254740993, "T": "x"}]';
  assert.deepEqual(parseJsonWithBigInts(text), [
    { K: 'a"1234567890123456789\\', F: 18446744073709551615n, G: -2500 },
    { F: 9007199254740993n, T: "x" },
  ]);
  // Without a long literal nothing is revived: a string that merely starts like the marker stays a string.
  assert.deepEqual(parseJsonWithBigInts('{"S": "\\u0000u64:5", "N": 12}'), { S: "\u0000u64:5", N: 12 });
});
