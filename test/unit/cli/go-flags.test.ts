import { test } from "node:test";
import assert from "node:assert/strict";
import {
  boolFlag,
  durationFlag,
  intFlag,
  mapFlag,
  parseGoFlags,
  repeatableFlag,
  stringFlag,
  uint64Flag,
  uintFlag,
} from "../../../src/cli/go-flags.ts";

const TABLE = {
  detailed: boolFlag("detailed output"),
  status: stringFlag("status regexp", ".*"),
  port: intFlag("port"),
  "modify-index": uintFlag("index"),
  wait: durationFlag("wait", 1000),
  tag: repeatableFlag("tag"),
  meta: mapFlag("meta"),
} as const;

function parseOk(argv: string[]) {
  const result = parseGoFlags(TABLE, argv);
  assert.equal(result.ok, true, JSON.stringify(result));
  if (!result.ok) throw new Error("unreachable");
  return result;
}

void test("go-flags - defaults apply when no flag is given", () => {
  const r = parseOk([]);
  assert.deepEqual(r.values, { detailed: false, status: ".*", port: 0, "modify-index": 0, wait: 1000, tag: [], meta: {} });
  assert.equal(r.explicit.size, 0);
});

void test("go-flags - single and double dash, -f=v and -f v forms", () => {
  const r = parseOk(["-status=alive", "--port", "8500", "--detailed", "-modify-index=0x10"]);
  assert.equal(r.values.status, "alive");
  assert.equal(r.values.port, 8500);
  assert.equal(r.values.detailed, true);
  assert.equal(r.values["modify-index"], 16);
  assert.deepEqual([...r.explicit].sort(), ["detailed", "modify-index", "port", "status"]);
});

void test("go-flags - booleans take a value only with =", () => {
  const r = parseOk(["-detailed=false", "key"]);
  assert.equal(r.values.detailed, false);
  assert.deepEqual(r.args, ["key"]);
  const r2 = parseOk(["-detailed", "false"]);
  assert.equal(r2.values.detailed, true);
  assert.deepEqual(r2.args, ["false"]);
});

void test("go-flags - parsing stops at the first positional argument", () => {
  const r = parseOk(["-detailed", "foo", "-port=1"]);
  assert.deepEqual(r.args, ["foo", "-port=1"]);
  assert.equal(r.values.port, 0);
});

void test("go-flags - `--` ends flags and is consumed; a lone `-` is positional", () => {
  assert.deepEqual(parseOk(["--", "-detailed"]).args, ["-detailed"]);
  assert.deepEqual(parseOk(["-", "x"]).args, ["-", "x"]);
});

void test("go-flags - repeatable and key=value map flags accumulate", () => {
  const r = parseOk(["-tag", "a", "-tag=b", "-meta", "k=v=w", "-meta=x="]);
  assert.deepEqual(r.values.tag, ["a", "b"]);
  assert.deepEqual(r.values.meta, { k: "v=w", x: "" });
});

void test("go-flags - durations are Go duration strings in milliseconds", () => {
  assert.equal(parseOk(["-wait=1m30s"]).values.wait, 90_000);
});

void test("go-flags - unknown flag is reported with Go's wording", () => {
  assert.deepEqual(parseGoFlags(TABLE, ["-x"]), { ok: false, help: false, error: "flag provided but not defined: -x" });
});

void test("go-flags - -h and -help request help", () => {
  assert.deepEqual(parseGoFlags(TABLE, ["-h"]), { ok: false, help: true });
  assert.deepEqual(parseGoFlags(TABLE, ["--help"]), { ok: false, help: true });
});

void test("go-flags - bad values and missing arguments are errors", () => {
  const missing = parseGoFlags(TABLE, ["-status"]);
  assert.equal(missing.ok, false);
  assert.equal(!missing.ok && !missing.help && missing.error, "flag needs an argument: -status");
  const badInt = parseGoFlags(TABLE, ["-port=abc"]);
  assert.equal(!badInt.ok && !badInt.help && badInt.error, 'invalid value "abc" for flag -port: parse error');
  const negativeUint = parseGoFlags(TABLE, ["-modify-index=-1"]);
  assert.equal(negativeUint.ok, false);
  const badBool = parseGoFlags(TABLE, ["-detailed=yes"]);
  assert.equal(!badBool.ok && !badBool.help && badBool.error, 'invalid boolean value "yes" for -detailed: parse error');
  const badMap = parseGoFlags(TABLE, ["-meta=novalue"]);
  assert.equal(badMap.ok, false);
  const badSyntax = parseGoFlags(TABLE, ["---x"]);
  assert.equal(!badSyntax.ok && !badSyntax.help && badSyntax.error, "bad flag syntax: ---x");
});

// consul's api.LockFlagValue and api.SemaphoreFlagValue: the reason uint64 flags exist.
const UINT64_TABLE = { flags: uint64Flag("flags") } as const;

function uint64Outcome(value: string): bigint | string {
  const result = parseGoFlags(UINT64_TABLE, [`-flags=${value}`]);
  if (result.ok) return result.values.flags;
  return result.help ? "help" : result.error;
}

void test("go-flags - uint64 flags keep every digit up to 2^64-1", () => {
  const defaults = parseGoFlags(UINT64_TABLE, []);
  assert.equal(defaults.ok && defaults.values.flags, 0n);
  assert.equal(uint64Outcome("3304740253564472344"), 3304740253564472344n);
  assert.equal(uint64Outcome("16210313421097356768"), 16210313421097356768n);
  assert.equal(uint64Outcome("18446744073709551615"), 18446744073709551615n);
  // Go's flag package parses with base 0, like the other integer kinds.
  assert.equal(uint64Outcome("0x2ddccbc058a50c18"), 3304740253564472344n);
  assert.equal(uint64Outcome("0_17"), 15n);
});

void test("go-flags - uint64 rejects signs, bad syntax and overflow in Go's words", () => {
  for (const bad of ["-1", "+1", "abc", "1__0", "1_", "0x", "1.5", ""]) {
    assert.equal(uint64Outcome(bad), `invalid value "${bad}" for flag -flags: parse error`);
  }
  assert.equal(uint64Outcome("18446744073709551616"), 'invalid value "18446744073709551616" for flag -flags: value out of range');
});
