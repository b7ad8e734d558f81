import { test } from "node:test";
import assert from "node:assert/strict";
import { sameRow } from "../../../src/state/rows-equal.ts";

test("rows-equal - index fields at the top level are ignored, nested ones are not", () => {
  assert.equal(sameRow({ Key: "a", CreateIndex: 1, ModifyIndex: 2 }, { Key: "a", CreateIndex: 5, ModifyIndex: 9 }), true);
  assert.equal(sameRow({ Key: "a", ModifyIndex: 2 }, { Key: "a" }), true);
  assert.equal(sameRow({ Meta: { ModifyIndex: 1 } }, { Meta: { ModifyIndex: 2 } }), false);
});

test("rows-equal - key order does not matter, a missing key does", () => {
  assert.equal(sameRow({ a: 1, b: "x" }, { b: "x", a: 1 }), true);
  assert.equal(sameRow({ a: 1, b: 2 }, { a: 1 }), false);
  assert.equal(sameRow({ a: 1 }, { a: 1, b: 2 }), false);
});

test("rows-equal - null and undefined are alike, bigints equal the number they print as", () => {
  assert.equal(sameRow({ a: null }, { a: undefined }), true);
  assert.equal(sameRow({ Flags: 5n }, { Flags: 5 }), true);
  assert.equal(sameRow({ Flags: 5n }, { Flags: 6n }), false);
  assert.equal(sameRow({ a: "5" }, { a: 5 }), false);
  assert.equal(sameRow({ a: 0 }, { a: null }), false);
});

test("rows-equal - buffers compare by bytes, arrays by element", () => {
  assert.equal(sameRow({ v: Buffer.from("hi") }, { v: Buffer.from("hi") }), true);
  assert.equal(sameRow({ v: Buffer.from("hi") }, { v: Buffer.from("ho") }), false);
  assert.equal(sameRow({ t: ["a", { x: 1 }] }, { t: ["a", { x: 1 }] }), true);
  assert.equal(sameRow({ t: ["a"] }, { t: ["a", "b"] }), false);
  assert.equal(sameRow({ t: [] }, { t: {} }), false);
});
