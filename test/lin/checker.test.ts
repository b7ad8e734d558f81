import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLinearizable } from "./checker.ts";
import type { KvOperation } from "./kv-model.ts";
import { kvModel } from "./kv-model.ts";

const put = (clientId: number, key: string, value: string, call: number, ret: number): KvOperation => ({
  clientId,
  input: { op: "put", key, value },
  output: null,
  call,
  return: ret,
});
const get = (clientId: number, key: string, value: string | null, call: number, ret: number): KvOperation => ({
  clientId,
  input: { op: "get", key },
  output: value,
  call,
  return: ret,
});

test("linearizability - a read after a completed write sees it", () => {
  assert.equal(checkLinearizable(kvModel, [put(1, "x", "a", 0, 10), get(2, "x", "a", 20, 30)]).ok, true);
});

test("linearizability - a read after a completed write must not see the old value", () => {
  assert.equal(checkLinearizable(kvModel, [put(1, "x", "a", 0, 10), get(2, "x", null, 20, 30)]).ok, false);
});

test("linearizability - a read concurrent with a write may see either value", () => {
  assert.equal(checkLinearizable(kvModel, [put(1, "x", "a", 0, 50), get(2, "x", null, 10, 20), get(3, "x", "a", 30, 40)]).ok, true);
});

test("linearizability - once a read saw the new value, a later read cannot see the old one", () => {
  const h = [put(1, "x", "a", 0, 100), get(2, "x", "a", 10, 20), get(3, "x", null, 30, 40)];
  assert.equal(checkLinearizable(kvModel, h).ok, false);
});

test("linearizability - a write with unknown outcome may take effect late or never", () => {
  const lost = { ...put(1, "x", "a", 0, Infinity), output: undefined };
  assert.equal(checkLinearizable(kvModel, [lost, get(2, "x", null, 10, 20), get(2, "x", "a", 30, 40)]).ok, true);
  assert.equal(checkLinearizable(kvModel, [lost, get(2, "x", "a", 10, 20), get(2, "x", null, 30, 40)]).ok, false);
});

test("linearizability - keys are independent", () => {
  const h = [put(1, "x", "a", 0, 10), put(1, "y", "b", 20, 30), get(2, "y", "b", 40, 50), get(2, "x", "a", 60, 70)];
  assert.equal(checkLinearizable(kvModel, h).ok, true);
  assert.equal(checkLinearizable(kvModel, [...h, get(3, "y", null, 80, 90)]).ok, false);
});

test("linearizability - handles a long concurrent history without blowing up", () => {
  const h: KvOperation[] = [];
  for (let i = 0; i < 200; i++) {
    h.push(put(i % 5, "k", `v${i}`, i * 10, i * 10 + 25));
    h.push(get((i + 1) % 5, "k", `v${i}`, i * 10 + 26, i * 10 + 30));
  }
  assert.equal(checkLinearizable(kvModel, h).ok, true);
});
