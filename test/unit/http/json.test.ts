import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeJson, parseJsonWithBigInts } from "../../../src/http/json.ts";
import { encodeKvEntries, kvEntryView } from "../../../src/http/views/kv-entry.ts";
import type { KVEntry } from "../../../src/model/kv.ts";

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

test("json - KV entries written field by field match the generic encoding of their views, compact and pretty", () => {
  const entry = (over: Partial<KVEntry>): KVEntry => ({ Key: "a/b", Value: Buffer.from("value"), Flags: 0n, LockIndex: 0, CreateIndex: 7, ModifyIndex: 9, ...over }) as KVEntry;
  const cases: KVEntry[][] = [
    [],
    [entry({})],
    [entry({ Value: Buffer.alloc(0), Key: 'quote " slash \\ tab \t é ☃ \u0001' })],
    [entry({ Session: "3f1c-lock", LockIndex: 2, Flags: 16210313421097356768n }), entry({ Key: "a/c", Flags: 42n, Value: Buffer.from([0, 255, 1]) })],
  ];
  for (const entries of cases) {
    for (const pretty of [false, true]) {
      assert.equal(encodeKvEntries(entries, pretty), encodeJson(entries.map(kvEntryView), pretty), `${entries.length} entries, pretty ${pretty}`);
    }
  }
});
