import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJsonInSlices, type SlicedJsonOptions } from "../../../src/decode/json-in-slices.ts";
import { parseJsonWithBigInts } from "../../../src/http/json.ts";

// The sliced parse must give JSON.parse's value for every text JSON.parse accepts, refuse every
// text it refuses, and pause often enough that no piece of a 512 KiB body is large.

const options: SlicedJsonOptions = { maxDepth: 512 };

/** A deterministic pseudo-random document with large and small containers, escapes and odd keys. */
function document(seed: number): unknown {
  let s = seed;
  const next = (n: number): number => {
    s = (s * 1_103_515_245 + 12_345) & 0x7fffffff;
    return s % n;
  };
  const value = (depth: number): unknown => {
    const kind = next(depth > 4 ? 4 : 7);
    if (kind === 0) return next(100_000) - 50_000;
    if (kind === 1) return `s"\\${"x".repeat(next(3_000))}\\\\ \u00e9 \n`;
    if (kind === 2) return [true, false, null, 1.5e-7][next(4)];
    if (kind === 3) return next(1000) / 7;
    if (kind < 6) return Array.from({ length: next(60) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = next(40); i > 0; i--) {
      const key = ["a", "__proto__", "10", "b\"c", `k${i}`][next(5)];
      Object.defineProperty(o, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return o;
  };
  return value(0);
}

function sliced(text: string, opts = options): { failed: boolean; value?: unknown; steps: number } {
  const work = parseJsonInSlices(text, opts);
  let steps = 0;
  for (;;) {
    const step = work.next();
    if (step.done === true) return { ...step.value, steps };
    steps++;
  }
}

test("json in slices - equals JSON.parse on valid text and refuses what it refuses", () => {
  for (let seed = 1; seed <= 150; seed++) {
    const text = JSON.stringify(document(seed), null, seed % 2 === 0 ? 1 : undefined) ?? "null";
    const result = sliced(text);
    assert.equal(result.failed, false, `seed ${seed}`);
    assert.deepStrictEqual(result.value, JSON.parse(text), `seed ${seed}`);
    assert.equal(JSON.stringify(result.value), JSON.stringify(JSON.parse(text)), `seed ${seed}: key order`);
    // Broken at one spot: either both accept (and agree) or both refuse.
    const at = (seed * 7_919) % text.length;
    const broken = text.slice(0, at) + [",", "]", "}", '"', ":", "x", "", "[", "{"][seed % 9] + text.slice(at + 1);
    let expected: unknown;
    let valid = true;
    try {
      expected = JSON.parse(broken);
    } catch {
      valid = false;
    }
    const got = sliced(broken);
    assert.equal(got.failed, !valid, `seed ${seed}, broken at ${at}`);
    if (valid) assert.deepStrictEqual(got.value, expected);
  }
});

test("json in slices - __proto__ stays an own member; depth past the bound is refused", () => {
  const text = `{"pad":"${"x".repeat(20_000)}","__proto__":{"polluted":true},"list":[${"1,".repeat(5_000)}2]}`;
  const value = sliced(text).value as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: true });
  const deep = `{"pad":"${"x".repeat(20_000)}","v":${"[".repeat(600)}${"]".repeat(600)}}`;
  assert.equal(sliced(deep).failed, true);
});

test("json in slices - integers past 2^53 in a txn body stay exact", () => {
  const ops = Array.from({ length: 64 }, (_, i) => `{"KV":{"Verb":"set","Key":"k${i}","Value":"${"QUFB".repeat(500)}","Flags":${i === 7 ? "16210313421097356768" : "3"}}}`);
  const text = `[${ops.join(",")}]`;
  const result = sliced(text, { maxDepth: 512, parseLongIntegers: parseJsonWithBigInts });
  assert.deepStrictEqual(result.value, parseJsonWithBigInts(text));
  assert.equal(((result.value as { KV: { Flags: unknown } }[])[7].KV.Flags), 16210313421097356768n);
});

test("json in slices - a 512 KiB registration is parsed in many small pieces", () => {
  const checks = Array.from({ length: 5_000 }, (_, i) => ({ CheckID: `check-${i}`, Name: `check number ${i}`, Status: "passing", Output: `out ${i}` }));
  const text = JSON.stringify({ Node: "n1", Address: "10.0.0.1", Checks: checks });
  const result = sliced(text);
  assert.deepStrictEqual(result.value, JSON.parse(text));
  // ~64 KiB scanned or ~16 KiB parsed per step: dozens of steps, none holding much of the body.
  assert.ok(result.steps >= text.length / (64 * 1024), `only ${result.steps} steps for ${text.length} characters`);
});
