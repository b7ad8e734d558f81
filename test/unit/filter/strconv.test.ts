import { test } from "node:test";
import assert from "node:assert/strict";
import { parseGoBool, parseGoFloat, parseGoInt, parseGoUint, unquoteGo } from "../../../src/filter/strconv.ts";

void test("filter coercion - bool accepts Go ParseBool forms only", () => {
  for (const text of ["1", "t", "T", "TRUE", "true", "True"]) assert.deepEqual(parseGoBool(text), { ok: true, value: true });
  for (const text of ["0", "f", "F", "FALSE", "false", "False"]) assert.deepEqual(parseGoBool(text), { ok: true, value: false });
  assert.deepEqual(parseGoBool("yes"), { ok: false, error: 'strconv.ParseBool: parsing "yes": invalid syntax' });
  assert.equal(parseGoBool("tRuE").ok, false);
});

void test("filter coercion - int follows ParseInt(s, 0, 64): prefixes, sign, underscores, range", () => {
  assert.deepEqual(parseGoInt("42"), { ok: true, value: 42n });
  assert.deepEqual(parseGoInt("-42"), { ok: true, value: -42n });
  assert.deepEqual(parseGoInt("+7"), { ok: true, value: 7n });
  assert.deepEqual(parseGoInt("0x1F"), { ok: true, value: 31n });
  assert.deepEqual(parseGoInt("0b101"), { ok: true, value: 5n });
  assert.deepEqual(parseGoInt("0o17"), { ok: true, value: 15n });
  assert.deepEqual(parseGoInt("017"), { ok: true, value: 15n });
  assert.deepEqual(parseGoInt("0"), { ok: true, value: 0n });
  assert.deepEqual(parseGoInt("1_000"), { ok: true, value: 1000n });
  assert.deepEqual(parseGoInt("9223372036854775807"), { ok: true, value: 9223372036854775807n });
  assert.deepEqual(parseGoInt("9223372036854775808"), { ok: false, error: 'strconv.ParseInt: parsing "9223372036854775808": value out of range' });
  for (const bad of ["", "1.5", "abc", "08", "1__0", "_1", "1_", "--1", "0x"]) {
    assert.deepEqual(parseGoInt(bad), { ok: false, error: `strconv.ParseInt: parsing ${JSON.stringify(bad)}: invalid syntax` }, bad);
  }
});

void test("filter coercion - uint rejects signs and values above 2^64-1", () => {
  assert.deepEqual(parseGoUint("18446744073709551615"), { ok: true, value: 18446744073709551615n });
  assert.deepEqual(parseGoUint("-1"), { ok: false, error: 'strconv.ParseUint: parsing "-1": invalid syntax' });
  assert.deepEqual(parseGoUint("+1"), { ok: false, error: 'strconv.ParseUint: parsing "+1": invalid syntax' });
  assert.deepEqual(parseGoUint("18446744073709551616"), { ok: false, error: 'strconv.ParseUint: parsing "18446744073709551616": value out of range' });
});

void test("filter coercion - float follows ParseFloat", () => {
  assert.deepEqual(parseGoFloat("1.5"), { ok: true, value: 1.5 });
  assert.deepEqual(parseGoFloat("-2"), { ok: true, value: -2 });
  assert.deepEqual(parseGoFloat("1e3"), { ok: true, value: 1000 });
  assert.deepEqual(parseGoFloat(".5"), { ok: true, value: 0.5 });
  assert.deepEqual(parseGoFloat("Inf"), { ok: true, value: Infinity });
  assert.deepEqual(parseGoFloat("-infinity"), { ok: true, value: -Infinity });
  const nan = parseGoFloat("NaN");
  assert.ok(nan.ok && Number.isNaN(nan.value));
  assert.deepEqual(parseGoFloat("x1"), { ok: false, error: 'strconv.ParseFloat: parsing "x1": invalid syntax' });
  assert.deepEqual(parseGoFloat("1e400"), { ok: false, error: 'strconv.ParseFloat: parsing "1e400": value out of range' });
});

void test("filter literals - Unquote handles Go escapes and raw strings", () => {
  assert.equal(unquoteGo('"plain"'), "plain");
  assert.equal(unquoteGo('"a\\tb\\nc\\\\d"'), "a\tb\nc\\d");
  assert.equal(unquoteGo('"\\a\\b\\f\\r\\v"'), "\x07\b\f\r\v");
  assert.equal(unquoteGo('"\\x41\\101\\u00e9\\U0001F600"'), "AAé😀");
  assert.equal(unquoteGo('"\\xc3\\xa9"'), "é");
  assert.equal(unquoteGo('"héllo"'), "héllo");
  assert.equal(unquoteGo("`raw\\n\r\nline`"), "raw\\n\nline");
  assert.equal(unquoteGo('""'), "");
  for (const bad of ['"\\q"', '"\\\'"', '"\\x4"', '"\\400"', '"\\uD800"', '"a\nb"', '"\\', "`a", '"a"b"']) {
    assert.equal(unquoteGo(bad), undefined, bad);
  }
});
